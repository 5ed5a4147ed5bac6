/**
 * Deployment settings: the `ringmaster` context in cdk.json. The CDK app
 * validates them at synth and the autoscaler Lambda re-validates the same
 * JSON (RINGMASTER_CONFIG) at cold start with this one schema, so the two can
 * never disagree about what a setting means.
 */
import { z } from 'zod';
import { STRATEGY_NAMES } from '../balancing/strategies.js';
import { perTaskAddOnUsdPerHour } from '../pricing/deployment-cost.js';
import { type CpuArchitecture, taskHourlyUsd } from '../pricing/fargate.js';
import { parseKeySource } from '../routing/key-source.js';
import { tunnelSettingsProblems } from './proxy-timeouts.js';

/** Fargate's valid cpu units; memory must suit the cpu (checked below). */
const FARGATE_CPU = [256, 512, 1024, 2048, 4096] as const;
type FargateCpu = (typeof FARGATE_CPU)[number];

/** `first`, `first + step`, ..., `last`. */
function steps(first: number, last: number, step: number): number[] {
  return Array.from({ length: (last - first) / step + 1 }, (_, i) => first + i * step);
}

/**
 * Fargate's memory sizes (MiB) for each cpu size, as AWS accepts them for a
 * Linux task: any other pair passes synth and fails at task registration.
 */
export const FARGATE_MEMORY_MIB: Readonly<Record<FargateCpu, readonly number[]>> = {
  256: [512, 1024, 2048],
  512: steps(1024, 4096, 1024),
  1024: steps(2048, 8192, 1024),
  2048: steps(4096, 16384, 1024),
  4096: steps(8192, 30720, 1024),
};

/** "512, 1024 or 2048" or "1024 to 4096 in steps of 1024". */
function describeSizes(sizes: readonly number[]): string {
  const [first, second] = sizes;
  const last = sizes[sizes.length - 1];
  if (sizes.length <= 3) return `${sizes.slice(0, -1).join(', ')} or ${last}`;
  return `${first} to ${last} in steps of ${(second ?? 0) - (first ?? 0)}`;
}

/** Every cpu size's memory choices, for the error message. */
const FARGATE_SIZES_TEXT = FARGATE_CPU.map((cpu) => `cpu ${cpu}: ${describeSizes(FARGATE_MEMORY_MIB[cpu])}`).join('; ');
const ARCHITECTURES = ['arm64', 'x86_64'] as const satisfies readonly CpuArchitecture[];
const BUDGET_PERIODS = ['day', 'week', 'month'] as const;
export type BudgetPeriod = (typeof BUDGET_PERIODS)[number];

/**
 * The services' deployment ceiling (ECS maxHealthyPercent): a rolling deploy
 * may run up to this percentage of a service's count while it replaces
 * tasks. The autoscaler's hard cap reserves that surge, so the two must
 * agree: infra/constructs/fargate-tier.ts sets the services from this.
 */
export const DEPLOY_MAX_HEALTHY_PERCENT = 200;

/** Files a Fargate container may open: its default nofile limit, which the stacks do not raise. */
export const FARGATE_NOFILE_LIMIT = 65_535;
/** Of those, what a proxy keeps for everything but tunnels: listeners, client and upstream connections, AWS calls. */
export const PROXY_FILES_FOR_REQUESTS = 5535;
/** Each tunnel holds two sockets (the client's and the server's): the most a proxy task can carry. */
export const MAX_TUNNELS_PER_PROXY_TASK = (FARGATE_NOFILE_LIMIT - PROXY_FILES_FOR_REQUESTS) / 2;

/** Hours in the longest period of each kind: a budget must pay the minimum fleet for all of it. */
export const LONGEST_PERIOD_HOURS: Readonly<Record<BudgetPeriod, number>> = { day: 24, week: 168, month: 31 * 24 };

