import { randomBytes } from 'node:crypto';
import { DeleteTableCommand } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { inject } from 'vitest';
import { createTables, type TableNames, tableEnv } from '#core/aws/tables.js';
import { emulatorClient, emulatorEnv } from '#devkit/emulator.js';

/** Environment for processes (and this one) to reach the test emulator. */
export function awsEnv(endpoint = inject('awsEndpoint')): Record<string, string> {
  return emulatorEnv(endpoint);
}

/** Endpoint, region and credentials for an SDK client of any service on the test emulator. */
export function clientConfig(endpoint = inject('awsEndpoint')) {
  const env = emulatorEnv(endpoint);
  return {
    endpoint,
    region: env.AWS_REGION,
    credentials: { accessKeyId: env.AWS_ACCESS_KEY_ID ?? '', secretAccessKey: env.AWS_SECRET_ACCESS_KEY ?? '' },
  };
}

export function testClients(endpoint = inject('awsEndpoint')) {
  const client = emulatorClient(endpoint);
  return { client, doc: DynamoDBDocumentClient.from(client) };
}

export interface TestTables {
  readonly names: TableNames;
  /** RING_TABLE, SHARD_TABLE, MAP_TABLE, RECORDS_TABLE for a process's environment. */
  readonly env: Record<string, string>;
  drop(): Promise<void>;
}

/** Fresh, uniquely named tables for one test file. */
export async function createTestTables(label: string, endpoint = inject('awsEndpoint')): Promise<TestTables> {
  const suffix = `${label}-${randomBytes(4).toString('hex')}`;
  const names: TableNames = {
    ring: `rm-test-ring-${suffix}`,
    shards: `rm-test-shards-${suffix}`,
    map: `rm-test-map-${suffix}`,
    records: `rm-test-records-${suffix}`,
  };
  const { client } = testClients(endpoint);
  await createTables(client, names);
  return {
    names,
    env: tableEnv(names),
    drop: async () => {
      await Promise.all(
        Object.values(names).map((TableName) => client.send(new DeleteTableCommand({ TableName })).catch(() => {})),
      );
    },
  };
}
