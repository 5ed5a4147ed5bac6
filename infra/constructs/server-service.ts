import { Duration } from 'aws-cdk-lib';
import type { ITable } from 'aws-cdk-lib/aws-dynamodb';
import { type IConnectable, Port } from 'aws-cdk-lib/aws-ec2';
import { Construct } from 'constructs';
import { FargateTier, type TierPlacement } from './fargate-tier.js';

/** The server's port (containers/server/src/config.ts default). */
export const SERVER_PORT = 8080;

export interface ServerServiceProps extends TierPlacement {
  /** Servers heartbeat into Ring and do shard work on ShardT, MapT and Records. */
  readonly tables: { readonly ring: ITable; readonly shards: ITable; readonly map: ITable; readonly records: ITable };
  /** Who may call the servers: the proxy tier. */
  readonly callers: IConnectable;
  /**
   * SIGTERM to SIGKILL: a server finishes in-flight requests within its
   * SHUTDOWN_TIMEOUT_MS (10 s) and deregisters from the Ring.
   * @default Duration.seconds(30)
   */
  readonly stopTimeout?: Duration;
  /**
   * More plain settings for the server.
   * @default - none
   */
  readonly environment?: Readonly<Record<string, string>>;
}

/**
 * The backend servers. They have no load balancer: each task heartbeats its
 * own address (its ENI's IPv4, which the server derives) into the Ring table,
 * and only the proxies can reach it.
 */
export class ServerService extends Construct {
  readonly tier: FargateTier;

  constructor(scope: Construct, id: string, props: ServerServiceProps) {
    super(scope, id);
    const { ring, shards, map, records } = props.tables;
    this.tier = new FargateTier(this, 'Servers', {
      cluster: props.cluster,
      image: props.image,
      cpu: props.cpu,
      memoryMiB: props.memoryMiB,
      architecture: props.architecture,
      desiredCount: props.desiredCount,
      ports: [SERVER_PORT],
      taskSubnets: props.taskSubnets,
      assignPublicIp: props.assignPublicIp,
      environment: {
        ...props.environment,
        SERVER_PORT: String(SERVER_PORT),
        RING_TABLE: ring.tableName,
        SHARD_TABLE: shards.tableName,
        MAP_TABLE: map.tableName,
        RECORDS_TABLE: records.tableName,
      },
      stopTimeout: props.stopTimeout ?? Duration.seconds(30),
    });
    for (const table of [ring, shards, map, records]) table.grantReadWriteData(this.tier.taskDefinition.taskRole);
    this.tier.service.connections.allowFrom(props.callers, Port.tcp(SERVER_PORT), 'proxies to servers');
  }
}