/** A whole number in [min, max], whose every failure names the range. */
function int(min: number, max: number) {
  const error = `expected a whole number from ${min} to ${max}`;
  return z.number({ error }).int({ error }).min(min, { error }).max(max, { error });
}

/** A number in [min, max], whose every failure names the range. */
function num(min: number, max: number) {
  const error = `expected a number from ${min} to ${max}`;
  return z.number({ error }).min(min, { error }).max(max, { error });
}

function oneOf<const T extends readonly [string, ...string[]]>(values: T) {
  return z.enum(values, { error: `expected one of ${values.map((v) => JSON.stringify(v)).join(', ')}` });
}

/** A container image reference: registry/repository[:tag][@digest]. */
const imageUri = z
  .string()
  .regex(/^[a-z0-9][a-z0-9.\-_/:@]*$/i, { error: 'expected an image URI such as public.ecr.aws/org/repo:tag' })
  .optional();

const task = {
  cpu: z.union(FARGATE_CPU.map((c) => z.literal(c)) as [z.ZodLiteral<256>, ...z.ZodLiteral<number>[]], {
    error: `expected one of ${FARGATE_CPU.join(', ')}`,
  }),
  memoryMiB: int(512, 30720),
  architecture: oneOf(ARCHITECTURES),
  /** The load one task is sized for; the autoscaler divides the request rate by it. */
  targetRequestsPerTaskPerSecond: num(1, 1_000_000),
  /**
   * The rate at which one task starts to miss the p99 SLO (above the target,
   * which keeps headroom). When the budget binds, the autoscaler funds every
   * minute up to this rate before it buys any headroom. Absent: the target
   * × SLO_RATE_OVER_TARGET (4/3: the target is 75% of the SLO rate).
   */
  sloRequestsPerTaskPerSecond: num(1, 1_000_000).optional(),
  targetCpuPercent: num(1, 100),
  /** A prebuilt image; when absent, a real deployment builds the tier's Dockerfile. */
  image: imageUri,
};

const rates = z.object({ vcpuHourUsd: num(0, 10), gbHourUsd: num(0, 10) }).strict();

