import { Duration } from 'aws-cdk-lib';
import {
  Alarm,
  type AlarmProps,
  ComparisonOperator,
  type IAlarmAction,
  Metric,
  TreatMissingData,
} from 'aws-cdk-lib/aws-cloudwatch';
import type { ICluster, IService } from 'aws-cdk-lib/aws-ecs';
import {
  HttpCodeElb,
  type IApplicationLoadBalancer,
  type IApplicationTargetGroup,
} from 'aws-cdk-lib/aws-elasticloadbalancingv2';
import { Construct } from 'constructs';
import type { DeploymentConfig } from '#core/config/deployment.js';

/**
 * Where the running-task counts come from. AWS/ECS publishes only
 * CPUUtilization and MemoryUtilization per service; RunningTaskCount exists
 * only under Container Insights, which the cluster enables
 * (containerInsightsV2: ENABLED in service-stack.ts).
 */
export const CONTAINER_INSIGHTS_NAMESPACE = 'ECS/ContainerInsights';

export interface TierAlarmsProps {
  readonly config: DeploymentConfig;
  readonly loadBalancer: IApplicationLoadBalancer;
  /** The proxies' target group: its HealthyHostCount is what the load balancer can send to. */
  readonly targetGroup: IApplicationTargetGroup;
  readonly cluster: ICluster;
  readonly proxyService: IService;
  readonly serverService: IService;
  /** Where every alarm (and its recovery) is sent. */
  readonly action: IAlarmAction;
  /**
   * 5xx responses the load balancer itself returns (no healthy target, a
   * target that reset or timed out) per minute that count as a bad minute.
   * @default 10
   */
  readonly elb5xxPerMinute?: number;
}

/**
 * Alarms that read AWS's own metrics rather than what the proxies publish:
 * a dead or unreachable proxy tier publishes nothing, and every alarm on the
 * proxies' metrics treats missing data as fine. These see it from outside.
 */
export class TierAlarms extends Construct {
  readonly healthyProxies: Alarm;
  readonly loadBalancer5xx: Alarm;
  readonly proxiesRunning: Alarm;
  readonly serversRunning: Alarm;

  constructor(scope: Construct, id: string, props: TierAlarmsProps) {
    super(scope, id);
    const per = props.elb5xxPerMinute ?? 10;
    if (!(Number.isInteger(per) && per >= 1)) {
      throw new Error(`TierAlarms: elb5xxPerMinute must be a whole number >= 1, got ${per}`);
    }
    const { config } = props;
    const env = config.envName;
    const minute = Duration.minutes(1);
    const alarm = (name: string, alarmProps: AlarmProps) => {
      const created = new Alarm(this, name, alarmProps);
      created.addAlarmAction(props.action);
      created.addOkAction(props.action);
      return created;
    };

    this.healthyProxies = alarm('HealthyProxies', {
      alarmDescription: `Ringmaster ${env}: the load balancer sees fewer than ${config.proxy.minCount} healthy proxies (proxy.minCount) for 3 minutes`,
      metric: props.targetGroup.metrics.healthyHostCount({ statistic: 'Minimum', period: minute }),
      threshold: config.proxy.minCount,
      comparisonOperator: ComparisonOperator.LESS_THAN_THRESHOLD,
      evaluationPeriods: 3,
      // The load balancer reports this every minute while the group exists: silence is itself wrong.
      treatMissingData: TreatMissingData.BREACHING,
    });
    this.loadBalancer5xx = alarm('LoadBalancer5xx', {
      alarmDescription: `Ringmaster ${env}: the load balancer itself returned ${per}+ 5xx a minute (no healthy proxy, or proxies resetting) for 3 of 5 minutes`,
      metric: props.loadBalancer.metrics.httpCodeElb(HttpCodeElb.ELB_5XX_COUNT, { statistic: 'Sum', period: minute }),
      threshold: per,
      comparisonOperator: ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
      evaluationPeriods: 5,
      datapointsToAlarm: 3,
      // The load balancer publishes nothing in a minute without such errors.
      treatMissingData: TreatMissingData.NOT_BREACHING,
    });
    const running = (name: string, service: IService, tier: string, minCount: number, key: string) =>
      alarm(name, {
        alarmDescription: `Ringmaster ${env}: fewer than ${minCount} ${tier} tasks running (${key}) for 3 minutes`,
        metric: new Metric({
          namespace: CONTAINER_INSIGHTS_NAMESPACE,
          metricName: 'RunningTaskCount',
          dimensionsMap: { ClusterName: props.cluster.clusterName, ServiceName: service.serviceName },
          statistic: 'Minimum',
          period: minute,
        }),
        threshold: minCount,
        comparisonOperator: ComparisonOperator.LESS_THAN_THRESHOLD,
        evaluationPeriods: 3,
        // Container Insights reports a running service every minute; no datapoint means no tasks.
        treatMissingData: TreatMissingData.BREACHING,
      });
    this.proxiesRunning = running(
      'ProxiesRunning',
      props.proxyService,
      'proxy',
      config.proxy.minCount,
      'proxy.minCount',
    );
    this.serversRunning = running(
      'ServersRunning',
      props.serverService,
      'server',
      config.servers.minCount,
      'servers.minCount',
    );
  }

  get all(): Alarm[] {
    return [this.healthyProxies, this.loadBalancer5xx, this.proxiesRunning, this.serversRunning];
  }
}
