/**
 * Randomised tight-budget replays of Ringmaster's policy: random load shapes,
 * task sizes, minimum counts and budgets (from just above the minimum spend
 * to more than enough), one-day budget periods with two days of history
 * before them. The worst spend ÷ budget must stay at or under 1.
 */

import { taskHourlyUsd } from '#core/pricing/fargate.js';
import type { ServiceName } from '#core/telemetry/metric-names.js';
import { seededRandom } from '#core/util/seeded-random.js';
import { minimumSpendForPeriod, type ServiceSettings } from '../policy.js';
import { SLO_RATE_OVER_TARGET } from '../settings-from-deployment.js';
import { defaultSimConfig, type SimConfig, TARGET_UTILIZATION } from './config.js';
import { replay } from './model.js';
import { ringmaster } from './policies/ringmaster.js';
import { diurnal, MINUTES_PER_DAY, type Trace } from './trace.js';

const TASK_SIZES = [
  { cpu: 256, memoryMiB: 512 },
  { cpu: 512, memoryMiB: 1024 },
  { cpu: 1024, memoryMiB: 2048 },
  { cpu: 2048, memoryMiB: 4096 },
] as const;

export interface RandomizedResult {
  readonly replays: number;
  readonly maxSpendOverBudget: number;
  /** Mean spend ÷ budget: how much of the money the ration puts to use. */
  readonly meanSpendOverBudget: number;
}

function pick<T>(random: () => number, items: readonly T[]): T {
  return items[Math.floor(random() * items.length)] as T;
}

function randomTrace(random: () => number, seed: number): Trace {
  const peak = 100 + random() * 6_000;
  const days = diurnal(seed, 3, peak);
  const rps = days.rps.slice();
  // Rotate the day so peaks fall at any hour, and add bursts the history does not predict.
  const shift = Math.floor(random() * MINUTES_PER_DAY);
  const rotated = new Float64Array(rps.length);
  for (let m = 0; m < rps.length; m++) rotated[m] = rps[(m + shift) % rps.length] ?? 0;
  const bursts = Math.floor(random() * 6);
  for (let b = 0; b < bursts; b++) {
    const start = 2 * MINUTES_PER_DAY + Math.floor(random() * MINUTES_PER_DAY);
    const factor = 1 + random() * 5;
    for (let m = start; m < Math.min(rotated.length, start + 5 + Math.floor(random() * 60)); m++)
      rotated[m] = (rotated[m] ?? 0) * factor;
  }
  const withHistory = random() < 0.75;
  return {
    name: 'random',
    rps: rotated.slice(2 * MINUTES_PER_DAY),
    scoreFromMinute: 0,
    steps: [],
    ...(withHistory ? { priorRps: rotated.slice(0, 2 * MINUTES_PER_DAY) } : {}),
  };
}

function randomService(random: () => number, capacityRps: number, minCount: number, maxCount: number): ServiceSettings {
  return {
    minCount,
    maxCount,
    targetRequestsPerTaskPerSecond: capacityRps * TARGET_UTILIZATION,
    sloRequestsPerTaskPerSecond: capacityRps * TARGET_UTILIZATION * SLO_RATE_OVER_TARGET,
    targetCpuPercent: TARGET_UTILIZATION * 100,
    task: { ...pick(random, TASK_SIZES), architecture: random() < 0.5 ? 'x86_64' : 'arm64' },
  };
}

/** Ringmaster's policy, as every fault replay runs it. */
export const policy = ringmaster;

/** One randomized tight-budget case: a day's trace, a random fleet and a budget between the minimum and enough. */
export interface RandomCase {
  readonly trace: Trace;
  readonly config: SimConfig;
  readonly budgetUsd: number;
  readonly periodStartMs: number;
  readonly periodEndMs: number;
}

export function randomCase(random: () => number, traceSeed: number, epochMs?: number): RandomCase {
  const trace = randomTrace(random, traceSeed);
  const base = defaultSimConfig();
  const serverMin = 1 + Math.floor(random() * 4);
  const proxyMin = 1 + Math.floor(random() * 3);
  const services: Record<ServiceName, ServiceSettings> = {
    proxy: randomService(random, base.proxyTaskCapacityRps, proxyMin, proxyMin + Math.floor(random() * 4)),
    servers: randomService(random, base.taskCapacityRps, serverMin, serverMin + 10 + Math.floor(random() * 300)),
  };
  const config = {
    ...defaultSimConfig({ services, fixedOverheadUsdPerHour: random() * 0.1 }),
    ...(epochMs === undefined ? {} : { epochMs }),
  };
  const periodMs = trace.rps.length * 60_000;
  const period = { startMs: config.epochMs, endMs: config.epochMs + periodMs };
  const minimum = minimumSpendForPeriod({ ...config.settings, budgetPeriod: period });
  // What serving every minute at the target would cost: the budget is drawn between the two.
  let demandUsd = minimum;
  const perMinute = taskHourlyUsd(services.servers.task, config.settings.fargateRates) / 60;
  for (const rps of trace.rps) {
    const tasks = Math.min(services.servers.maxCount, Math.ceil(rps / services.servers.targetRequestsPerTaskPerSecond));
    demandUsd += Math.max(0, tasks - serverMin) * perMinute;
  }
  // Only budgets the deployment's validation accepts: the minimum counts paid after the safety margin.
  const floor = minimum / (1 - config.settings.budgetSafetyMargin);
  const budgetUsd = floor + Math.max(0, demandUsd - floor) * (0.01 + random() * 1.1);
  return { trace, config, budgetUsd, periodStartMs: period.startMs, periodEndMs: period.endMs };
}

export function randomizedReplays(seed: number, replays: number): RandomizedResult {
  const random = seededRandom(seed);
  let worst = 0;
  let sum = 0;
  for (let r = 0; r < replays; r++) {
    const c = randomCase(random, seed * 7919 + r);
    const options = { budgetUsd: c.budgetUsd, periodStartMs: c.periodStartMs, periodEndMs: c.periodEndMs };
    const result = replay(c.trace, policy, c.config, options);
    let spent = 0;
    for (const dollars of result.dollars) spent += dollars;
    const ratio = spent / c.budgetUsd;
    worst = Math.max(worst, ratio);
    sum += ratio;
  }
  return { replays, maxSpendOverBudget: worst, meanSpendOverBudget: replays > 0 ? sum / replays : 0 };
}
