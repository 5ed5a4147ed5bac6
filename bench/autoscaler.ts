/**
 * `npm run bench:autoscaler -- --json`: replays load traces through a model
 * of the server tier (functions/autoscaler/sim) under six policies and
 * scores each; `--trace FILE` replays a `minute,rps` CSV instead of the
 * built-in traces. `--replays N` sets the randomised budget replays (1,000).
 * The model sizes one tier, the servers; the proxy tier stays at its minimum
 * (billed, like the fixed overhead, in every policy's dollars).
 * `faults.<name>.maxSpendOverBudget`: the worst spend ÷ budget over
 * randomized tight-budget replays with each fault injected
 * (functions/autoscaler/sim/faults.ts; `--fault-replays N`, 100). With
 * `--trace`, `--faults a,b` injects faults into that replay and
 * `--budget-fraction F` gives it a budget of F × what targetTracking spends
 * on it unconstrained (reported as budgetUsd).
 * `handlerCost` is the real handler's duration and AWS calls per tick on
 * the emulator (MiniStack, or AWS_ENDPOINT_URL); `--no-handler` skips it.
 */
import { readFileSync } from 'node:fs';
import { basename } from 'node:path';
import { defaultSimConfig, type SimConfig } from '#functions/autoscaler/sim/config.js';
import {
  combineFaults,
  FAULT_NAMES,
  type FaultName,
  type FaultResult,
  faultAt,
  faultReplays,
} from '#functions/autoscaler/sim/faults.js';
import { type PolicyFactory, type ReplayOptions, replay } from '#functions/autoscaler/sim/model.js';
import { hpa } from '#functions/autoscaler/sim/policies/hpa.js';
import { naiveCap } from '#functions/autoscaler/sim/policies/naive-cap.js';
import { predictive } from '#functions/autoscaler/sim/policies/predictive.js';
import { ringmaster } from '#functions/autoscaler/sim/policies/ringmaster.js';
import { targetTracking } from '#functions/autoscaler/sim/policies/target-tracking.js';
import { threshold } from '#functions/autoscaler/sim/policies/threshold.js';
import { randomizedReplays } from '#functions/autoscaler/sim/randomized.js';
import { type Score, score } from '#functions/autoscaler/sim/score.js';
import {
  noisySteady,
  parseTraceCsv,
  spikes,
  step5x,
  type Trace,
  weeklyDiurnal,
} from '#functions/autoscaler/sim/trace.js';
import { measureHandlerCost } from './lib/handler-cost.js';

const POLICIES = { threshold, hpa, targetTracking, predictive, naiveCap, ringmaster } satisfies Record<
  string,
  PolicyFactory
>;
type PolicyName = keyof typeof POLICIES;

const SEED = 20_260_105;
const DEFAULT_REPLAYS = 1_000;
/** Randomized replays per fault (`--fault-replays N`). */
const DEFAULT_FAULT_REPLAYS = 100;
/** Handler invocations timed against the emulator (after one untimed cold start). */
const HANDLER_TICKS = 30;
/** tightBudget's budget: this share of what targetTracking spends on the same days unconstrained. */
const TIGHT_BUDGET_SHARE = 0.7;

/** `--faults a,b` as fault names, or undefined after naming the unknown one. */
function parseFaultList(value: string | undefined): FaultName[] | undefined {
  if (value === undefined || value === '') return [];
  const names = value.split(',').map((n) => n.trim());
  const unknown = names.filter((n) => !(FAULT_NAMES as readonly string[]).includes(n));
  if (unknown.length > 0) {
    process.stderr.write(`--faults: unknown ${unknown.join(', ')}; expected some of ${FAULT_NAMES.join(', ')}\n`);
    process.exitCode = 1;
    return undefined;
  }
  return names as FaultName[];
}

function argValue(flag: string): string | undefined {
  const i = process.argv.indexOf(flag);
  return i >= 0 ? process.argv[i + 1] : undefined;
}

const round = (x: number, digits = 4) => Math.round(x * 10 ** digits) / 10 ** digits;

interface TraceReport {
  budgetUsd?: number;
  policies: Record<PolicyName, Score>;
}

