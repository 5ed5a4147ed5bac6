import { CfnOutput, Stack, type StackProps } from 'aws-cdk-lib';
import type { ITable } from 'aws-cdk-lib/aws-dynamodb';
import { Peer } from 'aws-cdk-lib/aws-ec2';
import { Cluster, ContainerInsights } from 'aws-cdk-lib/aws-ecs';
import type { Construct } from 'constructs';
import type { DeploymentConfig } from '#core/config/deployment.js';
import { AdminToken } from '../constructs/admin-token.js';
import { AutoscalerFailsafe } from '../constructs/autoscaler-failsafe.js';
import { AutoscalerFunction } from '../constructs/autoscaler-function.js';
import { Network, VPC_CIDR } from '../constructs/network.js';
import { PROXY_ADMIN_PORT, ProxyService } from '../constructs/proxy-service.js';
import { ServerService } from '../constructs/server-service.js';
import { tierImage } from '../constructs/tier-image.js';
import type { RingmasterTables } from './data-stack.js';

export interface ServiceStackProps extends StackProps {
  readonly config: DeploymentConfig;
  readonly tables: RingmasterTables;
  /** The repository root: the images' staged build contexts and the autoscaler's source are found from it. */
  readonly projectRoot: string;
}

/**
 * The stateless tiers: network, cluster, the proxy behind its load balancer,
 * the servers, and the autoscaler that sizes both services (it lives here
 * because it acts on exactly these two services).
 */
export class ServiceStack extends Stack {
  readonly proxy: ProxyService;
  readonly servers: ServerService;
  readonly autoscaler: AutoscalerFunction;
  readonly cluster: Cluster;

  constructor(scope: Construct, id: string, props: ServiceStackProps) {
    super(scope, id, props);
    const { config, tables } = props;
    const network = new Network(this, 'Network', { natGateways: config.natGateways });
    this.cluster = new Cluster(this, 'Cluster', {
      vpc: network.vpc,
      containerInsightsV2: ContainerInsights.ENABLED,
    });
    const adminToken = new AdminToken(this, 'AdminToken');
    const placement = {
      cluster: this.cluster,
      taskSubnets: network.taskSubnets,
      assignPublicIp: network.assignPublicIp,
    };
    // The records API is mounted only where cdk.json asks for it (ringmaster.recordsApi): otherwise the
    // proxies and servers get neither its tables nor grants on them, and the proxies run the `net` plane alone.
    const dataTables = config.recordsApi
      ? { ring: tables.ring, records: { shards: tables.shards, map: tables.map, records: tables.records } }
      : { ring: tables.ring };
    if (!config.recordsApi) keepRecordsExports([tables.shards, tables.map, tables.records]);

    this.proxy = new ProxyService(this, 'Proxy', {
      ...placement,
      image: tierImage(this, 'ProxyImage', props.projectRoot, config.proxy, 'proxy'),
      cpu: config.proxy.cpu,
      memoryMiB: config.proxy.memoryMiB,
      architecture: config.proxy.architecture,
      desiredCount: config.proxy.desiredCount,
      ...(config.certificateArn === undefined ? {} : { certificateArn: config.certificateArn }),
      tables: dataTables,
      tunnels: config.proxy,
      adminToken: adminToken.secret,
      adminPeer: Peer.ipv4(VPC_CIDR),
      metricsNamespace: config.monitoring.metricsNamespace,
      environment: {
        STRATEGY: config.proxy.strategy,
        HASH_KEY: config.proxy.hashKey,
        METRICS_SINK: 'cloudwatch',
        METRICS_NAMESPACE: config.monitoring.metricsNamespace,
        ENV_NAME: config.envName,
        // Room for the largest fleet the settings allow.
        MAX_SERVERS: String(Math.max(64, config.servers.maxCount)),
      },
    });
    this.servers = new ServerService(this, 'Servers', {
      ...placement,
      image: tierImage(this, 'ServerImage', props.projectRoot, config.servers, 'server'),
      cpu: config.servers.cpu,
      memoryMiB: config.servers.memoryMiB,
      architecture: config.servers.architecture,
      desiredCount: config.servers.initialCount,
      tables: dataTables,
      callers: this.proxy.tier.service,
    });
    this.proxy.actOnServers(this.cluster, this.servers.tier.service);
    this.proxy.showAutoscaler(tables.state);
    this.autoscaler = new AutoscalerFunction(this, 'Autoscaler', {
      projectRoot: props.projectRoot,
      config,
      cluster: this.cluster,
      proxyService: this.proxy.tier.service,
      serverService: this.servers.tier.service,
      stateTable: tables.state,
    });
    new AutoscalerFailsafe(this, 'AutoscalerFailsafe', {
      projectRoot: props.projectRoot,
      config,
      clusterName: this.cluster.clusterName,
      proxyService: this.proxy.tier.service,
      serverService: this.servers.tier.service,
      logGroup: this.autoscaler.logGroup,
    });

    new CfnOutput(this, 'ProxyUrl', { value: this.proxy.url });
    new CfnOutput(this, 'AdminPort', {
      value: String(PROXY_ADMIN_PORT),
      description: 'On each proxy task, inside the VPC',
    });
    new CfnOutput(this, 'AdminTokenSecretArn', { value: adminToken.secret.secretArn });
    new CfnOutput(this, 'ClusterName', { value: this.cluster.clusterName });
    new CfnOutput(this, 'ProxyServiceName', { value: this.proxy.tier.service.serviceName });
    new CfnOutput(this, 'ServerServiceName', { value: this.servers.tier.service.serviceName });
    new CfnOutput(this, 'AutoscalerFunctionName', { value: this.autoscaler.function.functionName });
    new CfnOutput(this, 'AutoscalerRuleName', { value: this.autoscaler.schedule.ruleName });
  }
}

/**
 * The Data stack exports the records tables' names and ARNs whether or not the records API is
 * mounted. Otherwise turning `recordsApi` off would make `cdk deploy --all` update the Data stack
 * first and try to delete exports the deployed Service stack still imports, which CloudFormation
 * refuses; with the exports kept, toggling the setting changes only the Service stack.
 */
function keepRecordsExports(tables: readonly ITable[]): void {
  for (const table of tables) {
    const data = Stack.of(table);
    data.exportValue(table.tableName);
    data.exportValue(table.tableArn);
  }
}
