import { describe, expect, it } from 'vitest';
import { taskHourlyUsd } from '#core/pricing/fargate.js';
import { sliceWeights } from '#functions/autoscaler/budget.js';
import {
  type AutoscalerSettings,
  decide,
  minimumSpendForPeriod,
  type PersistedState,
  parseSettings,
  parseState,
  type RequestRateHistory,
  type ServiceObservation,
  type TickInputs,
  withDefaults,
} from '#functions/autoscaler/policy.js';
import { filledAt, waterLevel } from '#functions/autoscaler/water-fill.js';

const MINUTE = 60_000;
const HOUR = 60 * MINUTE;
const DAY = 24 * HOUR;
/** Tuesday 2026-01-06 00:00 UTC. */
const T0 = Date.UTC(2026, 0, 6);

const SERVER_TASK = { cpu: 512, memoryMiB: 1024, architecture: 'x86_64' } as const;
const PROXY_TASK = { cpu: 256, memoryMiB: 512, architecture: 'x86_64' } as const;

function settings(overrides: Partial<AutoscalerSettings> = {}): AutoscalerSettings {
  return withDefaults({
    services: {
      proxy: {
        minCount: 2,
        maxCount: 2,
        targetRequestsPerTaskPerSecond: 600,
        targetCpuPercent: 60,
        task: PROXY_TASK,
      },
      servers: {
        minCount: 2,
        maxCount: 100,
        targetRequestsPerTaskPerSecond: 60,
        sloRequestsPerTaskPerSecond: 80,
        targetCpuPercent: 60,
        task: SERVER_TASK,
      },
    },
    p99SloMs: 250,
    budgetUsd: Number.POSITIVE_INFINITY,
    budgetPeriod: 'day',
    // The arithmetic below is the caps' own; the margin and the surge are tested in autoscaler-ledger.test.ts.
    budgetSafetyMargin: 0,
    deploySurgeFactor: 1,
    ...overrides,
  });
}

function observation(
  count: number,
  rps: number | undefined,
  extra: Partial<ServiceObservation> = {},
): ServiceObservation {
  return {
    runningCount: count,
    pendingCount: 0,
    desiredCount: count,
    metrics: { requestsPerSecond: rps, complete: rps !== undefined },
    ...extra,
  };
}

function inputs(servers: ServiceObservation, extra: Partial<TickInputs> = {}): TickInputs {
  return {
    nowMs: T0 + 10 * HOUR,
    settings: settings(),
    services: { proxy: observation(2, 100), servers },
    ...extra,
  };
}

/** Runs ticks one minute apart, feeding back the state and the count (tasks start at once). */
function run(
  loads: readonly (number | undefined)[],
  start: number,
  base: Partial<TickInputs> = {},
): { counts: number[]; state: PersistedState | undefined } {
  let count = start;
  let state: PersistedState | undefined = base.state;
  const counts: number[] = [];
  loads.forEach((rps, i) => {
    const decision = decide(
      inputs(observation(count, rps), { ...base, state, nowMs: (base.nowMs ?? T0 + 10 * HOUR) + i * MINUTE }),
    );
    state = decision.nextState;
    count = decision.services.servers.desiredCount;
    counts.push(count);
  });
  return { counts, state };
}

