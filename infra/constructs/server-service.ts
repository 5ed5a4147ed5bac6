import { Duration } from 'aws-cdk-lib';
import type { ITable } from 'aws-cdk-lib/aws-dynamodb';
import { type IConnectable, Port } from 'aws-cdk-lib/aws-ec2';
import { Construct } from 'constructs';
import { FargateTier, type TierPlacement } from './fargate-tier.js';
import { type RecordsTables, recordsTableList, recordsTableNames } from './records-tables.js';

/** The server's port (containers/server/src/config.ts default). */
export const SERVER_PORT = 8080;

/** How long the health check's request may take; under the check's own timeout. */
const HEARTBEAT_FETCH_TIMEOUT_MS = 4000;

/**
 * The container health check's command: GET /heartbeat with Node's own
 * fetch, as the node base images carry no curl or wget. Exit 0 on a 2xx,
 * 1 on anything else (an error status, a refused or hung connection).
 */
export function heartbeatCheckCommand(port: number = SERVER_PORT): string[] {
  const script =
    `fetch('http://127.0.0.1:${port}/heartbeat',{signal:AbortSignal.timeout(${HEARTBEAT_FETCH_TIMEOUT_MS})})` +
    '.then(r=>process.exit(r.ok?0:1),()=>process.exit(1))';
  return ['CMD', 'node', '-e', script];
}

export interface ServerServiceProps extends TierPlacement {
  /** Servers heartbeat into Ring and, when the records API is mounted, do shard work on its tables. */
  readonly tables: { readonly ring: ITable; readonly records?: RecordsTables };
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
    const { ring, records } = props.tables;
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
        ...recordsTableNames(records),
      },
      stopTimeout: props.stopTimeout ?? Duration.seconds(30),
      // Servers sit behind no load balancer, so nothing else notices a hung one: ECS replaces the
      // task after three failed checks (the proxies stop routing to it once its Ring lease lapses).
      healthCheck: {
        command: heartbeatCheckCommand(SERVER_PORT),
        interval: Duration.seconds(15),
        timeout: Duration.seconds(5),
        retries: 3,
        startPeriod: Duration.seconds(20),
      },
    });
    for (const table of [ring, ...recordsTableList(records)])
      table.grantReadWriteData(this.tier.taskDefinition.taskRole);
    this.tier.service.connections.allowFrom(props.callers, Port.tcp(SERVER_PORT), 'proxies to servers');
  }
}
