import type { IncomingMessage } from 'node:http';
import { describe, expect, it } from 'vitest';
import type { ClusterView, Placement } from '#core/aws/cluster-store.js';
import { parseOrThrow } from '#core/errors/zod-error.js';
import { loadProxyConfig } from '#proxy/config.js';
import { initRequest, planInit } from '#proxy/extensions/records/init-request.js';
import { checkLoopbackRequest, isLoopbackHost } from '#proxy/extensions/records/loopback-guard.js';
import { planAddShards, planRemoveServers } from '#proxy/extensions/records/reshape-plan.js';
import { shardAddRequest, shardRemoveRequest } from '#proxy/extensions/records/scale-requests.js';
import { readLocalSettings, SEED_EXTRA_SERVERS } from '#scripts/local/local-settings.js';
import { ROOT } from '../helpers/processes.js';

const TOKEN = 'x'.repeat(40);
const TABLES = { SHARD_TABLE: 'shards', MAP_TABLE: 'map', RECORDS_TABLE: 'records' };
const message = (f: () => unknown) => {
  try {
    f();
    return 'ok';
  } catch (err) {
    return (err as Error).message;
  }
};

/** The seed's default /init, exactly as its scripts send it (marks are a String column there). */
const SEED_INIT = {
  N: 6,
  schema: { columns: ['Stud_id', 'Stud_name', 'Stud_marks'], dtypes: ['Number', 'String', 'String'] },
  shards: [0, 1, 2, 3].map((k) => ({ Stud_id_low: k * 4096, Shard_id: `sh${k + 1}`, Shard_size: 4096 })),
  servers: {
    Server0: ['sh1', 'sh2'],
    Server1: ['sh3', 'sh4'],
    Server3: ['sh1', 'sh3'],
    Server4: ['sh4', 'sh2'],
    Server5: ['sh1', 'sh4'],
    Server6: ['sh3', 'sh2'],
  },
};

function seedView(): ClusterView {
  const body = parseOrThrow(initRequest, SEED_INIT);
  const plan = planInit(body, Object.keys(SEED_INIT.servers));
  return {
    config: plan.config,
    shards: plan.shards.map((s) => ({ ...s, valid_idx: 0, placement_version: 0 })),
    map: plan.placement,
  };
}

function apply(view: ClusterView, change: ReturnType<typeof planRemoveServers>): Placement[] {
  const key = (p: { Shard_id: string; Server_id: string }) => `${p.Shard_id}/${p.Server_id}`;
  const gone = new Set(change.remove.map(key));
  const rows = new Map(view.map.filter((p) => !gone.has(key(p))).map((p) => [key(p), p]));
  for (const p of change.put) rows.set(key(p), p);
  return [...rows.values()];
}

describe('the compatibility mode setting', () => {
  it('is off by default, and allowed only on a loopback data port with the records API on', () => {
    expect(loadProxyConfig({ ADMIN_TOKEN: TOKEN, ...TABLES }).SEED_COMPAT).toBe(false);
    expect(
      loadProxyConfig({ ADMIN_TOKEN: TOKEN, ...TABLES, SEED_COMPAT: '1', PROXY_HOST: '127.0.0.1' }).SEED_COMPAT,
    ).toBe(true);
    expect(() => loadProxyConfig({ ADMIN_TOKEN: TOKEN, ...TABLES, SEED_COMPAT: '1' })).toThrow(
      /^SEED_COMPAT: .*PROXY_HOST must be a loopback address .*got "0\.0\.0\.0"/,
    );
    expect(() => loadProxyConfig({ ADMIN_TOKEN: TOKEN, ...TABLES, SEED_COMPAT: '1', PROXY_HOST: '10.0.0.5' })).toThrow(
      /SEED_COMPAT/,
    );
    expect(() => loadProxyConfig({ ADMIN_TOKEN: TOKEN, SEED_COMPAT: '1', PROXY_HOST: '127.0.0.1' })).toThrow(
      /^SEED_COMPAT: needs the records API/,
    );
  });

  it('npm start turns it on by default, RINGMASTER_SEED_COMPAT=0 turns it off, and a bad value names the variable', () => {
    const on = readLocalSettings(ROOT, {});
    expect(on.seedCompat).toBe(true);
    expect(on.maxServers).toBe(on.config.servers.maxCount + SEED_EXTRA_SERVERS);
    const off = readLocalSettings(ROOT, { RINGMASTER_SEED_COMPAT: '0' });
    expect(off.seedCompat).toBe(false);
    expect(off.maxServers).toBe(off.config.servers.maxCount);
    expect(() => readLocalSettings(ROOT, { RINGMASTER_SEED_COMPAT: 'maybe' })).toThrow(/RINGMASTER_SEED_COMPAT/);
  });

  it('knows loopback names and addresses', () => {
    for (const host of ['127.0.0.1', '127.8.9.10', 'localhost', 'LOCALHOST', '::1', '[::1]', 'api.localhost'])
      expect(isLoopbackHost(host), host).toBe(true);
    for (const host of ['0.0.0.0', '::', '10.0.0.1', 'evil.example', '128.0.0.1', 'localhost.evil.example'])
      expect(isLoopbackHost(host), host).toBe(false);
  });
});

