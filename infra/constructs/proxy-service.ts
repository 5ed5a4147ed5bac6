import { Duration, Stack } from 'aws-cdk-lib';
import type { ITable } from 'aws-cdk-lib/aws-dynamodb';
import { type IPeer, Peer, Port } from 'aws-cdk-lib/aws-ec2';
import { type CfnCluster, Secret as EcsSecret, type FargateService, type ICluster } from 'aws-cdk-lib/aws-ecs';
import {
  type ApplicationListener,
  ApplicationLoadBalancer,
  ApplicationProtocol,
  type ApplicationTargetGroup,
  ListenerCertificate,
  Protocol,
  SslPolicy,
} from 'aws-cdk-lib/aws-elasticloadbalancingv2';
import { Effect, Policy, PolicyStatement } from 'aws-cdk-lib/aws-iam';
import type { ISecret } from 'aws-cdk-lib/aws-secretsmanager';
import { Construct } from 'constructs';
import type { DeploymentConfig } from '#core/config/deployment.js';
import { proxyTimeouts, tunnelSettingsProblems } from '#core/config/proxy-timeouts.js';
import { acknowledgeNag } from '../nag.js';
import { FargateTier, type TierPlacement } from './fargate-tier.js';
import { type RecordsTables, recordsTableList, recordsTableNames } from './records-tables.js';

/** The proxy's ports (containers/proxy/src/config.ts defaults). */
export const PROXY_DATA_PORT = 8080;
export const PROXY_ADMIN_PORT = 8081;

export interface ProxyServiceProps extends TierPlacement {
  /**
   * The Ring, which the proxy reads membership from, and, when the records API is mounted, its tables
   * (the proxy then runs the records API and the shard manager).
   */
  readonly tables: { readonly ring: ITable; readonly records?: RecordsTables };
  /** The admin API's bearer token, injected as the ADMIN_TOKEN secret. */
  readonly adminToken: ISecret;
  /** The proxy's settings (STRATEGY, HASH_KEY, METRICS_NAMESPACE, ENV_NAME, ...); table names are added here. */
  readonly environment: Readonly<Record<string, string>>;
  /** The CloudWatch namespace the proxy may publish to (and only that one). */
  readonly metricsNamespace: string;
  /**
   * Who may reach the admin API (and the load balancer's health check on it).
   * @default - the VPC's CIDR range
   */
  readonly adminPeer?: IPeer;
  /**
   * An ACM certificate (in the deployment's region) for an HTTPS listener on
   * 443; port 80 then redirects to it.
   * @default - plain HTTP on port 80
   */
  readonly certificateArn?: string;
  /**
   * The tunnel settings; the tier's timeouts follow from them (core/config/proxy-timeouts.ts): the load
   * balancer's idle timeout, the proxy's keep-alive, shutdown and drain timeouts, the stop timeout.
   */
  readonly tunnels: Pick<DeploymentConfig['proxy'], 'tunnelIdleTimeoutSeconds' | 'tunnelDrainSeconds' | 'maxTunnels'>;
}

/**
 * The proxy tier behind an internet-facing Application Load Balancer. The
 * data port is reachable only from the load balancer; the admin port only
 * from inside the VPC, which is also where the load balancer's health check
 * comes from (`/healthz` needs no token).
 */
export class ProxyService extends Construct {
  readonly tier: FargateTier;
  readonly loadBalancer: ApplicationLoadBalancer;
  readonly targetGroup: ApplicationTargetGroup;
  private readonly scheme: 'http' | 'https';

