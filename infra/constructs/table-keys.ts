import type { CreateTableCommandInput } from '@aws-sdk/client-dynamodb';
import { type Attribute, AttributeType } from 'aws-cdk-lib/aws-dynamodb';

type KeySpec = Pick<CreateTableCommandInput, 'AttributeDefinitions' | 'KeySchema'>;

const TYPES: Readonly<Record<string, AttributeType>> = {
  S: AttributeType.STRING,
  N: AttributeType.NUMBER,
  B: AttributeType.BINARY,
};

/**
 * The CDK form of a key schema declared in core (TABLE_KEYS), so the stacks
 * and the code that reads the tables cannot drift apart.
 */
export function cdkKeys(spec: KeySpec): { partitionKey: Attribute; sortKey?: Attribute } {
  const attribute = (role: 'HASH' | 'RANGE'): Attribute | undefined => {
    const name = spec.KeySchema?.find((k) => k.KeyType === role)?.AttributeName;
    if (name === undefined) return undefined;
    const declared = spec.AttributeDefinitions?.find((a) => a.AttributeName === name)?.AttributeType;
    const type = declared === undefined ? undefined : TYPES[declared];
    if (type === undefined) throw new Error(`key ${name}: no attribute definition with type S, N or B`);
    return { name, type };
  };
  const partitionKey = attribute('HASH');
  if (partitionKey === undefined) throw new Error('key schema: no HASH key');
  const sortKey = attribute('RANGE');
  return sortKey === undefined ? { partitionKey } : { partitionKey, sortKey };
}