describe('autoscaler policy: load rules', () => {
  it.each([
    { name: 'steady load at the target keeps the count', count: 10, rps: 600, want: 10 },
    { name: 'within +10% changes nothing (tolerance)', count: 10, rps: 650, want: 10 },
    { name: 'within -10% changes nothing (tolerance)', count: 10, rps: 545, want: 10 },
    { name: 'step up goes to ceil(rps / target) at once', count: 10, rps: 1_000, want: 17 },
    { name: 'a big step is capped at x2 + 4 per tick', count: 10, rps: 6_000, want: 24 },
    { name: 'min count holds at no load', count: 2, rps: 0, want: 2 },
    { name: 'max count caps', count: 90, rps: 60_000, want: 100 },
  ])('$name', ({ count, rps, want }) => {
    expect(decide(inputs(observation(count, rps))).services.servers.desiredCount).toBe(want);
  });

  it('takes the highest normalised signal: CPU and p99 over their targets', () => {
    const cpuHot = observation(10, 300, {
      metrics: { requestsPerSecond: 300, cpuPercent: 90, complete: true },
    });
    expect(decide(inputs(cpuHot)).services.servers.desiredCount).toBe(15);
    // p99 over the SLO adds one step (scaleOutStep, 4) to the tasks measured, however far over it is.
    const slow = observation(10, 300, { metrics: { requestsPerSecond: 300, p99Ms: 500, complete: true } });
    const decision = decide(inputs(slow)).services.servers;
    expect(decision.desiredCount).toBe(14);
    expect(decision.reason).toMatch(/p99 14/);
    const saturated = observation(10, 300, { metrics: { requestsPerSecond: 300, p99Ms: 5_000, complete: true } });
    expect(decide(inputs(saturated)).services.servers.desiredCount).toBe(14);
    // Under the SLO it asks for nothing: utilisation sizes the fleet.
    const fast = observation(10, 600, { metrics: { requestsPerSecond: 600, p99Ms: 100, complete: true } });
    expect(decide(inputs(fast)).services.servers.needs.p99).toBe(0);
  });

  it('counts pending tasks and not-yet-placed ones as capacity on the way', () => {
    const starting = observation(6, 600, { pendingCount: 4, desiredCount: 10 });
    const decision = decide(inputs(starting)).services.servers;
    expect(decision.desiredCount).toBe(10);
    expect(decision.changed).toBe(false);
  });

  it('scales in only to the highest recommendation of the last 5 minutes, with the tolerance as headroom', () => {
    // Warm up at 20 tasks, then the load halves.
    const { counts } = run([1_200, 1_200, 1_200, 1_200, 1_200, 1_200, 600, 600, 600, 600, 600, 600, 600], 20);
    expect(counts.slice(0, 10)).toEqual([20, 20, 20, 20, 20, 20, 20, 20, 20, 20]);
    // Five low ticks later the window holds only the low load: ceil(10 x 1.1) = 11.
    expect(counts.at(-1)).toBe(11);
  });

  it('the window remembers each tick’s need, not the need plus the headroom', () => {
    // 20 tasks at 1,200 rps; one minute at 900 (15 tasks' worth), then 600 (10).
    const { counts } = run([1_200, 1_200, 1_200, 1_200, 1_200, 1_200, 900, 600, 600, 600, 600, 600], 20);
    // While the 900 minute is in the window the count holds its need, 15; with the headroom it held
    // ceil(15 x 1.1) = 17, which is what kept every spike's fleet 10% high for the whole window.
    expect(counts[10]).toBe(15);
    // Then this tick's floor keeps the headroom: ceil(10 x 1.1) = 11.
    expect(counts.at(-1)).toBe(11);
  });

  it('does not scale in within 5 minutes of a scale-out', () => {
    const { counts } = run([1_200, 3_000, 600, 600, 600, 600, 600, 600, 600], 20);
    expect(counts[1]).toBe(44);
    expect(counts.slice(2, 6)).toEqual([44, 44, 44, 44]);
    expect(counts.at(-1)).toBe(11);
  });

  it('never scales in on missing or partial data, but still scales out', () => {
    const { counts } = run([undefined, undefined, undefined, undefined, undefined, undefined, undefined], 20);
    expect(counts).toEqual([20, 20, 20, 20, 20, 20, 20]);
    const partial = observation(20, 100, { metrics: { requestsPerSecond: 100, complete: false } });
    const held = decide(inputs(partial)).services.servers;
    expect(held.desiredCount).toBe(20);
    expect(held.clamps.map((c) => c.kind)).toContain('missingData');
    const hot = observation(20, 2_400, { metrics: { requestsPerSecond: 2_400, complete: false } });
    expect(decide(inputs(hot)).services.servers.desiredCount).toBe(40);
  });

  it('a minute of missing data keeps the window from scaling in right after', () => {
    const { counts } = run([1_200, 1_200, 1_200, 1_200, undefined, 600, 600, 600, 600, 600], 20);
    // The missing tick remembered 20; only five clean low ticks later does the count fall.
    expect(counts.slice(0, 9)).toEqual([20, 20, 20, 20, 20, 20, 20, 20, 20]);
    expect(counts.at(-1)).toBe(11);
  });
});

