import { z } from 'zod';
import { SERVER_ID_PATTERN, SERVER_ID_RULE } from '#core/membership/server-id.js';
import { GENERATED_NAME, hostname, scaleCount } from '../../admin/schemas.js';
import { shardDefSchema } from './init-request.js';

/**
 * The seed's shard-placing POST /add: `{"n": 2, "new_shards": [{…}], "servers":
 * {"Server4": ["sh3", "sh5"], "Server[5]": ["sh2", "sh5"]}}`: n new servers,
 * each named in `servers` with the shards it takes.
 */
export const shardAddRequest = z
  .object(
    {
      n: scaleCount,
      new_shards: z.array(shardDefSchema, { error: 'expected an array of shards' }).default([]),
      servers: z.record(
        z.string(),
        z.array(z.string({ error: 'expected a Shard_id' }), { error: 'expected an array of Shard_ids' }),
        {
          error: 'expected {"<server name>": ["<Shard_id>", …], …}',
        },
      ),
    },
    { error: 'expected a JSON object' },
  )
  .strict()
  .superRefine((body, ctx) => {
    const names = Object.keys(body.servers);
    if (names.length !== body.n) {
      ctx.addIssue({
        code: 'custom',
        path: ['n'],
        message: `is ${body.n} but servers names ${names.length} server(s); name each new server once`,
      });
    }
    for (const name of names) {
      if (!SERVER_ID_PATTERN.test(name) && !GENERATED_NAME.test(name)) {
        ctx.addIssue({
          code: 'custom',
          path: ['servers', name],
          message: `${SERVER_ID_RULE}, or Name[k] for a generated name`,
        });
      }
    }
  });
export type ShardAddRequest = z.infer<typeof shardAddRequest>;

/**
 * The seed's shard-placing DELETE /rm: `{"n": 2, "servers": ["Server4"]}`:
 * n servers go, the listed ones and as many more as the balancer picks.
 */
export const shardRemoveRequest = z
  .object(
    { n: scaleCount, servers: z.array(hostname, { error: 'expected an array of server names' }).default([]) },
    { error: 'expected a JSON object' },
  )
  .strict()
  .superRefine((body, ctx) => {
    if (body.servers.length > body.n) {
      ctx.addIssue({
        code: 'custom',
        path: ['servers'],
        message: `lists ${body.servers.length} server(s) but n is ${body.n}; list at most n (the rest are picked)`,
      });
    }
    const seen = new Set<string>();
    body.servers.forEach((name, i) => {
      if (seen.has(name)) ctx.addIssue({ code: 'custom', path: ['servers', i], message: `"${name}" is listed twice` });
      seen.add(name);
    });
  });
export type ShardRemoveRequest = z.infer<typeof shardRemoveRequest>;
