import { Pool } from 'undici';

export interface LoadResult {
  readonly statuses: Map<number, number>;
  /** Requests per server id, read from the /home reply. */
  readonly servers: Map<string, number>;
  readonly failures: string[];
}

/**
 * Sends `total` GETs of `path(i)` with `concurrency` workers over keep-alive
 * connections. Bounded by count; each request has its own timeout.
 */
export async function runLoad(
  baseUrl: string,
  total: number,
  concurrency: number,
  path: (i: number) => string,
  onProgress?: (done: number) => void,
): Promise<LoadResult> {
  const pool = new Pool(baseUrl, { connections: concurrency, headersTimeout: 10_000, bodyTimeout: 10_000 });
  const statuses = new Map<number, number>();
  const servers = new Map<string, number>();
  const failures: string[] = [];
  let next = 0;
  let done = 0;
  const worker = async () => {
    while (next < total) {
      const i = next++;
      try {
        const res = await pool.request({ path: path(i), method: 'GET' });
        const text = await res.body.text();
        statuses.set(res.statusCode, (statuses.get(res.statusCode) ?? 0) + 1);
        if (res.statusCode === 200) {
          const id = /Hello from Server: ([^"]+)/.exec(text)?.[1] ?? '?';
          servers.set(id, (servers.get(id) ?? 0) + 1);
        } else {
          failures.push(`${res.statusCode} ${text}`);
        }
      } catch (err) {
        failures.push(String(err));
      }
      done++;
      onProgress?.(done);
    }
  };
  await Promise.all(Array.from({ length: concurrency }, worker));
  await pool.close();
  return { statuses, servers, failures };
}
