/**
 * The differential HTTP/1.1 fuzzer (test/fuzz/differential.ts) on a fixed
 * seed: a few thousand generated request streams through both data planes
 * with the default upstream client (UPSTREAM_CLIENT=llhttp), to a strict
 * recording server. Any finding fails the test with its bytes; reproduce one
 * with `npm run fuzz:http -- --seed 20261206 --first <stream> --streams 1 --show`.
 * Longer and other ranges: `npm run fuzz:http -- --streams N --seed S`.
 *
 * UPSTREAM_CLIENT=undici is left out of this slice because it has two open
 * findings that depend on timing (so they would make `npm test` flaky rather
 * than red): undici 7.30.2 crashes the process with `assert(!this.paused)` in
 * Parser.finish when a server ends a response while reading is paused for a
 * slow client (nodejs/undici#5360, fixed upstream by #5474), and requests
 * stay counted in flight (and shutdown hangs) after clients leave. See
 * docs/http-fields.md; `npm run fuzz:http -- --client undici` shows both.
 */
import { describe, expect, it } from 'vitest';
import { COMBOS, type Finding, fuzz } from '../fuzz/differential.js';

const SEED = 20261206;
const STREAMS = 3000;

describe('differential HTTP/1.1 fuzzer, fixed seed', () => {
  it(`${STREAMS} streams through both data planes on the llhttp upstream client: no finding`, {
    timeout: 120_000,
  }, async () => {
    const findings: Finding[] = [];
    const combos = COMBOS.filter((c) => c.client === 'llhttp');
    const summary = await fuzz({ seed: SEED, streams: STREAMS, combos, onFinding: (f) => findings.push(f) });
    expect(findings).toEqual([]);
    // The slice exercises the paths it is meant to: requests forwarded, and requests refused.
    expect(summary.forwarded).toBeGreaterThan(STREAMS / 10);
    expect(summary.refusedByProxy).toBeGreaterThan(STREAMS / 10);
  });
});
