import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { fromZodError } from '#core/errors/zod-error.js';
import { scaleRequest } from '#proxy/admin/schemas.js';
import { loadProxyConfig } from '#proxy/config.js';
import { loadServerConfig } from '#server/config.js';

const TOKEN = 'x'.repeat(40);

describe('proxy configuration', () => {
  it('has working defaults: maglev with bounded load, request_id key', () => {
    const config = loadProxyConfig({ ADMIN_TOKEN: TOKEN });
    expect(config.STRATEGY).toBe('maglev-bounded');
    expect(config.keySource).toEqual({ kind: 'query', name: 'request_id' });
    expect(config.UPSTREAM_IDLE_TIMEOUT_MS).toBeLessThan(5000);
  });

  it('runs the net data plane by default, with the records API on as well, and node:http when asked', () => {
    const tables = { SHARD_TABLE: 'shards', MAP_TABLE: 'map', RECORDS_TABLE: 'records' };
    expect(loadProxyConfig({ ADMIN_TOKEN: TOKEN }).DATA_PLANE).toBe('net');
    expect(loadProxyConfig({ ADMIN_TOKEN: TOKEN, DATA_PLANE: 'http' }).DATA_PLANE).toBe('http');
    expect(loadProxyConfig({ ADMIN_TOKEN: TOKEN, ...tables }).DATA_PLANE).toBe('net');
    expect(loadProxyConfig({ ADMIN_TOKEN: TOKEN, ...tables, DATA_PLANE: 'http' }).DATA_PLANE).toBe('http');
    expect(() => loadProxyConfig({ ADMIN_TOKEN: TOKEN, DATA_PLANE: 'uws' })).toThrow(/DATA_PLANE/);
    expect(loadProxyConfig({ ADMIN_TOKEN: TOKEN }).MAX_HEADER_COUNT).toBe(100);
  });

  it('forwards through the llhttp client by default, undici when asked, and refuses anything else', () => {
    expect(loadProxyConfig({ ADMIN_TOKEN: TOKEN }).UPSTREAM_CLIENT).toBe('llhttp');
    expect(loadProxyConfig({ ADMIN_TOKEN: TOKEN, UPSTREAM_CLIENT: 'undici' }).UPSTREAM_CLIENT).toBe('undici');
    expect(() => loadProxyConfig({ ADMIN_TOKEN: TOKEN, UPSTREAM_CLIENT: 'fetch' })).toThrow(/UPSTREAM_CLIENT/);
  });

  it('slow start is off by default under consistent hashing and on for the load-aware strategies', () => {
    const slowStart = (env: Record<string, string>) => loadProxyConfig({ ADMIN_TOKEN: TOKEN, ...env }).SLOW_START_MS;
    expect(slowStart({})).toBe(0);
    for (const STRATEGY of ['maglev', 'ring-bounded', 'legacy']) expect(slowStart({ STRATEGY })).toBe(0);
    for (const STRATEGY of ['weighted-round-robin', 'least-connections', 'power-of-two', 'least-time', 'drf']) {
      expect(slowStart({ STRATEGY })).toBe(30_000);
    }
    expect(slowStart({ STRATEGY: 'maglev', SLOW_START_MS: '5000' })).toBe(5000);
    expect(slowStart({ STRATEGY: 'least-time', SLOW_START_MS: '0' })).toBe(0);
    expect(() => slowStart({ SLOW_START_MS: '-1' })).toThrow(
      /SLOW_START_MS: expected a whole number from 0 to 3600000/,
    );
  });

  it('refuses to start without an admin token unless in local dev mode', () => {
    expect(() => loadProxyConfig({})).toThrow(/ADMIN_TOKEN: required/);
    expect(loadProxyConfig({ RINGMASTER_LOCAL_DEV: '1' }).adminToken).toBeUndefined();
    expect(() => loadProxyConfig({ ADMIN_TOKEN: 'short' })).toThrow(/ADMIN_TOKEN: must be at least 32/);
  });

  it('reads the token from a file', () => {
    const file = join(mkdtempSync(join(tmpdir(), 'rm-test-')), 'token');
    writeFileSync(file, `${TOKEN}\n`);
    expect(loadProxyConfig({ ADMIN_TOKEN_FILE: file }).adminToken).toBe(TOKEN);
    expect(() => loadProxyConfig({ ADMIN_TOKEN_FILE: `${file}.missing` })).toThrow(/ADMIN_TOKEN_FILE: cannot read/);
  });

  it('names every bad variable and the reason', () => {
    const attempt = () =>
      loadProxyConfig({ ADMIN_TOKEN: TOKEN, PROXY_PORT: 'http', STRATEGY: 'random', BOUND_FACTOR: '0.5' });
    expect(attempt).toThrow(/PROXY_PORT: expected a whole number from 0 to 65535 \(got "http"\)/);
    expect(attempt).toThrow(/STRATEGY: .*"random"/);
    expect(attempt).toThrow(/BOUND_FACTOR: expected a number from 1.01 to 10/);
    expect(() => loadProxyConfig({ ADMIN_TOKEN: TOKEN, HASH_KEY: 'body:x' })).toThrow(
      /HASH_KEY: expected query:<name>/,
    );
    expect(() => loadProxyConfig({ ADMIN_TOKEN: TOKEN, STATIC_SERVERS: 'a=ftp://x' })).toThrow(
      /STATIC_SERVERS: entry 0/,
    );
    expect(() => loadProxyConfig({ ADMIN_TOKEN: TOKEN, SCALER: 'ecs' })).toThrow(
      /ECS_CLUSTER, ECS_SERVER_SERVICE: required/,
    );
  });
});

