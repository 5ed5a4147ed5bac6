import { type IncomingMessage, request } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestProxy, type TestProxy } from '../helpers/processes.js';

/** The ICS 4104 client loop: `for i in $(seq 1 1000); do curl http://localhost:<port>/request?request_id=$i; done`. */
const REQUESTS = 1000;
/** "Sequential-ish": a few loops side by side, as students ran them from a couple of terminals. */
const LOOPS = 4;
const REQUEST_TIMEOUT_MS = 10_000;

interface Reply {
  readonly status: number;
  readonly body: string;
}

/** One request on its own connection, closed afterwards, as each curl invocation does. */
function curl(url: string): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const req = request(url, { agent: false, timeout: REQUEST_TIMEOUT_MS }, (res: IncomingMessage) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8') }));
      res.on('error', reject);
    });
    req.on('timeout', () => req.destroy(new Error(`no reply from ${url} in ${REQUEST_TIMEOUT_MS} ms`)));
    req.on('error', reject);
    req.end();
  });
}

describe("the seeds' client scripts, run as the students ran them", () => {
  let proxy: TestProxy;

  beforeAll(async () => {
    proxy = await startTestProxy({ SCALER: 'local', INITIAL_SERVERS: '3' });
  });
  afterAll(async () => {
    expect(await proxy.stop()).toBe(0);
  });

  it('ICS 4104: 1,000 requests to /request?request_id=$i through the proxy all succeed and name a server', async () => {
    const replies: Reply[] = [];
    let next = 1;
    await Promise.all(
      Array.from({ length: LOOPS }, async () => {
        while (next <= REQUESTS) {
          const i = next++;
          replies.push(await curl(`${proxy.url}/request?request_id=${i}`));
        }
      }),
    );
    expect(replies).toHaveLength(REQUESTS);
    expect(replies.filter((r) => r.status !== 200)).toEqual([]);
    const servers = new Map<string, number>();
    for (const { body } of replies) {
      const parsed = JSON.parse(body) as { message: string; status: string };
      expect(parsed.status).toBe('successful');
      const id = /^Hello from Server: (s\d+)$/.exec(parsed.message)?.[1];
      expect(id, body).toBeDefined();
      servers.set(id as string, (servers.get(id as string) ?? 0) + 1);
    }
    expect([...servers.keys()].sort()).toEqual(['s1', 's2', 's3']);
  });

  it("a path no server serves gets a 404 in the assignments' shape that names the path", async () => {
    const reply = await curl(`${proxy.url}/other?request_id=7`);
    expect(reply.status).toBe(404);
    const parsed = JSON.parse(reply.body) as { message: string; status: string };
    expect(parsed.status).toBe('failure');
    expect(parsed.message).toMatch(/^\/other not found for GET: /);
    expect(parsed.message).toContain('/request');
  });
});
