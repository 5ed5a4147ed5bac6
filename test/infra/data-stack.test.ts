import { Match } from 'aws-cdk-lib/assertions';
import { beforeAll, describe, expect, it } from 'vitest';
import {
  AUTOSCALER_STATE_KEYS,
  AUTOSCALER_STATE_TTL_ATTRIBUTE,
  RING_TTL_ATTRIBUTE,
  TABLE_KEYS,
} from '#core/aws/tables.js';
import { type Synthesized, shippedConfig, synthesize } from './synth.js';

let shipped: Synthesized;
let throwaway: Synthesized;

beforeAll(() => {
  shipped = synthesize();
  throwaway = synthesize({ config: { ...shippedConfig(), envName: 'test', deletionProtection: false } });
}, 120_000);

/** The table resource whose logical id starts with `prefix`. */
function table(s: Synthesized, prefix: string): Record<string, unknown> & { Properties: Record<string, unknown> } {
  const tables = s.data.findResources('AWS::DynamoDB::Table');
  const found = Object.entries(tables).find(([id]) => id.startsWith(prefix));
  if (found === undefined) throw new Error(`no table ${prefix} in ${Object.keys(tables).join(', ')}`);
  return found[1] as Record<string, unknown> & { Properties: Record<string, unknown> };
}

describe('data stack', () => {
  it('holds exactly the five tables, with the key schemas core declares', () => {
    shipped.data.resourceCountIs('AWS::DynamoDB::Table', 5);
    const expected = {
      Ring: TABLE_KEYS.ring,
      ShardT: TABLE_KEYS.shards,
      MapT: TABLE_KEYS.map,
      Records: TABLE_KEYS.records,
      AutoscalerState: AUTOSCALER_STATE_KEYS,
    };
    for (const [prefix, keys] of Object.entries(expected)) {
      const { Properties } = table(shipped, prefix);
      expect(Properties.KeySchema, prefix).toEqual(keys.KeySchema);
      expect(Properties.AttributeDefinitions, prefix).toEqual(keys.AttributeDefinitions);
    }
  });

  it('bills on demand, keeps point-in-time recovery and lets CloudFormation name every table', () => {
    shipped.data.allResourcesProperties('AWS::DynamoDB::Table', {
      BillingMode: 'PAY_PER_REQUEST',
      PointInTimeRecoverySpecification: { PointInTimeRecoveryEnabled: true },
      TableName: Match.absent(),
    });
  });

  it('expires Ring leases (and old autoscaler state) by TTL; the other tables keep their rows', () => {
    expect(table(shipped, 'Ring').Properties.TimeToLiveSpecification).toEqual({
      AttributeName: RING_TTL_ATTRIBUTE,
      Enabled: true,
    });
    expect(table(shipped, 'AutoscalerState').Properties.TimeToLiveSpecification).toEqual({
      AttributeName: AUTOSCALER_STATE_TTL_ATTRIBUTE,
      Enabled: true,
    });
    for (const prefix of ['ShardT', 'MapT', 'Records']) {
      expect(table(shipped, prefix).Properties.TimeToLiveSpecification, prefix).toBeUndefined();
    }
  });

  it('protects the tables by default and retains them when the stack goes', () => {
    shipped.data.allResourcesProperties('AWS::DynamoDB::Table', { DeletionProtectionEnabled: true });
    for (const resource of Object.values(shipped.data.findResources('AWS::DynamoDB::Table'))) {
      expect(resource.DeletionPolicy).toBe('Retain');
    }
  });

  it('drops protection for test deployments, so `cdk destroy` removes them', () => {
    throwaway.data.allResourcesProperties('AWS::DynamoDB::Table', { DeletionProtectionEnabled: false });
    for (const resource of Object.values(throwaway.data.findResources('AWS::DynamoDB::Table'))) {
      expect(resource.DeletionPolicy).toBe('Delete');
    }
  });

  it('outputs every table name', () => {
    const outputs = Object.keys(shipped.data.findOutputs('*'));
    for (const name of ['RingTableName', 'ShardTableName', 'MapTableName', 'RecordsTableName', 'StateTableName']) {
      expect(outputs).toContain(name);
    }
  });
});
