import {
  CreateTableCommand,
  type CreateTableCommandInput,
  DescribeTableCommand,
  type DynamoDBClient,
  ResourceInUseException,
  UpdateTimeToLiveCommand,
} from '@aws-sdk/client-dynamodb';

/** Physical table names; they always come from configuration, never from code. */
export interface TableNames {
  /** Ring membership: one item per server, with a lease. */
  readonly ring: string;
  /** ShardT: Stud_id_low, Shard_id, Shard_size, valid_idx. */
  readonly shards: string;
  /** MapT: which servers serve which shard, and the primary. */
  readonly map: string;
  /** The sharded rows, keyed by shard and Stud_id. */
  readonly records: string;
}

/** The environment variables the containers read the table names from. */
export function tableEnv(names: TableNames): Record<string, string> {
  return { RING_TABLE: names.ring, SHARD_TABLE: names.shards, MAP_TABLE: names.map, RECORDS_TABLE: names.records };
}

/** Attribute holding the epoch-seconds expiry that DynamoDB TTL deletes by (Ring leases and tombstones). */
export const RING_TTL_ATTRIBUTE = 'expiresAt';

/** Key schemas; the CDK stacks declare the same ones. */
export const TABLE_KEYS: Record<
  keyof TableNames,
  Pick<CreateTableCommandInput, 'AttributeDefinitions' | 'KeySchema'>
> = {
  ring: {
    AttributeDefinitions: [{ AttributeName: 'id', AttributeType: 'S' }],
    KeySchema: [{ AttributeName: 'id', KeyType: 'HASH' }],
  },
  shards: {
    AttributeDefinitions: [{ AttributeName: 'Shard_id', AttributeType: 'S' }],
    KeySchema: [{ AttributeName: 'Shard_id', KeyType: 'HASH' }],
  },
  map: {
    AttributeDefinitions: [
      { AttributeName: 'Shard_id', AttributeType: 'S' },
      { AttributeName: 'Server_id', AttributeType: 'S' },
    ],
    KeySchema: [
      { AttributeName: 'Shard_id', KeyType: 'HASH' },
      { AttributeName: 'Server_id', KeyType: 'RANGE' },
    ],
  },
  records: {
    AttributeDefinitions: [
      { AttributeName: 'Shard_id', AttributeType: 'S' },
      { AttributeName: 'Stud_id', AttributeType: 'N' },
    ],
    KeySchema: [
      { AttributeName: 'Shard_id', KeyType: 'HASH' },
      { AttributeName: 'Stud_id', KeyType: 'RANGE' },
    ],
  },
};

/**
 * The autoscaler's state table (its ledger and last decisions): a generic
 * partition and sort key, so the Lambda can keep several item kinds in one
 * table. Items may expire through the same TTL attribute as the Ring.
 */
export const AUTOSCALER_STATE_KEYS: Pick<CreateTableCommandInput, 'AttributeDefinitions' | 'KeySchema'> = {
  AttributeDefinitions: [
    { AttributeName: 'pk', AttributeType: 'S' },
    { AttributeName: 'sk', AttributeType: 'S' },
  ],
  KeySchema: [
    { AttributeName: 'pk', KeyType: 'HASH' },
    { AttributeName: 'sk', KeyType: 'RANGE' },
  ],
};
export const AUTOSCALER_STATE_TTL_ATTRIBUTE = 'expiresAt';

const ACTIVE_POLL_MS = 100;
const ACTIVE_TIMEOUT_MS = 30_000;

/** Creates the four tables (on-demand billing) if missing and waits until they are ACTIVE. */
export async function createTables(client: DynamoDBClient, names: TableNames): Promise<void> {
  await Promise.all(
    (Object.keys(TABLE_KEYS) as (keyof TableNames)[]).map(async (kind) => {
      const TableName = names[kind];
      try {
        await client.send(new CreateTableCommand({ TableName, BillingMode: 'PAY_PER_REQUEST', ...TABLE_KEYS[kind] }));
      } catch (err) {
        if (!(err instanceof ResourceInUseException)) throw err;
      }
      await waitActive(client, TableName);
      if (kind === 'ring') {
        await client.send(
          new UpdateTimeToLiveCommand({
            TableName,
            TimeToLiveSpecification: { AttributeName: RING_TTL_ATTRIBUTE, Enabled: true },
          }),
        );
      }
    }),
  );
}

async function waitActive(client: DynamoDBClient, TableName: string): Promise<void> {
  const deadline = Date.now() + ACTIVE_TIMEOUT_MS;
  while (Date.now() < deadline) {
    const { Table } = await client.send(new DescribeTableCommand({ TableName }));
    if (Table?.TableStatus === 'ACTIVE') return;
    await new Promise((r) => setTimeout(r, ACTIVE_POLL_MS));
  }
  throw new Error(`table ${TableName} did not become ACTIVE within ${ACTIVE_TIMEOUT_MS} ms`);
}
