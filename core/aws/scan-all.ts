import { type DynamoDBDocumentClient, ScanCommand } from '@aws-sdk/lib-dynamodb';

/**
 * Every item of a (small) table, following pagination to the end. Strongly
 * consistent unless `consistent` is false (half the read units, possibly a
 * moment stale).
 */
export async function scanAll<T>(doc: DynamoDBDocumentClient, TableName: string, consistent = true): Promise<T[]> {
  const items: T[] = [];
  let ExclusiveStartKey: Record<string, unknown> | undefined;
  do {
    const page = await doc.send(new ScanCommand({ TableName, ConsistentRead: consistent, ExclusiveStartKey }));
    items.push(...((page.Items ?? []) as T[]));
    ExclusiveStartKey = page.LastEvaluatedKey;
  } while (ExclusiveStartKey);
  return items;
}