/** Two days of history with a 09:00-10:00 peak at 3,000 rps over a 300 rps base, per minute. */
function peakHistory(nowMs: number, todayLevel = 1): RequestRateHistory {
  const startMs = nowMs - 2 * DAY - 2 * MINUTE;
  const minutes = (nowMs - 2 * MINUTE - startMs) / MINUTE;
  const rates = new Float64Array(minutes);
  for (let i = 0; i < minutes; i++) {
    const ms = startMs + i * MINUTE;
    const hour = (((ms % DAY) + DAY) % DAY) / HOUR;
    const today = ms >= nowMs - (((nowMs % DAY) + DAY) % DAY);
    rates[i] = (hour >= 9 && hour < 10 ? 3_000 : 300) * (today ? todayLevel : 1);
  }
  return { bucketMinutes: 1, startMs, requestsPerSecond: rates };
}

describe('autoscaler policy: forecast', () => {
  it('has capacity ready before a daily peak from the same time on previous days', () => {
    const nowMs = T0 + 8 * HOUR + 58 * MINUTE;
    const decision = decide(inputs(observation(5, 300), { nowMs, history: peakHistory(nowMs) })).services.servers;
    // 08:58: the peak starts at 09:00, within task start + one tick.
    expect(decision.desiredCount).toBe(14); // capped at 5 x 2 + 4 this tick
    expect(decision.needs.forecast).toBeCloseTo(50, 5);
    const next = decide(inputs(observation(14, 300), { nowMs: nowMs + MINUTE, history: peakHistory(nowMs + MINUTE) }))
      .services.servers;
    expect(next.desiredCount).toBe(32);
  });

  it('scales the pattern by today’s level and ignores it an hour before the peak', () => {
    const nowMs = T0 + 8 * HOUR + 58 * MINUTE;
    const quiet = decide(inputs(observation(30, 150), { nowMs, history: peakHistory(nowMs, 0.5) })).services.servers;
    // Nine hours at half the usual load: the level follows most of the way (the daily index takes the
    // rest of the surprise for the hours it saw), so the 09:00 peak is expected well under yesterday's 50.
    expect(quiet.needs.forecast).toBeGreaterThan(25);
    expect(quiet.needs.forecast).toBeLessThan(0.7 * 50);
    const early = decide(inputs(observation(5, 300), { nowMs: nowMs - HOUR, history: peakHistory(nowMs - HOUR) }))
      .services.servers;
    expect(early.desiredCount).toBe(5);
  });

  it('without history the forecast stays out', () => {
    expect(decide(inputs(observation(5, 300))).services.servers.needs.forecast).toBeUndefined();
  });
});

const serverUsdPerMinute = taskHourlyUsd(SERVER_TASK, withDefaults(settings()).fargateRates) / 60;
const proxyUsdPerMinute = taskHourlyUsd(PROXY_TASK, withDefaults(settings()).fargateRates) / 60;

