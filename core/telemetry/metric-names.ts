/**
 * The metrics contract: what the proxy publishes to CloudWatch, what the
 * autoscaler reads and emits, and what the dashboard and alarms chart. All
 * three import these names, so a rename cannot leave one of them reading a
 * metric nobody writes.
 */

/** Default CloudWatch namespace (configurable per deployment). */
export const DEFAULT_METRICS_NAMESPACE = 'Ringmaster';

/** Dimension names. Every metric carries Environment; most carry Service. */
export const DIMENSIONS = {
  /** The deployment's envName, so two copies in one account never mix. */
  environment: 'Environment',
  /** Which tier: one of SERVICES. */
  service: 'Service',
} as const;

/** The two tiers the autoscaler sizes, as the Service dimension names them. */
export const SERVICES = { proxy: 'proxy', servers: 'servers' } as const;
export type ServiceName = (typeof SERVICES)[keyof typeof SERVICES];

/** Published by every proxy once per period (default 60 s), with Environment and Service=proxy. */
export const PROXY_METRICS = {
  /** Requests finished in the period (Count). */
  requests: 'RequestCount',
  /** Requests in flight, sampled each second: Average and Maximum (Count). */
  inflight: 'InFlight',
  /** Tunnels (WebSocket and other upgrades) open, sampled each second: Average and Maximum (Count). */
  openTunnels: 'OpenTunnels',
  /** Time from request to end of response, as values/counts so percentiles can be read back (Milliseconds). */
  responseTime: 'ResponseTime',
  responses4xx: 'Responses4xx',
  responses5xx: 'Responses5xx',
  /** Servers this proxy may route to, at the end of the period (Count). */
  healthyServers: 'HealthyServers',
  retries: 'Retries',
  ejections: 'Ejections',
  /** Failed PutMetricData calls carried into the next period (Count). */
  publishErrors: 'MetricsPublishErrors',
} as const;

/** Emitted by the autoscaler on every tick, with Environment (and Service where per tier). */
export const AUTOSCALER_METRICS = {
  /** Per Service: the count the tick settled on, and what ECS reported running. */
  desiredCount: 'DesiredCount',
  runningCount: 'RunningCount',
  /** Dollars spent so far in the budget period, and left of the budget. */
  spendUsd: 'SpendUsd',
  budgetRemainingUsd: 'BudgetRemainingUsd',
  /** Spend at the end of the period if the current rate held (USD). */
  projectedSpendUsd: 'ProjectedSpendUsd',
  /** 1 when the budget held a service below what load asked for, else 0. */
  budgetLimited: 'BudgetLimited',
  /** UpdateService calls made by the tick. */
  scaleEvents: 'ScaleEvents',
  /** 1 per tick that completed (a missing datapoint means a missed tick). */
  ticks: 'Ticks',
  /** 1 per tick that failed to read metrics or to update ECS. */
  errors: 'Errors',
  /**
   * 1 when the money left cannot pay the minimum counts to the period's end
   * (the tiers then stay at their minimum and the budget will be overrun), else 0.
   */
  belowMinimum: 'BelowMinimum',
  /** 1 per tick that could not read the load (CloudWatch): it still billed and capped, allowing reductions only. */
  loadUnavailable: 'LoadUnavailable',
  /** 1 per tick that found the state item unreadable (or of a newer format) and held both tiers at their minimum. */
  stateUnreadable: 'StateUnreadable',
} as const;
