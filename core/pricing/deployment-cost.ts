/**
 * What one deployment costs per hour, line by line: Fargate from fargate.ts,
 * the control plane's DynamoDB traffic from dynamodb.ts, and the other AWS
 * charges the stacks incur. The README's cost table is printed from this
 * (`npm run cost -- --markdown`), never typed by hand.
 */
import {
  controlPlaneUnitsPerSecond,
  DEFAULT_DYNAMODB_RATES,
  type DynamoOnDemandRates,
  dynamoHourlyUsd,
} from './dynamodb.js';
import { type CpuArchitecture, type FargateRates, type TaskSize, taskHourlyUsd } from './fargate.js';

/**
 * What each running task costs beyond its Fargate vCPU and memory: its public
 * IPv4 address, when tasks sit in public subnets (no NAT gateway). The
 * autoscaler's ledger and caps add it to every task-hour.
 */
export function perTaskAddOnUsdPerHour(natGateways: number): number {
  return natGateways === 0 ? AWS_LIST_PRICES.publicIpv4HourUsd : 0;
}

/** us-east-1 list prices of the other resources the stacks create. */
export const AWS_LIST_PRICES = Object.freeze({
  /** Application Load Balancer hour, and one Load Balancer Capacity Unit hour. */
  albHourUsd: 0.0225,
  albLcuHourUsd: 0.008,
  /** Each public IPv4 address, per hour (tasks in public subnets, and the ALB's one per zone). */
  publicIpv4HourUsd: 0.005,
  /** NAT gateway hour (data processing, $0.045 per GB, is extra). */
  natGatewayHourUsd: 0.045,
  /** CloudWatch: custom metric per month (first 10,000), PutMetricData per 1,000 calls, dashboard and alarm per month. */
  metricMonthUsd: 0.3,
  putMetricDataPerThousandUsd: 0.01,
  dashboardMonthUsd: 3,
  alarmMonthUsd: 0.1,
  /** Secrets Manager secret per month. */
  secretMonthUsd: 0.4,
});

export const HOURS_PER_MONTH = 730;

/** Custom metrics that exist once per deployment (dimensions Environment, Service): 9 from proxies, 9 × 2 tiers from the autoscaler at most. */
const CUSTOM_METRICS = 27;
const ALARMS = 8;
/** Load balancer zones (each holds a public IPv4 address). */
const ALB_ZONES = 2;

export interface Fleet {
  readonly proxies: number;
  readonly servers: number;
  /** Records-API shards and replicas: they size the ShardT and MapT scans. */
  readonly shards: number;
  readonly replicas: number;
}

export interface DeploymentPricing {
  readonly proxy: TaskSize;
  readonly server: TaskSize;
  readonly fargate: Readonly<Record<CpuArchitecture, FargateRates>>;
  readonly natGateways: number;
  readonly dynamodb?: DynamoOnDemandRates;
}

/** Dollars per hour, by line. */
export interface CostLines {
  readonly fargateProxies: number;
  readonly fargateServers: number;
  readonly publicIpv4: number;
  readonly natGateways: number;
  readonly loadBalancer: number;
  readonly dynamoControlPlaneReads: number;
  readonly dynamoHeartbeatWrites: number;
  readonly cloudWatch: number;
  readonly secrets: number;
}

export function hourlyCost(fleet: Fleet, p: DeploymentPricing): CostLines & { total: number } {
  const units = controlPlaneUnitsPerSecond(fleet);
  const rates = p.dynamodb ?? DEFAULT_DYNAMODB_RATES;
  const tasksWithPublicIp = p.natGateways > 0 ? 0 : fleet.proxies + fleet.servers;
  const lines: CostLines = {
    fargateProxies: taskHourlyUsd(p.proxy, p.fargate) * fleet.proxies,
    fargateServers: taskHourlyUsd(p.server, p.fargate) * fleet.servers,
    publicIpv4: (tasksWithPublicIp + ALB_ZONES + p.natGateways) * AWS_LIST_PRICES.publicIpv4HourUsd,
    natGateways: p.natGateways * AWS_LIST_PRICES.natGatewayHourUsd,
    // One LCU: idle-to-light traffic; LCUs grow with new connections and bytes.
    loadBalancer: AWS_LIST_PRICES.albHourUsd + AWS_LIST_PRICES.albLcuHourUsd,
    dynamoControlPlaneReads: dynamoHourlyUsd({ reads: units.reads, writes: 0 }, rates),
    dynamoHeartbeatWrites: dynamoHourlyUsd({ reads: 0, writes: units.writes }, rates),
    cloudWatch:
      (CUSTOM_METRICS * AWS_LIST_PRICES.metricMonthUsd +
        AWS_LIST_PRICES.dashboardMonthUsd +
        ALARMS * AWS_LIST_PRICES.alarmMonthUsd) /
        HOURS_PER_MONTH +
      // Every proxy and the autoscaler call PutMetricData once a minute.
      ((fleet.proxies + 1) * 60 * AWS_LIST_PRICES.putMetricDataPerThousandUsd) / 1000,
    secrets: AWS_LIST_PRICES.secretMonthUsd / HOURS_PER_MONTH,
  };
  return { ...lines, total: Object.values(lines).reduce((a, b) => a + b, 0) };
}

/** The charges that do not scale with tasks or load: what `autoscaler.fixedOverheadUsdPerHour` stands for. */
export function fixedOverheadHourlyUsd(p: Pick<DeploymentPricing, 'natGateways'>): number {
  const lines = hourlyCost(
    { proxies: 0, servers: 0, shards: 0, replicas: 0 },
    { ...p, proxy: NONE, server: NONE, fargate: ZERO },
  );
  return lines.publicIpv4 + lines.natGateways + lines.loadBalancer + lines.cloudWatch + lines.secrets;
}

const NONE: TaskSize = { cpu: 0, memoryMiB: 0, architecture: 'arm64' };
const ZERO = { arm64: { vcpuHourUsd: 0, gbHourUsd: 0 }, x86_64: { vcpuHourUsd: 0, gbHourUsd: 0 } };