describe('autoscaler policy: ledger', () => {
  it('accrues running task-seconds at Fargate prices plus the overhead, and rolls over with the period', () => {
    const s = settings({ fixedOverheadUsdPerHour: 0.06 });
    const first = decide(inputs(observation(10, 600), { settings: s }));
    expect(first.nextState.spendUsd).toBe(0);
    expect(first.nextState.version).toBe(1);
    const second = decide(
      inputs(observation(10, 600), { settings: s, state: first.nextState, nowMs: T0 + 10 * HOUR + MINUTE }),
    );
    expect(second.nextState.spendUsd).toBeCloseTo(10 * serverUsdPerMinute + 2 * proxyUsdPerMinute + 0.001, 12);
    expect(second.nextState.version).toBe(2);
    const tomorrow = decide(
      inputs(observation(10, 600), { settings: s, state: second.nextState, nowMs: T0 + DAY + 30_000 }),
    );
    // Only the 30 s after midnight belong to the new day.
    expect(tomorrow.nextState.periodStartMs).toBe(T0 + DAY);
    expect(tomorrow.nextState.spendUsd).toBeCloseTo((10 * serverUsdPerMinute + 2 * proxyUsdPerMinute + 0.001) / 2, 12);
  });

  it('bills newly started tasks at least one minute', () => {
    const first = decide(inputs(observation(10, 600)));
    const soon = decide(inputs(observation(10, 600), { state: first.nextState, nowMs: T0 + 10 * HOUR + 10_000 }));
    const tenSeconds = (10 * serverUsdPerMinute + 2 * proxyUsdPerMinute) / 6;
    expect(soon.nextState.spendUsd).toBeCloseTo(tenSeconds, 12);
    // The policy asked for 12 more; ten seconds later they have cost a full minute each.
    const grown = decide(inputs(observation(10, 1_300), { state: soon.nextState, nowMs: T0 + 10 * HOUR + 20_000 }));
    expect(grown.services.servers.desiredCount).toBe(22);
    const later = decide(
      inputs(observation(22, 1_300, { pendingCount: 0 }), { state: grown.nextState, nowMs: T0 + 10 * HOUR + 30_000 }),
    );
    const accrued = later.nextState.spendUsd - grown.nextState.spendUsd;
    // 22 tasks for 10 s, the 12 new ones topped up to a minute each, and the proxy's 2 for 10 s.
    expect(accrued).toBeCloseTo(
      ((22 * 10 + 12 * 50) / 60) * serverUsdPerMinute + ((2 * 10) / 60) * proxyUsdPerMinute,
      12,
    );
  });

  it('the next state survives a JSON round trip and is checked on the way back', () => {
    const { state } = run([600, 1_300, 1_300], 10);
    const item = JSON.parse(JSON.stringify(state));
    expect(parseState(item)).toEqual(state);
    expect(() => parseState({ ...item, version: -1 })).toThrow(/version/);
    expect(() => parseState({ ...item, format: 2 })).toThrow(/format/);
  });
});

