import type { ITable } from 'aws-cdk-lib/aws-dynamodb';

/** ShardT, MapT and Records: the records API's tables. */
export interface RecordsTables {
  readonly shards: ITable;
  readonly map: ITable;
  readonly records: ITable;
}

/** SHARD_TABLE, MAP_TABLE and RECORDS_TABLE when the records API is mounted; nothing otherwise. */
export function recordsTableNames(tables: RecordsTables | undefined): Record<string, string> {
  if (tables === undefined) return {};
  return {
    SHARD_TABLE: tables.shards.tableName,
    MAP_TABLE: tables.map.tableName,
    RECORDS_TABLE: tables.records.tableName,
  };
}

/** The records API's tables as a list, for grants; empty when it is not mounted. */
export function recordsTableList(tables: RecordsTables | undefined): ITable[] {
  return tables === undefined ? [] : [tables.shards, tables.map, tables.records];
}
