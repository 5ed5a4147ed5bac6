/** What a replay is judged on, over the trace's scored minutes. */
import type { SimConfig } from './config.js';
import type { ReplayResult } from './model.js';
import type { Trace } from './trace.js';

export interface Score {
  /** Minutes whose utilisation of running capacity exceeded the SLO line (80%). */
  readonly sloViolationMinutes: number;
  /** Share of requests that arrived above 80% of running capacity. */
  readonly overSloRequestFraction: number;
  /** Servers, the proxy at its minimum, and the fixed overhead. */
  readonly dollars: number;
  /** Billed server task-minutes over those a clairvoyant tracker at the target would run (max(min, ceil(rps / target))). */
  readonly overProvisioningRatio: number;
  /** Ticks that changed the server count, per hour. */
  readonly scaleEventsPerHour: number;
  /** Scale events that went the other way from the one before, per hour. */
  readonly reversalsPerHour: number;
  /** Worst, over the trace's load steps, of minutes from the step to a tick asking for enough tasks (null: no steps). */
  readonly stepReactionMinutes: number | null;
  /** The same, counted in ticks from the first tick whose metrics show the step (that tick counts as 1). */
  readonly stepReactionTicks: number | null;
}

const round = (x: number, digits = 4) => Math.round(x * 10 ** digits) / 10 ** digits;

/** Tasks enough for a load: utilisation at or under the SLO line. */
export function enoughTasks(rps: number, config: SimConfig): number {
  return Math.ceil(rps / (config.taskCapacityRps * config.sloUtilization) - 1e-9);
}

export function score(trace: Trace, result: ReplayResult, config: SimConfig): Score {
  const from = trace.scoreFromMinute;
  const minutes = trace.rps.length;
  const { servers } = config.settings.services;
  let violations = 0;
  let requests = 0;
  let overRequests = 0;
  let dollars = 0;
  let billed = 0;
  let ideal = 0;
  let events = 0;
  let reversals = 0;
  let lastDirection = 0;
  for (let m = from; m < minutes; m++) {
    const rps = result.rps[m] ?? 0;
    const line = (result.running[m] ?? 0) * config.taskCapacityRps * config.sloUtilization;
    if (rps > line) violations++;
    requests += rps;
    overRequests += Math.max(0, rps - line);
    dollars += result.dollars[m] ?? 0;
    billed += result.billed[m] ?? 0;
    ideal += Math.max(servers.minCount, Math.ceil(rps / servers.targetRequestsPerTaskPerSecond - 1e-9));
    const change = (result.desired[m] ?? 0) - (m > 0 ? (result.desired[m - 1] ?? 0) : (result.desired[m] ?? 0));
    if (change !== 0) {
      events++;
      const direction = Math.sign(change);
      if (lastDirection !== 0 && direction !== lastDirection) reversals++;
      lastDirection = direction;
    }
  }
  const hours = (minutes - from) / 60;
  let worstMinutes: number | null = null;
  let worstTicks: number | null = null;
  for (const step of trace.steps) {
    const enough = enoughTasks(trace.rps[step] ?? 0, config);
    let reached = minutes;
    for (let m = step; m < minutes; m++) {
      if ((result.desired[m] ?? 0) >= enough) {
        reached = m;
        break;
      }
    }
    const visible = step + 1 + config.metricDelayMinutes;
    worstMinutes = Math.max(worstMinutes ?? 0, reached - step);
    worstTicks = Math.max(worstTicks ?? 0, Math.max(0, reached - visible + 1));
  }
  return {
    sloViolationMinutes: violations,
    overSloRequestFraction: round(requests > 0 ? overRequests / requests : 0, 5),
    dollars: round(dollars, 3),
    overProvisioningRatio: round(ideal > 0 ? billed / ideal : 0, 3),
    scaleEventsPerHour: round(hours > 0 ? events / hours : 0, 2),
    reversalsPerHour: round(hours > 0 ? reversals / hours : 0, 2),
    stepReactionMinutes: worstMinutes,
    stepReactionTicks: worstTicks,
  };
}