describe('server configuration', () => {
  it('validates its id and address', () => {
    expect(loadServerConfig({ SERVER_ID: 's1' }).id).toBe('s1');
    expect(() => loadServerConfig({ SERVER_ID: 'bad id!' })).toThrow(/SERVER_ID: expected 1-63/);
    expect(() => loadServerConfig({ ADVERTISE_ADDRESS: 'tcp://x' })).toThrow(
      /ADVERTISE_ADDRESS: expected http:\/\/host:port/,
    );
  });

  it('limits a WebSocket message to 1 MiB unless WS_MAX_MESSAGE_BYTES says otherwise, within 1 B..64 MiB', () => {
    expect(loadServerConfig({ SERVER_ID: 's1' }).WS_MAX_MESSAGE_BYTES).toBe(1024 * 1024);
    expect(loadServerConfig({ SERVER_ID: 's1', WS_MAX_MESSAGE_BYTES: '4096' }).WS_MAX_MESSAGE_BYTES).toBe(4096);
    expect(() => loadServerConfig({ SERVER_ID: 's1', WS_MAX_MESSAGE_BYTES: '0' })).toThrow(/WS_MAX_MESSAGE_BYTES/);
    expect(() => loadServerConfig({ SERVER_ID: 's1', WS_MAX_MESSAGE_BYTES: String(64 * 1024 * 1024 + 1) })).toThrow(
      /WS_MAX_MESSAGE_BYTES/,
    );
  });
});

describe('/add and /rm bodies', () => {
  const message = (body: unknown) => {
    const parsed = scaleRequest.safeParse(body);
    return parsed.success ? 'ok' : fromZodError(parsed.error).message;
  };

  it('accepts the assignments’ shapes', () => {
    expect(message({ n: 2, hostnames: ['s4', 's5'] })).toBe('ok');
    expect(message({ n: 3 })).toBe('ok');
  });

  it('names the field and the reason for each bad input', () => {
    expect(message({ n: 1, hostnames: ['s4', 's5'] })).toMatch(/^hostnames: lists 2 hostname\(s\) but n is 1/);
    // Fewer names than n: the rest are filled in, as the student balancers did.
    expect(message({ n: 3, hostnames: ['s4'] })).toBe('ok');
    expect(message({ n: 1, hostnames: [] })).toBe('ok');
    expect(message({ n: -1 })).toBe('n: must be at least 1');
    expect(message({ n: 1e9 })).toBe('n: must be at most 32');
    expect(message({ n: 1.5 })).toBe('n: expected a whole number');
    expect(message({ n: '2' })).toBe('n: expected a whole number');
    expect(message({ n: 2, hostnames: ['ok', 7] })).toBe('hostnames[1]: expected a string');
    expect(message({ n: 2, hostnames: ['a', 'a'] })).toBe('hostnames[1]: "a" is listed twice');
    expect(message({ n: 1, hostnames: ['bad name'] })).toMatch(/^hostnames\[0\]: expected 1-63/);
    expect(message({ n: 1, extra: true })).toBe('extra: unknown field');
    expect(message([1])).toBe('body: expected a JSON object');
    expect(message({})).toBe('n: expected a whole number');
  });
});
