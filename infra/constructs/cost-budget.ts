import { CfnBudget } from 'aws-cdk-lib/aws-budgets';
import type { ITopic } from 'aws-cdk-lib/aws-sns';
import { Construct } from 'constructs';
import type { BudgetPeriod } from '#core/config/deployment.js';

/**
 * The cost-allocation tag every resource of a deployment carries (the app
 * tags itself in ringmaster-app.ts), with the envName as its value. AWS counts
 * a tag in billing only once it is activated in the Billing console
 * (docs/deploying.md, "Before the first deploy").
 */
export const COST_ALLOCATION_TAG = 'ringmaster-env';

/** Percentages of the budget at which the topic is told. */
export const BUDGET_NOTIFY_PERCENT = [80, 100] as const;

export interface CostBudgetProps {
  readonly envName: string;
  /** autoscaler.budgetUsd: the same dollars the autoscaler models, here as AWS bills them. */
  readonly budgetUsd: number;
  readonly budgetPeriod: BudgetPeriod;
  /** The alarm topic; its policy must let budgets.amazonaws.com publish. */
  readonly topic: ITopic;
}

/**
 * An AWS Budgets budget over everything tagged with this deployment's
 * cost-allocation tag: a backstop to the autoscaler, which caps only the
 * tasks it models, while this watches the bill itself (load balancer,
 * DynamoDB, CloudWatch, data transfer included). AWS Budgets has no weekly
 * period, so a weekly budget is watched per day at a seventh of the amount.
 */
export class CostBudget extends Construct {
  readonly budget: CfnBudget;

  constructor(scope: Construct, id: string, props: CostBudgetProps) {
    super(scope, id);
    if (!(props.budgetUsd > 0)) throw new Error(`CostBudget: budgetUsd must be positive, got ${props.budgetUsd}`);
    const [timeUnit, amount] =
      props.budgetPeriod === 'month'
        ? ['MONTHLY', props.budgetUsd]
        : props.budgetPeriod === 'day'
          ? ['DAILY', props.budgetUsd]
          : ['DAILY', props.budgetUsd / 7];
    this.budget = new CfnBudget(this, 'Budget', {
      budget: {
        budgetType: 'COST',
        timeUnit,
        // Budgets keeps two decimals.
        budgetLimit: { amount: Math.round(amount * 100) / 100, unit: 'USD' },
        filterExpression: {
          tags: { key: COST_ALLOCATION_TAG, values: [props.envName], matchOptions: ['EQUALS'] },
        },
      },
      notificationsWithSubscribers: BUDGET_NOTIFY_PERCENT.map((threshold) => ({
        notification: {
          notificationType: 'ACTUAL',
          comparisonOperator: 'GREATER_THAN',
          threshold,
          thresholdType: 'PERCENTAGE',
        },
        subscribers: [{ subscriptionType: 'SNS', address: props.topic.topicArn }],
      })),
    });
  }
}