export const deploymentConfig = z
  .object({
    envName: z.string().regex(/^[a-z][a-z0-9-]{0,15}$/, { error: 'expected 1-16 lower-case letters, digits or "-"' }),
    proxy: z
      .object({
        minCount: int(1, 100),
        /** The count the service starts with; the autoscaler moves it within minCount..maxCount. */
        desiredCount: int(1, 100),
        maxCount: int(1, 100),
        strategy: oneOf(STRATEGY_NAMES),
        /** Parsed by the proxy's own parser, so a bad key fails `cdk synth`, not a task start. */
        hashKey: z.string().superRefine((text, ctx) => {
          try {
            parseKeySource(text);
          } catch (err) {
            ctx.addIssue({ code: 'custom', message: (err as Error).message });
          }
        }),
        /**
         * A tunnel (WebSocket or other upgrade) with no bytes either way for this long is closed.
         * The load balancer's idle timeout is raised to at least this (proxy-timeouts.ts).
         */
        tunnelIdleTimeoutSeconds: int(1, 86_400).default(300),
        /** Open tunnels one proxy carries; beyond it a new upgrade gets 503 with Retry-After. 0: none. */
        maxTunnels: int(0, 1_000_000).default(10_000),
        /** On SIGTERM or /rm, open tunnels get this long before they are closed. */
        tunnelDrainSeconds: int(0, 3600).default(20),
        ...task,
      })
      .strict(),
    servers: z
      .object({
        minCount: int(1, 1000),
        maxCount: int(1, 1000),
        initialCount: int(1, 1000),
        ...task,
      })
      .strict(),
    autoscaler: z
      .object({
        scheduleMinutes: int(1, 60),
        budgetUsd: num(1, 1_000_000),
        budgetPeriod: oneOf(BUDGET_PERIODS),
        /** Spend that does not scale with tasks (load balancer, public addresses, dashboards), per hour. */
        fixedOverheadUsdPerHour: num(0, 1000),
        p99SloMs: int(1, 60_000),
        /** Dead band around the target: no change while load is within ±tolerance of it. */
        tolerance: num(0, 1),
        scaleOutFactor: num(1, 10),
        scaleOutStep: int(1, 1000),
        scaleInWindowMinutes: int(1, 1440),
        scaleInAfterScaleOutMinutes: int(0, 1440),
        taskStartMinutes: int(0, 60),
        /**
         * Share of the budget, in percent, the autoscaler's caps keep unspent: room for what
         * its ledger cannot see exactly, so a small under-count is not an overspend.
         */
        budgetSafetyMarginPercent: num(0, 50).default(1),
        /**
         * Minutes without a committed autoscaler tick after which the failsafe sets both tiers
         * to their minimum counts; the hard cap pays the counts it allows for this long.
         */
        failsafeAfterMinutes: int(2, 120).default(10),
      })
      .strict(),
    pricing: z
      .object({
        region: z.string().regex(/^[a-z]{2}(-[a-z]+)+-\d$/, { error: 'expected an AWS region such as us-east-1' }),
        arm64: rates,
        x86_64: rates,
      })
      .strict(),
    monitoring: z
      .object({
        alarmEmail: z.email({ error: 'expected an email address' }).optional(),
        metricsNamespace: z
          .string()
          .regex(/^[A-Za-z0-9._/#-]{1,255}$/, {
            error: 'expected a CloudWatch namespace (1-255 of A-Z a-z 0-9 . _ / # -)',
          })
          .refine((ns) => !ns.startsWith('AWS/'), { error: 'must not start with "AWS/" (reserved)' }),
      })
      .strict(),
    /** Keep the tables on `cdk destroy` and refuse their deletion; off for throwaway test deployments. */
    deletionProtection: z.boolean({ error: 'expected true or false' }),
    /**
     * Mount the sharded records API (/init, /write, /read, …) on the deployed proxies: they and the
     * servers then get the ShardT, MapT and Records tables and their grants. Off by default.
     */
    recordsApi: z.boolean({ error: 'expected true or false' }).default(false),
    /** NAT gateways for the VPC; 0 puts tasks in public subnets with public addresses. */
    natGateways: int(0, 2),
    /** An ACM certificate in the deployment's region: HTTPS on 443, and port 80 redirects to it. Absent: plain HTTP on 80. */
    certificateArn: z
      .string()
      .regex(/^arn:aws[a-z-]*:acm:[a-z]{2}(-[a-z]+)+-\d:\d{12}:certificate\/[0-9a-f-]{36}$/, {
        error: 'expected an ACM certificate ARN such as arn:aws:acm:us-east-1:123456789012:certificate/<uuid>',
      })
      .optional(),
  })
  .strict()
  .superRefine((c, ctx) => {
    for (const part of ['proxy', 'servers'] as const) {
      const tier = c[part];
      const initialKey = part === 'proxy' ? 'desiredCount' : 'initialCount';
      const initial = part === 'proxy' ? c.proxy.desiredCount : c.servers.initialCount;
      if (tier.minCount > tier.maxCount) {
        ctx.addIssue({ code: 'custom', path: [part, 'minCount'], message: `must not exceed ${part}.maxCount` });
      }
      if ((tier.sloRequestsPerTaskPerSecond ?? Number.POSITIVE_INFINITY) < tier.targetRequestsPerTaskPerSecond) {
        ctx.addIssue({
          code: 'custom',
          path: [part, 'sloRequestsPerTaskPerSecond'],
          message: `must not be below ${part}.targetRequestsPerTaskPerSecond`,
        });
      }
      if (initial < tier.minCount || initial > tier.maxCount) {
        ctx.addIssue({ code: 'custom', path: [part, initialKey], message: 'must lie within minCount..maxCount' });
      }
      const { cpu, memoryMiB } = tier;
      const sizes = FARGATE_MEMORY_MIB[cpu as FargateCpu];
      if (!sizes.includes(memoryMiB)) {
        ctx.addIssue({
          code: 'custom',
          path: [part, 'memoryMiB'],
          message:
            `${memoryMiB} MiB is not a Fargate size for cpu ${cpu}: expected ${describeSizes(sizes)} MiB ` +
            `(Fargate's sizes: ${FARGATE_SIZES_TEXT})`,
        });
      }
    }
    if (c.proxy.maxTunnels > MAX_TUNNELS_PER_PROXY_TASK) {
      ctx.addIssue({
        code: 'custom',
        path: ['proxy', 'maxTunnels'],
        message:
          `must be at most ${MAX_TUNNELS_PER_PROXY_TASK}: each tunnel holds two sockets, and a Fargate container ` +
          `may open ${FARGATE_NOFILE_LIMIT} files (its default nofile limit), ${PROXY_FILES_FOR_REQUESTS} of them ` +
          `kept for the proxy's other connections; add proxies for more tunnels`,
      });
    }
    for (const { field, message } of tunnelSettingsProblems(c.proxy)) {
      ctx.addIssue({ code: 'custom', path: ['proxy', field], message });
    }
    if (c.autoscaler.failsafeAfterMinutes < 2 * c.autoscaler.scheduleMinutes) {
      ctx.addIssue({
        code: 'custom',
        path: ['autoscaler', 'failsafeAfterMinutes'],
        message: `must be at least two ticks (${2 * c.autoscaler.scheduleMinutes} minutes at scheduleMinutes ${c.autoscaler.scheduleMinutes}): one late tick must not trip the failsafe`,
      });
    }
    const floor = minimumBudgetUsd(c);
    const spendable = c.autoscaler.budgetUsd * (1 - c.autoscaler.budgetSafetyMarginPercent / 100);
    if (spendable < floor) {
      const hours = LONGEST_PERIOD_HOURS[c.autoscaler.budgetPeriod];
      ctx.addIssue({
        code: 'custom',
        path: ['autoscaler', 'budgetUsd'],
        message:
          `must be at least ${floor.toFixed(2)} USD per ${c.autoscaler.budgetPeriod} after the ` +
          `${c.autoscaler.budgetSafetyMarginPercent}% safety margin: ` +
          `${c.proxy.minCount} proxies and ${c.servers.minCount} servers (the minimum counts) plus the fixed overhead ` +
          `cost that much over ${hours} h`,
      });
    }
  });

export type DeploymentConfig = z.infer<typeof deploymentConfig>;

/** What the minimum fleet plus the fixed overhead costs over the longest period of the budget's kind. */
export function minimumBudgetUsd(
  c: Pick<DeploymentConfig, 'proxy' | 'servers' | 'autoscaler' | 'pricing' | 'natGateways'>,
): number {
  const addOn = perTaskAddOnUsdPerHour(c.natGateways);
  const hourly =
    (taskHourlyUsd(c.proxy, c.pricing) + addOn) * c.proxy.minCount +
    (taskHourlyUsd(c.servers, c.pricing) + addOn) * c.servers.minCount +
    c.autoscaler.fixedOverheadUsdPerHour;
  return hourly * LONGEST_PERIOD_HOURS[c.autoscaler.budgetPeriod];
}

/** Parses the settings, naming every bad one as `ringmaster.<path>: reason`. */
export function parseDeploymentConfig(value: unknown): DeploymentConfig {
  const result = deploymentConfig.safeParse(value);
  if (result.success) return result.data;
  const lines = result.error.issues.map((i) => `ringmaster.${i.path.join('.')}: ${i.message}`);
  throw new Error(`invalid cdk.json context:\n  ${lines.join('\n  ')}`, { cause: result.error });
}