function runAll(trace: Trace, config: SimConfig, options: ReplayOptions = {}): Record<PolicyName, Score> {
  const out = {} as Record<PolicyName, Score>;
  for (const [name, factory] of Object.entries(POLICIES) as [PolicyName, PolicyFactory][]) {
    out[name] = score(trace, replay(trace, factory, config, options), config);
  }
  return out;
}

/** The CSV trace, or undefined after telling the user which line is wrong and why. */
function loadCsvTrace(file: string): Trace | undefined {
  try {
    return parseTraceCsv(readFileSync(file, 'utf8'), basename(file).replace(/\.[^.]*$/, ''));
  } catch (err) {
    process.stderr.write(`--trace ${file}: ${(err as Error).message}\n`);
    process.exitCode = 1;
    return undefined;
  }
}

interface Target {
  met: boolean;
  [figure: string]: number | boolean | null;
}

function targetsFor(
  traces: Record<string, TraceReport>,
  maxSpendOverBudget: number,
  faults?: Record<FaultName, FaultResult>,
): Record<string, Target> {
  const targets: Record<string, Target> = {};
  const d = traces.diurnal?.policies;
  if (d) {
    const rm = d.ringmaster;
    targets.diurnal = {
      met:
        rm.sloViolationMinutes <= 0.5 * d.targetTracking.sloViolationMinutes &&
        rm.sloViolationMinutes <= d.hpa.sloViolationMinutes &&
        rm.sloViolationMinutes <= d.predictive.sloViolationMinutes &&
        rm.dollars <= 1.05 * d.targetTracking.dollars,
      ringmasterSloViolationMinutes: rm.sloViolationMinutes,
      halfTargetTrackingSloViolationMinutes: 0.5 * d.targetTracking.sloViolationMinutes,
      hpaSloViolationMinutes: d.hpa.sloViolationMinutes,
      predictiveSloViolationMinutes: d.predictive.sloViolationMinutes,
      ringmasterDollars: rm.dollars,
      maxDollars: round(1.05 * d.targetTracking.dollars, 3),
    };
  }
  const s = traces.step5x?.policies.ringmaster;
  if (s)
    targets.step5x = {
      met: (s.stepReactionTicks ?? Number.POSITIVE_INFINITY) <= 2,
      ticks: s.stepReactionTicks,
      maxTicks: 2,
    };
  const sp = traces.spikes?.policies;
  if (sp)
    targets.spikes = {
      met: sp.ringmaster.dollars <= sp.hpa.dollars && sp.ringmaster.sloViolationMinutes <= sp.hpa.sloViolationMinutes,
      ringmasterDollars: sp.ringmaster.dollars,
      hpaDollars: sp.hpa.dollars,
      ringmasterSloViolationMinutes: sp.ringmaster.sloViolationMinutes,
      hpaSloViolationMinutes: sp.hpa.sloViolationMinutes,
    };
  const n = traces.noisySteady?.policies.ringmaster;
  if (n) targets.noisySteady = { met: n.scaleEventsPerHour <= 1, scaleEventsPerHour: n.scaleEventsPerHour, max: 1 };
  const t = traces.tightBudget;
  if (t?.budgetUsd !== undefined) {
    const rm = t.policies.ringmaster;
    const naive = t.policies.naiveCap;
    targets.tightBudget = {
      met: rm.dollars <= t.budgetUsd && rm.overSloRequestFraction <= 0.7 * naive.overSloRequestFraction,
      ringmasterDollars: rm.dollars,
      budgetUsd: t.budgetUsd,
      ringmasterOverSloRequestFraction: rm.overSloRequestFraction,
      maxOverSloRequestFraction: round(0.7 * naive.overSloRequestFraction, 5),
    };
  }
  targets.maxSpendOverBudget = { met: maxSpendOverBudget <= 1, maxSpendOverBudget, max: 1 };
  if (faults) {
    for (const [name, f] of Object.entries(faults)) {
      targets[`faults.${name}`] = { met: f.maxSpendOverBudget <= 1, maxSpendOverBudget: f.maxSpendOverBudget, max: 1 };
    }
  }
  return targets;
}