  constructor(scope: Construct, id: string, props: ProxyServiceProps) {
    super(scope, id);
    const reserved = ['ADMIN_TOKEN', 'ADMIN_TOKEN_FILE'].find((name) => name in props.environment);
    if (reserved !== undefined) {
      throw new Error(`ProxyService: ${reserved} must not be a plain environment value; it comes from adminToken`);
    }
    const problem = tunnelSettingsProblems(props.tunnels)[0];
    if (problem !== undefined) throw new Error(`ProxyService: tunnels.${problem.field} ${problem.message}`);
    const timeouts = proxyTimeouts(props.tunnels);
    const { ring, records } = props.tables;
    this.scheme = props.certificateArn === undefined ? 'http' : 'https';
    this.tier = new FargateTier(this, 'Proxy', {
      cluster: props.cluster,
      image: props.image,
      cpu: props.cpu,
      memoryMiB: props.memoryMiB,
      architecture: props.architecture,
      desiredCount: props.desiredCount,
      ports: [PROXY_DATA_PORT, PROXY_ADMIN_PORT],
      taskSubnets: props.taskSubnets,
      assignPublicIp: props.assignPublicIp,
      environment: {
        ...props.environment,
        ...Object.fromEntries(Object.entries(timeouts.env).map(([name, ms]) => [name, String(ms)])),
        MAX_TUNNELS: String(props.tunnels.maxTunnels),
        PROXY_PORT: String(PROXY_DATA_PORT),
        ADMIN_PORT: String(PROXY_ADMIN_PORT),
        MEMBERSHIP: 'dynamodb',
        RING_TABLE: ring.tableName,
        ...recordsTableNames(records),
      },
      secrets: { ADMIN_TOKEN: EcsSecret.fromSecretsManager(props.adminToken) },
      // SIGTERM to SIGKILL: covers the tunnels' drain, the shutdown timeout and the last metrics flush.
      stopTimeout: Duration.seconds(timeouts.stopTimeoutS),
      // New proxies need a first Ring scan and health round before they answer well.
      healthCheckGracePeriod: Duration.seconds(30),
    });
    const role = this.tier.taskDefinition.taskRole;
    for (const table of [ring, ...recordsTableList(records)]) table.grantReadWriteData(role);
    role.addToPrincipalPolicy(
      new PolicyStatement({
        effect: Effect.ALLOW,
        actions: ['cloudwatch:PutMetricData'],
        // PutMetricData has no resource type; the namespace condition is its only scope.
        resources: ['*'],
        conditions: { StringEquals: { 'cloudwatch:namespace': props.metricsNamespace } },
      }),
    );
    acknowledgeNag(
      role,
      'AwsSolutions-IAM5[Resource::*]',
      'cloudwatch:PutMetricData has no resource type; the statement is scoped by the cloudwatch:namespace condition to the deployment namespace. Table access is on the named table ARNs.',
    );

    const vpc = props.cluster.vpc;
    this.tier.service.connections.allowFrom(
      props.adminPeer ?? Peer.ipv4(vpc.vpcCidrBlock),
      Port.tcp(PROXY_ADMIN_PORT),
      'admin API from inside the VPC only',
    );
    this.loadBalancer = new ApplicationLoadBalancer(this, 'LoadBalancer', {
      vpc,
      internetFacing: true,
      // At least the tunnels' idle timeout, so the load balancer never cuts a tunnel the proxy would keep;
      // below the proxy's keep-alive, so the load balancer closes an idle keep-alive connection first.
      idleTimeout: Duration.seconds(timeouts.loadBalancerIdleTimeoutS),
    });
    // With a certificate, clients get HTTPS on 443 and port 80 only redirects there; without one,
    // plain HTTP on 80 (traffic crosses the internet unencrypted: see docs/deploying.md).
    const listener =
      props.certificateArn === undefined
        ? this.loadBalancer.addListener('Http', { port: 80, protocol: ApplicationProtocol.HTTP, open: true })
        : this.httpsListener(props.certificateArn);
    acknowledgeNag(
      this.loadBalancer,
      'AwsSolutions-EC23',
      'The load balancer is the public entry point: its listener ports (80, and 443 with a certificate) are open to the internet by design. Only it can reach the proxies data port.',
    );
    acknowledgeNag(
      this.loadBalancer,
      'AwsSolutions-ELB2',
      'Access logs need an S3 bucket (with its own logging and lifecycle) and bill per GB; the proxy publishes request counts, latency percentiles and 4xx/5xx to CloudWatch, which the dashboard and alarms read.',
    );
    this.targetGroup = listener.addTargets('Proxy', {
      port: PROXY_DATA_PORT,
      protocol: ApplicationProtocol.HTTP,
      targets: [this.tier.service.loadBalancerTarget({ containerName: 'app', containerPort: PROXY_DATA_PORT })],
      deregistrationDelay: Duration.seconds(timeouts.deregistrationDelayS),
      healthCheck: {
        // The data port forwards every path to a server; /healthz on the admin port is the proxy's own.
        port: String(PROXY_ADMIN_PORT),
        protocol: Protocol.HTTP,
        path: '/healthz',
        healthyHttpCodes: '200',
        interval: Duration.seconds(10),
        timeout: Duration.seconds(5),
        healthyThresholdCount: 2,
        unhealthyThresholdCount: 3,
      },
    });
    // addTargets opens the load balancer's egress (allowAllOutbound is off) to the traffic port only;
    // without this rule every health check on the admin port times out and the service never turns healthy.
    this.loadBalancer.connections.allowTo(
      this.tier.service,
      Port.tcp(PROXY_ADMIN_PORT),
      'load balancer health checks (/healthz on the admin port)',
    );
  }