describe('autoscaler policy: budget', () => {
  const minimumPerMinute = 2 * serverUsdPerMinute + 2 * proxyUsdPerMinute;

  it('minimumSpendForPeriod is the minimum counts and the overhead for the longest period', () => {
    expect(minimumSpendForPeriod(settings())).toBeCloseTo(minimumPerMinute * 1_440, 10);
    expect(minimumSpendForPeriod(settings({ budgetPeriod: 'month', fixedOverheadUsdPerHour: 1 }))).toBeCloseTo(
      (minimumPerMinute * 60 + 1) * 24 * 31,
      8,
    );
  });

  it.each([
    // Half a task-minute cannot pay one more task for the two ticks the hard cap covers.
    { when: 'at the start of the period', nowMs: T0, spent: 0, extraMinutes: 0.5, want: 2, kind: 'budgetHardCap' },
    // 3 extra tasks' worth for the 12 hours left: spread evenly (no history), not spent now.
    {
      when: 'in the middle of the period',
      nowMs: T0 + 12 * HOUR,
      spent: 1,
      extraMinutes: 3 * 12 * 60,
      want: 5,
      kind: 'budgetRation',
    },
    // Two minutes left and 20 task-minutes: 10 extra tasks for each (hard cap and ration agree).
    {
      when: 'at the end of the period',
      nowMs: T0 + DAY - 2 * MINUTE,
      spent: 1,
      extraMinutes: 20,
      want: 12,
      kind: 'budgetHardCap',
    },
  ])('exhausted $when: capped at what is left after the minimums', ({ nowMs, spent, extraMinutes, want, kind }) => {
    // Left: the minimums to the end of the day, plus `extraMinutes` of one server task.
    const leftMs = T0 + DAY - nowMs;
    const budgetUsd = spent + (minimumPerMinute * leftMs) / MINUTE + extraMinutes * serverUsdPerMinute;
    const s = settings({ budgetUsd });
    const state = decide(inputs(observation(20, 1_200), { settings: s, nowMs: nowMs - MINUTE })).nextState;
    const decision = decide(
      inputs(observation(20, 6_000), { settings: s, nowMs, state: { ...state, spendUsd: spent, lastTickMs: nowMs } }),
    );
    const servers = decision.services.servers;
    expect(servers.desiredCount).toBe(want);
    expect(servers.budgetLimited).toBe(true);
    expect(servers.clamps.at(-1)?.kind).toBe(kind);
    expect(servers.reason).toMatch(/BUDGET LIMITED/);
  });

  it('minimum counts above the budget: stays at the minimum, says so', () => {
    const s = settings({ budgetUsd: 0.01 });
    const decision = decide(inputs(observation(20, 1_200), { settings: s }));
    expect(decision.services.servers.desiredCount).toBe(2);
    expect(decision.services.servers.budgetLimited).toBe(true);
    expect(decision.budget.belowMinimum).toBe(true);
    expect(() => parseSettings({ ...s, budgetUsd: 0.01 })).toThrow(/budgetUsd: 0.01 is below/);
  });

  it('rations the money by the forecast: a peak ahead gets its share instead of the first hours taking all', () => {
    const nowMs = T0 + 6 * HOUR;
    // The minimums plus 50 server task-hours. At the SLO line (80 rps a task) the rest of the day
    // needs 1.75 extra tasks for 17 h and the 09:00 peak 35.5 for an hour: the water level is 20.25.
    const budgetUsd = minimumPerMinute * 18 * 60 + 50 * 60 * serverUsdPerMinute;
    const s = settings({ budgetUsd, budgetPeriod: 'day' });
    const history = peakHistory(nowMs);
    const early = decide(inputs(observation(2, 3_000), { settings: s, nowMs, history })).services.servers;
    // The load asks for 8 this tick (2 x 2 + 4): the plan funds it up to the SLO line, 3000 / 80 ... capped
    // by what the tick asked, 8 x 60 / 80 = 6, and keeps the headroom money for the peak.
    expect(early.budgetLimited).toBe(true);
    expect(early.clamps.at(-1)?.kind).toBe('budgetRation');
    expect(early.desiredCount).toBe(6);
  });

  it('the proxy keeps its minimum before the servers grow', () => {
    const s = settings({ budgetUsd: minimumPerMinute * 1_440 * 1.001 });
    const decision = decide(inputs(observation(2, 6_000), { settings: s, nowMs: T0 + HOUR }));
    expect(decision.services.proxy.desiredCount).toBe(2);
    expect(decision.services.servers.desiredCount).toBeLessThan(6);
  });
});

describe('water-filling and plan slices', () => {
  it('cuts every slice to the same level', () => {
    const weights = [1, 2, 3, 4];
    const demands = [5, 1, 7, 2];
    expect(waterLevel(weights, demands, 20)).toBeCloseTo(2.5, 12);
    expect(filledAt(weights, demands, 2.5)).toBeCloseTo(20, 12);
    expect(waterLevel(weights, demands, 36)).toBe(Number.POSITIVE_INFINITY);
    expect(waterLevel(weights, demands, 0)).toBe(0);
  });

  it('spreads a period over the slices of the day', () => {
    const w = sliceWeights(T0 + 23 * HOUR, T0 + 2 * DAY + HOUR, 6 * HOUR);
    expect(Array.from(w)).toEqual([DAY / 4 + HOUR, DAY / 4, DAY / 4, DAY / 4 + HOUR]);
  });
});
