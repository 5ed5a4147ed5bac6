import { CfnOutput, Stack, type StackProps } from 'aws-cdk-lib';
import type { ITable } from 'aws-cdk-lib/aws-dynamodb';
import type { Construct } from 'constructs';
import {
  AUTOSCALER_STATE_KEYS,
  AUTOSCALER_STATE_TTL_ATTRIBUTE,
  RING_TTL_ATTRIBUTE,
  TABLE_KEYS,
} from '#core/aws/tables.js';
import { RingmasterTable } from '../constructs/ringmaster-table.js';

/** The data tier's tables, as the other stacks receive them. */
export interface RingmasterTables {
  readonly ring: ITable;
  readonly shards: ITable;
  readonly map: ITable;
  readonly records: ITable;
  /** The autoscaler's ledger and decisions. */
  readonly state: ITable;
}

export interface DataStackProps extends StackProps {
  /**
   * Deletion protection and retention on stack deletion for every table.
   * @default true
   */
  readonly deletionProtection?: boolean;
}

/**
 * Everything that holds state, in its own stack so the stateless tiers can be
 * replaced, or destroyed, without touching the rows.
 */
export class DataStack extends Stack {
  readonly tables: RingmasterTables;

  constructor(scope: Construct, id: string, props: DataStackProps = {}) {
    super(scope, id, props);
    const deletionProtection = props.deletionProtection ?? true;
    const table = (name: string, keys: typeof AUTOSCALER_STATE_KEYS, timeToLiveAttribute?: string) =>
      new RingmasterTable(this, name, {
        keys,
        deletionProtection,
        ...(timeToLiveAttribute === undefined ? {} : { timeToLiveAttribute }),
      }).table;
    this.tables = {
      ring: table('Ring', TABLE_KEYS.ring, RING_TTL_ATTRIBUTE),
      shards: table('ShardT', TABLE_KEYS.shards),
      map: table('MapT', TABLE_KEYS.map),
      records: table('Records', TABLE_KEYS.records),
      state: table('AutoscalerState', AUTOSCALER_STATE_KEYS, AUTOSCALER_STATE_TTL_ATTRIBUTE),
    };
    new CfnOutput(this, 'RingTableName', { value: this.tables.ring.tableName });
    new CfnOutput(this, 'ShardTableName', { value: this.tables.shards.tableName });
    new CfnOutput(this, 'MapTableName', { value: this.tables.map.tableName });
    new CfnOutput(this, 'RecordsTableName', { value: this.tables.records.tableName });
    new CfnOutput(this, 'StateTableName', { value: this.tables.state.tableName });
  }
}