describe('the loopback guard (DNS rebinding, cross-site requests, HTML forms)', () => {
  const req = (method: string, headers: Record<string, string>) =>
    ({ method, headers: { host: '127.0.0.1:8080', ...headers } }) as unknown as IncomingMessage;
  const json = { 'content-type': 'application/json' };

  it("lets the seeds' scripts through", () => {
    expect(message(() => checkLoopbackRequest(req('GET', {})))).toBe('ok');
    expect(message(() => checkLoopbackRequest(req('POST', json)))).toBe('ok');
    expect(
      message(() => checkLoopbackRequest(req('DELETE', { 'content-type': 'application/json; charset=utf-8' }))),
    ).toBe('ok');
    expect(message(() => checkLoopbackRequest(req('POST', { ...json, host: 'localhost:8080' })))).toBe('ok');
    expect(message(() => checkLoopbackRequest(req('POST', { ...json, origin: 'http://127.0.0.1:8080' })))).toBe('ok');
  });

  it('refuses a rebound name, another origin, a cross-site fetch and a form body, naming the header', () => {
    expect(message(() => checkLoopbackRequest(req('POST', { ...json, host: 'evil.example:8080' })))).toMatch(
      /^host: "evil\.example:8080" is not a loopback name/,
    );
    expect(message(() => checkLoopbackRequest(req('POST', { ...json, host: '' })))).toMatch(/^host: /);
    expect(message(() => checkLoopbackRequest(req('POST', { ...json, origin: 'http://evil.example' })))).toBe(
      'origin: cross-site request from "http://evil.example" refused',
    );
    expect(message(() => checkLoopbackRequest(req('POST', { ...json, origin: 'null' })))).toMatch(/^origin: /);
    expect(message(() => checkLoopbackRequest(req('GET', { 'sec-fetch-site': 'cross-site' })))).toMatch(
      /^sec-fetch-site: /,
    );
    expect(message(() => checkLoopbackRequest(req('POST', { 'content-type': 'text/plain' })))).toMatch(
      /^content-type: expected application\/json, got "text\/plain"/,
    );
    expect(
      message(() => checkLoopbackRequest(req('DELETE', { 'content-type': 'application/x-www-form-urlencoded' }))),
    ).toMatch(/^content-type: /);
    expect(message(() => checkLoopbackRequest(req('POST', {})))).toMatch(
      /^content-type: expected application\/json, got none/,
    );
  });
});

describe("the seed's /init", () => {
  it('is accepted as sent, String marks included, and places the shards as asked', () => {
    const view = seedView();
    expect(view.config).toEqual({ N: 6, schema: SEED_INIT.schema, replicas: 3 });
    for (const [server, shards] of Object.entries(SEED_INIT.servers))
      expect(
        view.map
          .filter((p) => p.Server_id === server)
          .map((p) => p.Shard_id)
          .sort(),
      ).toEqual([...shards].sort());
    expect(new Set(view.map.filter((p) => p.primary).map((p) => p.Server_id)).size).toBe(4);
  });

  it('names the live servers when it names one that is not', () => {
    const body = parseOrThrow(initRequest, SEED_INIT);
    expect(message(() => planInit(body, ['a1', 'b2', 'c3', 'd4', 'e5', 'f6']))).toBe(
      'servers.Server0: not a live server; the live servers are a1, b2, c3, d4, e5, f6',
    );
  });
});