async function main(): Promise<void> {
  const started = performance.now();
  const json = process.argv.includes('--json');
  const file = argValue('--trace');
  const replays = Number(argValue('--replays') ?? DEFAULT_REPLAYS);
  const config = defaultSimConfig();
  const traces: Record<string, TraceReport> = {};
  const faultList = parseFaultList(argValue('--faults'));
  if (faultList === undefined) return;
  const fraction = argValue('--budget-fraction');
  const budgetFraction = fraction === undefined ? undefined : Number(fraction);
  if (budgetFraction !== undefined && !(budgetFraction > 0)) {
    process.stderr.write(`--budget-fraction: expected a number above 0, got ${fraction}\n`);
    process.exitCode = 1;
    return;
  }
  if (file) {
    const trace = loadCsvTrace(file);
    if (!trace) return;
    // Faults placed a third of the way through the trace, on every policy alike.
    const faults = combineFaults(faultList.map((name) => faultAt(name, trace.rps.length, 1 / 3)));
    const withFaults: ReplayOptions = faultList.length > 0 ? { faults } : {};
    if (budgetFraction === undefined) {
      traces[trace.name] = { policies: runAll(trace, config, withFaults) };
    } else {
      // The budget: F x what targetTracking spends on this trace unconstrained, over the whole trace.
      const whole: Trace = { ...trace, scoreFromMinute: 0 };
      const unconstrained = score(whole, replay(whole, targetTracking, config), config);
      const budgetUsd = round(budgetFraction * unconstrained.dollars, 3);
      traces[trace.name] = { budgetUsd, policies: runAll(whole, config, { ...withFaults, budgetUsd }) };
    }
  } else {
    const days = weeklyDiurnal(SEED);
    for (const trace of [days, step5x(), spikes(SEED + 1), noisySteady(SEED + 2)]) {
      traces[trace.name] = { policies: runAll(trace, config) };
    }
    // The same days, scored whole, with the whole trace as the budget period.
    const tight: Trace = { ...days, name: 'tightBudget', scoreFromMinute: 0 };
    const unconstrained = score(tight, replay(tight, targetTracking, config), config);
    const budgetUsd = round(TIGHT_BUDGET_SHARE * unconstrained.dollars, 3);
    traces.tightBudget = { budgetUsd, policies: runAll(tight, config, { budgetUsd }) };
  }
  const random = randomizedReplays(SEED + 3, replays);
  const faultReplayCount = Number(argValue('--fault-replays') ?? DEFAULT_FAULT_REPLAYS);
  const faults = file ? undefined : faultReplays(SEED + 5, faultReplayCount);
  // Unrounded: a rounding to 1 must not hide 1.0000004.
  const maxSpendOverBudget = random.maxSpendOverBudget;
  // The handler's own cost needs the emulator; --no-handler leaves it out (the replays need nothing).
  const handlerCost = process.argv.includes('--no-handler')
    ? undefined
    : await measureHandlerCost(HANDLER_TICKS).catch((err: unknown) => ({
        error: `could not measure the handler on the emulator: ${err instanceof Error ? err.message : String(err)}`,
      }));
  const report = {
    model: {
      tier: 'servers (one tier); the proxy stays at its minimum and is billed, with the overhead, in dollars',
      taskCapacityRps: config.taskCapacityRps,
      targetRequestsPerTaskPerSecond: config.settings.services.servers.targetRequestsPerTaskPerSecond,
      sloUtilization: config.sloUtilization,
      metricDelayMinutes: config.metricDelayMinutes,
      taskStartMinutes: config.taskStartMinutes,
      tickMinutes: 1,
      seed: SEED,
    },
    traces: Object.fromEntries(
      Object.entries(traces).map(([name, t]) => [
        name,
        t.budgetUsd === undefined ? t.policies : { budgetUsd: t.budgetUsd, ...t.policies },
      ]),
    ),
    maxSpendOverBudget,
    randomizedReplays: { replays: random.replays, meanSpendOverBudget: round(random.meanSpendOverBudget, 4) },
    ...(faults ? { faults } : {}),
    targets: targetsFor(traces, maxSpendOverBudget, faults),
    ...(handlerCost ? { handlerCost } : {}),
    seconds: round((performance.now() - started) / 1000, 1),
  };
  process.stdout.write(json ? `${JSON.stringify(report)}\n` : `${JSON.stringify(report, null, 2)}\n`);
}

await main();
