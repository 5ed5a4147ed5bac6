import { z } from 'zod';
import { STRATEGY_NAMES } from '#core/balancing/strategies.js';
import { parseKeySource } from '#core/routing/key-source.js';

/** Fargate's valid cpu units; memory must suit the cpu (checked below). */
const FARGATE_CPU = [256, 512, 1024, 2048, 4096] as const;

const task = {
  cpu: z.union(FARGATE_CPU.map((c) => z.literal(c)) as [z.ZodLiteral<256>, ...z.ZodLiteral<number>[]], {
    error: `expected one of ${FARGATE_CPU.join(', ')}`,
  }),
  memoryMiB: z.number().int().min(512).max(30720),
};

/** Deployment settings, from cdk.json's `ringmaster` context. */
export const ringmasterConfig = z
  .object({
    envName: z.string().regex(/^[a-z][a-z0-9-]{0,15}$/, { error: 'expected 1-16 lower-case letters, digits or "-"' }),
    proxy: z
      .object({
        desiredCount: z.number().int().min(1).max(100),
        strategy: z.enum(STRATEGY_NAMES),
        /** Parsed by the proxy's own parser, so a bad key fails `cdk synth`, not a task start. */
        hashKey: z.string().superRefine((text, ctx) => {
          try {
            parseKeySource(text);
          } catch (err) {
            ctx.addIssue({ code: 'custom', message: (err as Error).message });
          }
        }),
        ...task,
      })
      .strict(),
    servers: z
      .object({
        minCount: z.number().int().min(1),
        maxCount: z.number().int().min(1).max(1000),
        initialCount: z.number().int().min(1),
        ...task,
      })
      .strict(),
  })
  .strict()
  .superRefine((c, ctx) => {
    if (c.servers.minCount > c.servers.maxCount) {
      ctx.addIssue({ code: 'custom', path: ['servers', 'minCount'], message: 'must not exceed servers.maxCount' });
    }
    if (c.servers.initialCount < c.servers.minCount || c.servers.initialCount > c.servers.maxCount) {
      ctx.addIssue({
        code: 'custom',
        path: ['servers', 'initialCount'],
        message: 'must lie within minCount..maxCount',
      });
    }
    for (const part of ['proxy', 'servers'] as const) {
      const { cpu, memoryMiB } = c[part];
      // Fargate: memory between 2x and 8x the vCPU count in GiB (0.5 GiB minimum at 0.25 vCPU).
      const vcpu = cpu / 1024;
      const min = Math.max(512, vcpu * 2 * 1024);
      const max = Math.max(2048, vcpu * 8 * 1024);
      if (memoryMiB < min || memoryMiB > max) {
        ctx.addIssue({
          code: 'custom',
          path: [part, 'memoryMiB'],
          message: `must be ${min}..${max} MiB for cpu ${cpu}`,
        });
      }
    }
  });

export type RingmasterConfig = z.infer<typeof ringmasterConfig>;

/** Parses the context, naming every bad setting as `ringmaster.<path>: reason`. */
export function parseRingmasterConfig(context: unknown): RingmasterConfig {
  const result = ringmasterConfig.safeParse(context);
  if (result.success) return result.data;
  const lines = result.error.issues.map((i) => `ringmaster.${i.path.join('.')}: ${i.message}`);
  throw new Error(`invalid cdk.json context:\n  ${lines.join('\n  ')}`, { cause: result.error });
}
