/**
 * The differential HTTP/1.1 fuzzer (test/fuzz/differential.ts) on a fixed
 * seed: a few thousand generated request streams through every data plane ×
 * upstream client, to a strict recording server. Any finding fails the test
 * with its bytes; reproduce one with
 * `npm run fuzz:http -- --seed 20261206 --first <stream> --streams 1 --show`.
 * Longer and other ranges: `npm run fuzz:http -- --streams N --seed S`.
 */
import { describe, expect, it } from 'vitest';
import { type Finding, fuzz } from '../fuzz/differential.js';

const SEED = 20261206;
const STREAMS = 2000;

describe('differential HTTP/1.1 fuzzer, fixed seed', () => {
  it(`${STREAMS} streams through every data plane and upstream client: no finding`, { timeout: 120_000 }, async () => {
    const findings: Finding[] = [];
    const summary = await fuzz({ seed: SEED, streams: STREAMS, onFinding: (f) => findings.push(f) });
    expect(findings).toEqual([]);
    // The slice exercises the paths it is meant to: requests forwarded, and requests refused.
    expect(summary.forwarded).toBeGreaterThan(STREAMS / 10);
    expect(summary.refusedByProxy).toBeGreaterThan(STREAMS / 10);
  });
});
