import { z } from 'zod';
import { SERVER_ID_PATTERN, SERVER_ID_RULE } from '#core/membership/server-id.js';

/** Largest change one /add or /rm may ask for; bigger steps are refused rather than queued. */
export const MAX_SCALE_STEP = 32;

export const hostname = z.string({ error: 'expected a string' }).regex(SERVER_ID_PATTERN, { error: SERVER_ID_RULE });

/** Body of POST /add and DELETE /rm, as the seed's balancers took it: {"n": 2, "hostnames": ["s4", "s5"]}. */
export const scaleRequest = z
  .object(
    {
      n: z
        .number({ error: 'expected a whole number' })
        .int({ error: 'expected a whole number' })
        .min(1, { error: 'must be at least 1' })
        .max(MAX_SCALE_STEP, { error: `must be at most ${MAX_SCALE_STEP}` }),
      hostnames: z.array(hostname, { error: 'expected an array of hostnames' }).optional(),
    },
    { error: 'expected a JSON object' },
  )
  .strict()
  .superRefine((body, ctx) => {
    const names = body.hostnames;
    if (names === undefined) return;
    // Fewer names than n is the seed's balancers' shape: the rest are filled in (generated names
    // for /add, servers the balancer picks for /rm). More names than n cannot be honoured.
    if (names.length > body.n) {
      ctx.addIssue({
        code: 'custom',
        path: ['hostnames'],
        message: `lists ${names.length} hostname(s) but n is ${body.n}; list at most n (fewer are filled in)`,
      });
      return;
    }
    const seen = new Set<string>();
    names.forEach((name, i) => {
      if (seen.has(name))
        ctx.addIssue({ code: 'custom', path: ['hostnames', i], message: `"${name}" is listed twice` });
      seen.add(name);
    });
  });
export type ScaleRequest = z.infer<typeof scaleRequest>;

export const scaleCount = z
  .number({ error: 'expected a whole number' })
  .int({ error: 'expected a whole number' })
  .min(1, { error: 'must be at least 1' })
  .max(MAX_SCALE_STEP, { error: `must be at most ${MAX_SCALE_STEP}` });

/**
 * A `servers` key of the seed's shard-placing /add: a server name, or `Name[k]`
 * asking for a generated one (Name followed by a number not in use, k if free).
 */
export const GENERATED_NAME = /^([A-Za-z0-9][A-Za-z0-9_.-]{0,50})\[(\d{1,6})\]$/;

/** Which /add or /rm a body is: the shard-placing form names `servers` or `new_shards`. */
export function isShardScaleBody(body: unknown): boolean {
  return typeof body === 'object' && body !== null && ('servers' in body || 'new_shards' in body);
}

/** Body of PUT /members/:id, sent by servers registering or renewing their lease. */
export const heartbeatRequest = z
  .object(
    {
      address: z
        .string({ error: 'expected a string' })
        .regex(/^http:\/\/[^/\s]+:\d{1,5}$/, { error: 'expected http://host:port' }),
      weight: z.number({ error: 'expected a number' }).positive({ error: 'must be positive' }).max(1000).default(1),
    },
    { error: 'expected a JSON object' },
  )
  .strict();