describe("the second assignment's /add and /rm", () => {
  const ADD = {
    n: 2,
    new_shards: [{ Stud_id_low: 16384, Shard_id: 'sh5', Shard_size: 4096 }],
    servers: { Server4: ['sh3', 'sh5'], 'Server[5]': ['sh2', 'sh5'] },
  };

  it('parses the seed body and refuses bad ones naming the field', () => {
    expect(parseOrThrow(shardAddRequest, ADD).servers).toEqual(ADD.servers);
    const bad = (body: unknown) => message(() => parseOrThrow(shardAddRequest, body));
    expect(bad({ ...ADD, n: 3 })).toMatch(/^n: is 3 but servers names 2 server\(s\)/);
    expect(bad({ ...ADD, servers: { 'bad name': ['sh5'], x: [] } })).toMatch(/^servers\.bad name: /);
    expect(bad({ ...ADD, new_shards: [{ Stud_id_low: 1, Shard_id: 'sh9' }] })).toMatch(
      /^new_shards\[0\]\.Shard_size: /,
    );
    expect(bad({ ...ADD, extra: 1 })).toBe('extra: unknown field');
    const rm = (body: unknown) => message(() => parseOrThrow(shardRemoveRequest, body));
    expect(rm({ n: 2, servers: ['Server4'] })).toBe('ok');
    expect(rm({ n: 1, servers: ['a', 'b'] })).toMatch(/^servers: lists 2 server\(s\) but n is 1/);
    expect(rm({ n: 2, servers: ['a', 'a'] })).toMatch(/^servers\[1\]: "a" is listed twice/);
  });

  it('/add: new shards with their primaries, replicas of existing shards, one change', () => {
    const view = seedView();
    const servers = [
      { key: 'Server4x', id: 'Server7', shardIds: ['sh3', 'sh5'] },
      { key: 'Server[5]', id: 'Server8', shardIds: ['sh2', 'sh5'] },
    ];
    const change = planAddShards(view, ADD.new_shards, servers);
    expect(change.newShards).toEqual(ADD.new_shards);
    expect(change.N).toEqual({ from: 6, to: 8 });
    expect(change.touched.map((t) => t.Shard_id).sort()).toEqual(['sh2', 'sh3']);
    expect(change.put.filter((p) => p.Shard_id === 'sh5').filter((p) => p.primary)).toHaveLength(1);
    expect(change.put.filter((p) => p.Shard_id !== 'sh5').every((p) => !p.primary)).toBe(true);
    expect(change.remove).toEqual([]);
  });

  it('/add refuses overlapping or existing shards, unknown shard ids and unplaced new shards', () => {
    const view = seedView();
    const one = (shardIds: string[]) => [{ key: 'S', id: 'S', shardIds }];
    const at = (low: number, id = 'sh5') => [{ Stud_id_low: low, Shard_id: id, Shard_size: 4096 }];
    expect(message(() => planAddShards(view, at(12288), one(['sh5'])))).toBe(
      'new_shards: sh4 and sh5 cover overlapping Stud_id ranges',
    );
    expect(message(() => planAddShards(view, at(16384, 'sh1'), one(['sh1'])))).toBe(
      'new_shards[0].Shard_id: "sh1" already exists',
    );
    expect(message(() => planAddShards(view, at(16384), one(['sh5', 'sh9'])))).toBe(
      'servers.S[1]: unknown Shard_id "sh9"',
    );
    expect(message(() => planAddShards(view, at(16384), one(['sh1'])))).toBe(
      'new_shards[0]: no server in "servers" holds sh5',
    );
  });

  it('/rm: every shard keeps its replica count, one primary, and no row on a removed server', () => {
    const view = seedView();
    const primaries = view.map.filter((p) => p.primary).map((p) => p.Server_id);
    const removed = new Set([primaries[0] as string, 'Server6']);
    const remaining = ['Server0', 'Server1', 'Server3', 'Server4', 'Server5', 'Server6', 's1'].filter(
      (id) => !removed.has(id),
    );
    const change = planRemoveServers(view, removed, remaining);
    const after = apply(view, change);
    for (const shard of view.shards) {
      const rows = after.filter((p) => p.Shard_id === shard.Shard_id);
      expect(rows, shard.Shard_id).toHaveLength(3);
      expect(
        rows.filter((p) => p.primary),
        shard.Shard_id,
      ).toHaveLength(1);
      expect(rows.some((p) => removed.has(p.Server_id))).toBe(false);
    }
    expect(change.N).toEqual({ from: 6, to: new Set(after.map((p) => p.Server_id)).size });
    expect(message(() => planRemoveServers(view, new Set(Object.keys(SEED_INIT.servers)), []))).toMatch(
      /^servers: removing them would leave shard sh1 on no server/,
    );
  });
});
