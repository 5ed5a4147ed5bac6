import { Duration } from 'aws-cdk-lib';
import { Alarm, ComparisonOperator, TreatMissingData } from 'aws-cdk-lib/aws-cloudwatch';
import { LambdaAction } from 'aws-cdk-lib/aws-cloudwatch-actions';
import type { IService } from 'aws-cdk-lib/aws-ecs';
import { PolicyStatement, Role, ServicePrincipal } from 'aws-cdk-lib/aws-iam';
import { NodejsFunction } from 'aws-cdk-lib/aws-lambda-nodejs';
import type { ILogGroup } from 'aws-cdk-lib/aws-logs';
import { Construct } from 'constructs';
import type { DeploymentConfig } from '#core/config/deployment.js';
import { AUTOSCALER_METRICS } from '#core/telemetry/metric-names.js';
import { ContractMetrics } from './contract-metrics.js';
import { nodeLambdaDefaults } from './node-lambda.js';

export interface AutoscalerFailsafeProps {
  readonly projectRoot: string;
  readonly config: DeploymentConfig;
  readonly clusterName: string;
  readonly proxyService: IService;
  readonly serverService: IService;
  /**
   * Where it logs: the autoscaler's own log group, so the failsafe's acts sit
   * with the ticks they stand in for (a log group is not a runtime
   * dependency: writing to it cannot stop the failsafe from acting).
   */
  readonly logGroup: ILogGroup;
}

/** The failsafe has nothing to wait for: a describe and an update per tier. */
const FAILSAFE_TIMEOUT_SECONDS = 30;

/**
 * The autoscaler's dead-man's switch. An alarm watches the Ticks metric the
 * tick emits once per committed tick; after `autoscaler.failsafeAfterMinutes`
 * without one (missing data counts as a missed tick) its action invokes a
 * small function of its own that lowers both ECS services to their minimum
 * counts (functions/autoscaler/failsafe.ts). Nothing here is shared with the
 * tick but the ECS API: not the schedule, the state table, the tick's code
 * or its role. The hard cap pays the counts it allows for this detection time
 * plus the action's delay (functions/autoscaler/budget.ts), so spend stays in
 * the budget while no tick runs.
 */
export class AutoscalerFailsafe extends Construct {
  readonly function: NodejsFunction;
  readonly alarm: Alarm;

  constructor(scope: Construct, id: string, props: AutoscalerFailsafeProps) {
    super(scope, id);
    const { config } = props;
    const tickMinutes = config.autoscaler.scheduleMinutes;
    const afterMinutes = config.autoscaler.failsafeAfterMinutes;
    if (afterMinutes < 2 * tickMinutes) {
      throw new Error(
        `AutoscalerFailsafe: autoscaler.failsafeAfterMinutes (${afterMinutes}) must be at least two ticks (${2 * tickMinutes} min): one late tick must not trip it`,
      );
    }
    const { logGroup } = props;
    const role = new Role(this, 'Role', { assumedBy: new ServicePrincipal('lambda.amazonaws.com') });
    role.addToPolicy(
      new PolicyStatement({
        actions: ['logs:CreateLogStream', 'logs:PutLogEvents'],
        resources: [logGroup.logGroupArn],
      }),
    );
    role.addToPolicy(
      new PolicyStatement({
        actions: ['ecs:DescribeServices', 'ecs:UpdateService'],
        resources: [props.proxyService.serviceArn, props.serverService.serviceArn],
      }),
    );

    this.function = new NodejsFunction(this, 'Function', {
      ...nodeLambdaDefaults(props.projectRoot, 'functions/autoscaler/failsafe-handler.ts'),
      memorySize: 128,
      timeout: Duration.seconds(FAILSAFE_TIMEOUT_SECONDS),
      role,
      logGroup,
      environment: {
        CLUSTER_NAME: props.clusterName,
        PROXY_SERVICE_NAME: props.proxyService.serviceName,
        SERVER_SERVICE_NAME: props.serverService.serviceName,
        PROXY_MIN_COUNT: String(config.proxy.minCount),
        SERVER_MIN_COUNT: String(config.servers.minCount),
        NODE_OPTIONS: '--enable-source-maps',
      },
    });

    const metrics = new ContractMetrics(config.monitoring.metricsNamespace, config.envName);
    this.alarm = new Alarm(this, 'NoTicks', {
      alarmDescription: `Ringmaster ${config.envName}: no autoscaler tick committed for ${afterMinutes} minutes; the failsafe lowers both tiers to their minimum counts`,
      metric: metrics.autoscaler(AUTOSCALER_METRICS.ticks, {
        statistic: 'Sum',
        period: Duration.minutes(tickMinutes),
      }),
      threshold: 1,
      comparisonOperator: ComparisonOperator.LESS_THAN_THRESHOLD,
      evaluationPeriods: Math.ceil(afterMinutes / tickMinutes),
      // No datapoint is exactly what a missed tick looks like.
      treatMissingData: TreatMissingData.BREACHING,
    });
    this.alarm.addAlarmAction(new LambdaAction(this.function));
  }
}
