/**
 * Validation of settings that come from configuration: the handler calls it
 * once per cold start, and config validation can call it at synth time.
 */
import { z } from 'zod';
import { DEFAULT_FARGATE_RATES } from '#core/pricing/fargate.js';
import { minimumSpendForPeriod, spendableUsd } from './budget.js';
import { type AutoscalerSettings, POLICY_DEFAULTS } from './settings.js';

/** A setting the policy cannot work with; `issues` lists each as `path: reason`. */
export class SettingsError extends Error {
  override readonly name = 'SettingsError';
  constructor(
    message: string,
    readonly issues: readonly string[],
    options?: ErrorOptions,
  ) {
    super(message, options);
  }
}

const positive = z.number().positive();
const count = z.number().int().min(0);
const rates = z.object({ vcpuHourUsd: z.number().min(0), gbHourUsd: z.number().min(0) }).strict();

const serviceSchema = z
  .object({
    minCount: count,
    maxCount: count,
    targetRequestsPerTaskPerSecond: positive,
    sloRequestsPerTaskPerSecond: positive.optional(),
    targetCpuPercent: z.number().gt(0).max(100),
    task: z.object({ cpu: positive, memoryMiB: positive, architecture: z.enum(['x86_64', 'arm64']) }).strict(),
    perTaskAddOnUsdPerHour: z.number().min(0).optional(),
  })
  .strict()
  .refine((s) => s.minCount <= s.maxCount, { message: 'minCount must not exceed maxCount', path: ['minCount'] })
  .refine((s) => (s.sloRequestsPerTaskPerSecond ?? Number.POSITIVE_INFINITY) >= s.targetRequestsPerTaskPerSecond, {
    message: 'must not be below targetRequestsPerTaskPerSecond',
    path: ['sloRequestsPerTaskPerSecond'],
  });

const periodSchema = z.union([
  z.enum(['day', 'week', 'month']),
  z
    .object({ startMs: z.number().int(), endMs: z.number().int() })
    .strict()
    .refine((p) => p.endMs > p.startMs, { message: 'endMs must be after startMs', path: ['endMs'] }),
]);

const settingsSchema = z
  .object({
    services: z.object({ proxy: serviceSchema, servers: serviceSchema }).strict(),
    p99SloMs: positive,
    tolerance: z.number().min(0).lt(1).default(POLICY_DEFAULTS.tolerance),
    scaleOutFactor: z.number().min(1).default(POLICY_DEFAULTS.scaleOutFactor),
    scaleOutStep: count.default(POLICY_DEFAULTS.scaleOutStep),
    scaleInWindowMinutes: z.number().min(0).default(POLICY_DEFAULTS.scaleInWindowMinutes),
    scaleInAfterScaleOutMinutes: z.number().min(0).default(POLICY_DEFAULTS.scaleInAfterScaleOutMinutes),
    taskStartMinutes: z.number().min(0).default(POLICY_DEFAULTS.taskStartMinutes),
    tickMinutes: positive.default(POLICY_DEFAULTS.tickMinutes),
    budgetUsd: positive,
    budgetPeriod: periodSchema,
    budgetSafetyMargin: z.number().min(0).max(0.5).default(POLICY_DEFAULTS.budgetSafetyMargin),
    failsafeAfterMinutes: z.number().min(1).max(1440).default(POLICY_DEFAULTS.failsafeAfterMinutes),
    deploySurgeFactor: z.number().min(1).max(2).default(POLICY_DEFAULTS.deploySurgeFactor),
    fixedOverheadUsdPerHour: z.number().min(0).default(POLICY_DEFAULTS.fixedOverheadUsdPerHour),
    fargateRates: z.object({ x86_64: rates, arm64: rates }).strict().default(DEFAULT_FARGATE_RATES),
  })
  .strict();

/**
 * Validates settings from configuration, naming each bad one, e.g.
 * `services.servers.minCount: minCount must not exceed maxCount`. The budget
 * must also cover the minimum counts and the overhead for the longest period
 * of its kind (minimumSpendForPeriod): below that, no policy could keep it.
 */
export function parseSettings(input: unknown): AutoscalerSettings {
  const result = settingsSchema.safeParse(input);
  if (!result.success) {
    const issues = result.error.issues.map((i) => `${i.path.join('.') || 'settings'}: ${i.message}`);
    throw new SettingsError(`invalid autoscaler settings:\n  ${issues.join('\n  ')}`, issues, { cause: result.error });
  }
  const settings: AutoscalerSettings = result.data;
  const floor = minimumSpendForPeriod(settings);
  if (spendableUsd(settings) < floor) {
    const needed = floor / (1 - settings.budgetSafetyMargin);
    const issue = `budgetUsd: ${settings.budgetUsd} is below ${needed.toFixed(2)}: the minimum counts and the overhead cost ${floor.toFixed(2)} for a whole period, and the caps keep ${settings.budgetSafetyMargin * 100}% of the budget unspent`;
    throw new SettingsError(`invalid autoscaler settings:\n  ${issue}`, [issue]);
  }
  return settings;
}