  /** HTTPS on 443 with the given ACM certificate, and port 80 answering every request with a redirect to it. */
  private httpsListener(certificateArn: string): ApplicationListener {
    const https = this.loadBalancer.addListener('Https', {
      port: 443,
      protocol: ApplicationProtocol.HTTPS,
      certificates: [ListenerCertificate.fromArn(certificateArn)],
      sslPolicy: SslPolicy.RECOMMENDED_TLS,
      open: true,
    });
    this.loadBalancer.addRedirect({
      sourcePort: 80,
      sourceProtocol: ApplicationProtocol.HTTP,
      targetPort: 443,
      targetProtocol: ApplicationProtocol.HTTPS,
    });
    return https;
  }

  /** The URL clients use: https when a certificate is configured. */
  get url(): string {
    return `${this.scheme}://${this.loadBalancer.loadBalancerDnsName}`;
  }

  /**
   * Lets the admin API's /add and /rm act on the servers' ECS service
   * (SCALER=ecs): /add raises its desired count; /rm protects the other tasks
   * from scale-in, stops exactly the named ones and lowers the count.
   */
  actOnServers(cluster: ICluster, servers: FargateService): void {
    const container = this.tier.taskDefinition.defaultContainer;
    if (!container) throw new Error('ProxyService: the task definition has no container to configure');
    container.addEnvironment('SCALER', 'ecs');
    container.addEnvironment('ECS_CLUSTER', cluster.clusterName);
    container.addEnvironment('ECS_SERVER_SERVICE', servers.serviceName);
    const tasksOfCluster = Stack.of(this).formatArn({
      service: 'ecs',
      resource: 'task',
      resourceName: `${cluster.clusterName}/*`,
    });
    // A policy of its own rather than the role's default one: the proxy service waits for its
    // default policy, and this one names the servers service, which itself waits for the
    // proxies' security group; in one policy that would be a dependency cycle.
    const policy = new Policy(this, 'ServersScaling', {
      roles: [this.tier.taskDefinition.taskRole],
      statements: [
        new PolicyStatement({
          actions: ['ecs:DescribeServices', 'ecs:UpdateService'],
          resources: [servers.serviceArn],
        }),
        new PolicyStatement({
          // ListTasks has no resource type; the cluster condition is its scope.
          actions: ['ecs:ListTasks'],
          resources: ['*'],
          conditions: { ArnEquals: { 'ecs:cluster': cluster.clusterArn } },
        }),
        new PolicyStatement({ actions: ['ecs:StopTask', 'ecs:UpdateTaskProtection'], resources: [tasksOfCluster] }),
      ],
    });
    acknowledgeNag(
      policy,
      `AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:ecs:<AWS::Region>:<AWS::AccountId>:task/<${Stack.of(cluster).getLogicalId(cluster.node.defaultChild as CfnCluster)}>/*]`,
      "Task ARNs carry generated ids, so /rm can only name this cluster's tasks by wildcard; the proxy stops the tasks an operator named and protects the others from scale-in meanwhile.",
    );
    acknowledgeNag(
      policy,
      'AwsSolutions-IAM5[Resource::*]',
      'ecs:ListTasks has no resource type; it is scoped by the ecs:cluster condition. UpdateService names the servers service ARN.',
    );
  }

  /**
   * Lets /status and the balance page show the autoscaler's last tick: the
   * proxy reads (only reads) the autoscaler's state item.
   */
  showAutoscaler(stateTable: ITable): void {
    const container = this.tier.taskDefinition.defaultContainer;
    if (!container) throw new Error('ProxyService: the task definition has no container to configure');
    container.addEnvironment('AUTOSCALER_STATE_TABLE', stateTable.tableName);
    const policy = new Policy(this, 'AutoscalerStatusRead', { roles: [this.tier.taskDefinition.taskRole] });
    stateTable.grantReadData(policy);
  }
}
