import { ArnFormat, Duration, RemovalPolicy, Stack } from 'aws-cdk-lib';
import type { ITable } from 'aws-cdk-lib/aws-dynamodb';
import type { CfnCluster, ICluster, IService } from 'aws-cdk-lib/aws-ecs';
import { Rule, Schedule } from 'aws-cdk-lib/aws-events';
import { LambdaFunction } from 'aws-cdk-lib/aws-events-targets';
import { Effect, Policy, PolicyStatement, Role, ServicePrincipal } from 'aws-cdk-lib/aws-iam';
import { NodejsFunction } from 'aws-cdk-lib/aws-lambda-nodejs';
import { LogGroup, RetentionDays } from 'aws-cdk-lib/aws-logs';
import { Construct } from 'constructs';
import type { DeploymentConfig } from '#core/config/deployment.js';
import { acknowledgeNag } from '../nag.js';
import { nodeLambdaDefaults } from './node-lambda.js';

/** A tick older than this is dropped, not run: the next one reads fresher metrics. */
const MAX_TICK_EVENT_AGE = Duration.seconds(60);

export interface AutoscalerFunctionProps {
  /** The repository root: the handler's source and the lockfile are found from it. */
  readonly projectRoot: string;
  /** The validated settings; the Lambda re-validates them with the same schema (RINGMASTER_CONFIG). */
  readonly config: DeploymentConfig;
  readonly cluster: ICluster;
  readonly proxyService: IService;
  readonly serverService: IService;
  /** The autoscaler's ledger and decisions: the only table it may touch. */
  readonly stateTable: ITable;
  /**
   * Handler source, relative to projectRoot.
   * @default 'functions/autoscaler/handler.ts'
   */
  readonly entry?: string;
  /**
   * Log retention.
   * @default RetentionDays.ONE_MONTH
   */
  readonly logRetention?: RetentionDays;
}

/**
 * The autoscaler: a NodejsFunction bundled by the local esbuild (no Docker),
 * SDK included, fired by an EventBridge schedule. No reserved concurrency:
 * two overlapping ticks cannot both spend the budget, because each commits its
 * decision with a conditional write on the state item's version before it
 * touches ECS (functions/autoscaler/tick.ts), and the loser applies nothing.
 * Reserving even 1 fails on new accounts, whose concurrency quota of 10 leaves
 * none to reserve ("below its minimum value of [10]").
 */
export class AutoscalerFunction extends Construct {
  readonly function: NodejsFunction;
  readonly schedule: Rule;
  readonly logGroup: LogGroup;
  private readonly role: Role;
  private readonly namespace: string;

