import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { parseRingmasterConfig } from '../../infra/config.js';

const cdkJson = JSON.parse(readFileSync(new URL('../../cdk.json', import.meta.url), 'utf8'));
const valid = cdkJson.context.ringmaster;

describe('cdk.json context', () => {
  it('the shipped settings are valid', () => {
    expect(parseRingmasterConfig(valid).proxy.strategy).toBe('maglev-bounded');
  });

  it('names each malformed setting and why', () => {
    const bad = structuredClone(valid);
    bad.proxy.cpu = 300;
    bad.proxy.strategy = 'random';
    const attempt = () => parseRingmasterConfig(bad);
    expect(attempt).toThrow(/ringmaster\.proxy\.cpu: expected one of 256, 512/);
    expect(attempt).toThrow(/ringmaster\.proxy\.strategy: .*"maglev-bounded"/);
    expect(() => parseRingmasterConfig({ ...valid, extra: 1 })).toThrow(/extra/);
  });

  it('rejects a hash key the proxy could not parse, naming the key', () => {
    const bad = structuredClone(valid);
    bad.proxy.hashKey = 'query:';
    expect(() => parseRingmasterConfig(bad)).toThrow(
      /ringmaster\.proxy\.hashKey: expected query:<name>, header:<name>, cookie:<name>, path or client-ip, got "query:"/,
    );
    bad.proxy.hashKey = 'cookie:session';
    expect(parseRingmasterConfig(bad).proxy.hashKey).toBe('cookie:session');
  });

  it('checks settings against each other once each is well formed', () => {
    const bad = structuredClone(valid);
    bad.servers.minCount = 20;
    bad.servers.memoryMiB = 8192;
    const attempt = () => parseRingmasterConfig(bad);
    expect(attempt).toThrow(/ringmaster\.servers\.minCount: must not exceed servers\.maxCount/);
    expect(attempt).toThrow(/ringmaster\.servers\.initialCount: must lie within minCount\.\.maxCount/);
    expect(attempt).toThrow(/ringmaster\.servers\.memoryMiB: must be 512\.\.2048 MiB for cpu 256/);
  });
});
