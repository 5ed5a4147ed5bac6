import { CfnOutput, Stack, type StackProps } from 'aws-cdk-lib';
import { SnsAction } from 'aws-cdk-lib/aws-cloudwatch-actions';
import type { ICluster, IService } from 'aws-cdk-lib/aws-ecs';
import type { IApplicationLoadBalancer, IApplicationTargetGroup } from 'aws-cdk-lib/aws-elasticloadbalancingv2';
import { PolicyStatement, ServicePrincipal } from 'aws-cdk-lib/aws-iam';
import type { IFunction } from 'aws-cdk-lib/aws-lambda';
import { Topic } from 'aws-cdk-lib/aws-sns';
import { EmailSubscription } from 'aws-cdk-lib/aws-sns-subscriptions';
import type { Construct } from 'constructs';
import type { DeploymentConfig } from '#core/config/deployment.js';
import { ContractMetrics } from '../constructs/contract-metrics.js';
import { CostBudget } from '../constructs/cost-budget.js';
import { OpsAlarms } from '../constructs/ops-alarms.js';
import { OpsDashboard } from '../constructs/ops-dashboard.js';
import { TierAlarms } from '../constructs/tier-alarms.js';

export interface MonitoringStackProps extends StackProps {
  readonly config: DeploymentConfig;
  /** The autoscaler Lambda: its own errors are charted and alarmed. */
  readonly autoscaler: IFunction;
  /** The proxies' load balancer and target group, the cluster and both services: alarmed on AWS's own metrics. */
  readonly loadBalancer: IApplicationLoadBalancer;
  readonly targetGroup: IApplicationTargetGroup;
  readonly cluster: ICluster;
  readonly proxyService: IService;
  readonly serverService: IService;
}

/**
 * What an operator watches: the dashboard, the alarms and the topic they go
 * to. Nearly everything is read from the metrics contract by namespace and
 * Environment, so this stack needs little from the others.
 */
export class MonitoringStack extends Stack {
  readonly topic: Topic;
  readonly alarms: OpsAlarms;
  readonly tierAlarms: TierAlarms;
  readonly budget: CostBudget;
  readonly dashboard: OpsDashboard;

  constructor(scope: Construct, id: string, props: MonitoringStackProps) {
    super(scope, id, props);
    const { config } = props;
    this.topic = new Topic(this, 'AlarmTopic', {
      displayName: `Ringmaster ${config.envName} alarms`,
      enforceSSL: true,
    });
    // enforceSSL's policy holds only a Deny, and a topic with a policy has no default Allow:
    // without this statement every alarm action fails ("no resource-based policy allows SNS:Publish").
    this.topic.addToResourcePolicy(
      new PolicyStatement({
        sid: 'CloudWatchAlarmsPublish',
        principals: [new ServicePrincipal('cloudwatch.amazonaws.com')],
        actions: ['sns:Publish'],
        resources: [this.topic.topicArn],
        conditions: { StringEquals: { 'aws:SourceAccount': this.account } },
      }),
    );
    // Budgets notifications reach the same topic (CostBudget), under the same account scope.
    this.topic.addToResourcePolicy(
      new PolicyStatement({
        sid: 'BudgetsPublish',
        principals: [new ServicePrincipal('budgets.amazonaws.com')],
        actions: ['sns:Publish'],
        resources: [this.topic.topicArn],
        conditions: { StringEquals: { 'aws:SourceAccount': this.account } },
      }),
    );
    this.budget = new CostBudget(this, 'CostBudget', {
      envName: config.envName,
      budgetUsd: config.autoscaler.budgetUsd,
      budgetPeriod: config.autoscaler.budgetPeriod,
      topic: this.topic,
    });
    if (config.monitoring.alarmEmail !== undefined) {
      this.topic.addSubscription(new EmailSubscription(config.monitoring.alarmEmail));
    }
    const metrics = new ContractMetrics(config.monitoring.metricsNamespace, config.envName);
    this.alarms = new OpsAlarms(this, 'Alarms', {
      config,
      metrics,
      autoscaler: props.autoscaler,
      action: new SnsAction(this.topic),
    });
    this.tierAlarms = new TierAlarms(this, 'TierAlarms', {
      config,
      loadBalancer: props.loadBalancer,
      targetGroup: props.targetGroup,
      cluster: props.cluster,
      proxyService: props.proxyService,
      serverService: props.serverService,
      action: new SnsAction(this.topic),
    });
    this.dashboard = new OpsDashboard(this, 'Dashboard', {
      config,
      metrics,
      autoscaler: props.autoscaler,
      alarms: [...this.alarms.all, ...this.tierAlarms.all],
    });
    new CfnOutput(this, 'DashboardName', { value: this.dashboard.dashboard.dashboardName });
    new CfnOutput(this, 'AlarmTopicArn', { value: this.topic.topicArn });
  }
}