  constructor(scope: Construct, id: string, props: AutoscalerFunctionProps) {
    super(scope, id);
    const minutes = props.config.autoscaler.scheduleMinutes;
    if (!Number.isInteger(minutes) || minutes < 1) {
      throw new Error(`AutoscalerFunction: scheduleMinutes must be a whole number >= 1, got ${minutes}`);
    }
    const { config } = props;
    const namespace = config.monitoring.metricsNamespace;

    this.logGroup = new LogGroup(this, 'Logs', {
      retention: props.logRetention ?? RetentionDays.ONE_MONTH,
      removalPolicy: RemovalPolicy.DESTROY,
    });
    // An own role rather than the AWS-managed basic execution policy: logs go to this one group only.
    const role = new Role(this, 'Role', { assumedBy: new ServicePrincipal('lambda.amazonaws.com') });
    this.role = role;
    this.namespace = namespace;
    role.addToPolicy(
      new PolicyStatement({
        actions: ['logs:CreateLogStream', 'logs:PutLogEvents'],
        resources: [this.logGroup.logGroupArn],
      }),
    );

    this.function = new NodejsFunction(this, 'Function', {
      ...nodeLambdaDefaults(props.projectRoot, props.entry ?? 'functions/autoscaler/handler.ts'),
      memorySize: 256,
      // A tick must finish before the next one is due.
      timeout: Duration.seconds(Math.min(50, minutes * 60 - 10)),
      role,
      logGroup: this.logGroup,
      environment: {
        RINGMASTER_CONFIG: JSON.stringify(config),
        STATE_TABLE: props.stateTable.tableName,
        CLUSTER_NAME: props.cluster.clusterName,
        PROXY_SERVICE_NAME: props.proxyService.serviceName,
        SERVER_SERVICE_NAME: props.serverService.serviceName,
        METRICS_NAMESPACE: namespace,
        ENV_NAME: config.envName,
        // Decision metrics as embedded-metric log lines (Powertools Metrics): no API call, no PutMetricData grant.
        METRICS_OUTPUT: 'emf',
        NODE_OPTIONS: '--enable-source-maps',
      },
    });

    role.addToPolicy(
      new PolicyStatement({
        actions: ['ecs:DescribeServices', 'ecs:UpdateService'],
        resources: [props.proxyService.serviceArn, props.serverService.serviceArn],
      }),
    );
    role.addToPolicy(
      new PolicyStatement({
        // GetMetricData has no resource type and no namespace condition.
        actions: ['cloudwatch:GetMetricData'],
        resources: ['*'],
      }),
    );
    props.stateTable.grantReadWriteData(role);
    this.grantTaskReads(props.cluster);
    acknowledgeNag(
      role,
      'AwsSolutions-IAM5[Resource::*]',
      'cloudwatch:GetMetricData has no resource type (and, on an emulator deployment, PutMetricData, scoped by the cloudwatch:namespace condition). UpdateService and DescribeServices name the two service ARNs.',
    );

    // The rule's retryAttempts covers EventBridge's delivery only; Lambda's own asynchronous
    // retries (2 by default, requeued for up to 6 h when throttled) would each run a stale tick.
    this.function.configureAsyncInvoke({ retryAttempts: 0, maxEventAge: MAX_TICK_EVENT_AGE });

    this.schedule = new Rule(this, 'Schedule', {
      description: `Ringmaster ${config.envName} autoscaler tick`,
      schedule: Schedule.rate(Duration.minutes(minutes)),
      // A late tick is worthless: the next one reads fresher metrics.
      targets: [new LambdaFunction(this.function, { retryAttempts: 0, maxEventAge: MAX_TICK_EVENT_AGE })],
    });
  }

  /**
   * The ledger bills each task's own life (ListTasks, DescribeTasks: start and
   * stop times), so stopping tasks, replacements and a deployment's surge are
   * counted. A policy of its own, scoped to the cluster.
   */
  private grantTaskReads(cluster: ICluster): void {
    const policy = new Policy(this, 'TaskReads', {
      roles: [this.role],
      statements: [
        new PolicyStatement({
          // ListTasks has no resource type; the cluster condition is its scope.
          actions: ['ecs:ListTasks'],
          resources: ['*'],
          conditions: { ArnEquals: { 'ecs:cluster': cluster.clusterArn } },
        }),
        new PolicyStatement({
          actions: ['ecs:DescribeTasks'],
          resources: [
            Stack.of(this).formatArn({
              service: 'ecs',
              resource: 'task',
              resourceName: `${cluster.clusterName}/*`,
              arnFormat: ArnFormat.SLASH_RESOURCE_NAME,
            }),
          ],
          conditions: { ArnEquals: { 'ecs:cluster': cluster.clusterArn } },
        }),
      ],
    });
    acknowledgeNag(
      policy,
      `AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:ecs:<AWS::Region>:<AWS::AccountId>:task/<${Stack.of(cluster).getLogicalId(cluster.node.defaultChild as CfnCluster)}>/*]`,
      "Task ARNs carry generated ids, so the ledger can only name this cluster's tasks by wildcard; it only reads them (DescribeTasks).",
    );
    acknowledgeNag(
      policy,
      'AwsSolutions-IAM5[Resource::*]',
      'ecs:ListTasks has no resource type; it is scoped by the ecs:cluster condition to the one cluster.',
    );
  }

  /**
   * Publishes the decision metrics with PutMetricData instead of embedded-metric
   * log lines: for emulators, which turn no log lines into metrics
   * (infra/emulator.ts). The grant is scoped to the deployment's namespace.
   */
  publishMetricsThroughApi(): void {
    this.function.addEnvironment('METRICS_OUTPUT', 'put-metric-data');
    this.role.addToPolicy(
      new PolicyStatement({
        effect: Effect.ALLOW,
        actions: ['cloudwatch:PutMetricData'],
        resources: ['*'],
        conditions: { StringEquals: { 'cloudwatch:namespace': this.namespace } },
      }),
    );
  }
}
