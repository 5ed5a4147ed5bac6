import { PutCommand } from '@aws-sdk/lib-dynamodb';
import pino from 'pino';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { RingStore } from '#core/aws/ring-store.js';
import type { Member } from '#core/ports/membership.js';
import { DynamoMembership, type MembershipTiming } from '#proxy/membership/dynamo-membership.js';
import { createTestTables, type TestTables, testClients } from '../helpers/aws.js';

/**
 * The membership version on the emulator: real RingStore writes, real
 * DynamoMembership readers. What the design promises: a steady fleet costs
 * each proxy one GetItem per poll, a burst of registrations costs each proxy
 * a rebuild per poll it spans (not one per server), and a lapse, which has no
 * writer, still reaches every proxy through the sweeper's bump.
 */
const REFRESH_MS = 250;
const LONG_LEASE_MS = 120_000;
const silent = pino({ level: 'silent' });

interface Reader {
  membership: DynamoMembership;
  announcements: (readonly Member[])[];
}

describe('membership version (RingStore and DynamoMembership on the emulator)', () => {
  let tables: TestTables;
  let ring: RingStore;
  const readers: Reader[] = [];

  beforeAll(async () => {
    tables = await createTestTables('version');
    ring = new RingStore(testClients().doc, tables.names.ring);
  });
  afterEach(async () => {
    await Promise.all(readers.splice(0).map((r) => r.membership.stop()));
  });
  afterAll(async () => {
    await tables.drop();
  });

  async function startReaders(n: number, refreshMs = REFRESH_MS, timing: MembershipTiming = {}): Promise<Reader[]> {
    const started: Reader[] = [];
    for (let i = 0; i < n; i++) {
      const reader: Reader = {
        membership: new DynamoMembership(ring, refreshMs, silent, Date.now, timing),
        announcements: [],
      };
      await reader.membership.start((m) => reader.announcements.push(m));
      started.push(reader);
    }
    readers.push(...started);
    return started;
  }

  const ids = (members: readonly Member[] | undefined) => (members ?? []).map((m) => m.id);

  it('bumps the version for a registration and an address change, not for a renewal', async () => {
    const before = (await ring.versions.read()).ring;
    await ring.heartbeat('v-1', 'http://127.0.0.1:1', 1, LONG_LEASE_MS);
    expect((await ring.versions.read()).ring).toBe(before + 1);
    await ring.heartbeat('v-1', 'http://127.0.0.1:1', 1, LONG_LEASE_MS);
    await ring.heartbeat('v-1', 'http://127.0.0.1:1', 1, LONG_LEASE_MS);
    expect((await ring.versions.read()).ring).toBe(before + 1);
    await ring.heartbeat('v-1', 'http://127.0.0.1:2', 1, LONG_LEASE_MS);
    expect((await ring.versions.read()).ring).toBe(before + 2);
    await ring.deregister('v-1');
    expect((await ring.versions.read()).ring).toBe(before + 3);
  });

  it('a steady fleet costs each proxy a GetItem per poll and no scan, and the sweeper a scan per lease', async () => {
    await Promise.all(
      Array.from({ length: 20 }, (_, i) =>
        ring.heartbeat(`steady-${i}`, `http://127.0.0.1:${1000 + i}`, 1, LONG_LEASE_MS),
      ),
    );
    const group = await startReaders(3);
    await vi.waitFor(() => expect(group.every((r) => ids(r.announcements.at(-1)).length === 20)).toBe(true), {
      timeout: 5000,
      interval: 50,
    });
    const before = group.map((r) => r.membership.reads());
    await new Promise((resolve) => setTimeout(resolve, 2000));
    const sweepers = group.filter((r) => r.membership.isSweeper());
    expect(sweepers).toHaveLength(1);
    for (const [i, r] of group.entries()) {
      const after = r.membership.reads();
      const b = before[i] as ReturnType<DynamoMembership['reads']>;
      // About 2000 / REFRESH_MS polls each; the emulator under load may manage fewer.
      expect(after.versionReads - b.versionReads).toBeGreaterThanOrEqual(3);
      if (!r.membership.isSweeper()) expect(after.scans - b.scans).toBe(0);
      // The sweeper scans when the earliest lease it knows of can lapse (120 s away here) or every
      // DEFAULT_MAX_SWEEP_INTERVAL_MS (10 s), not at each of its polls.
      else expect(after.scans - b.scans).toBeLessThanOrEqual(1);
    }
    await Promise.all(Array.from({ length: 20 }, (_, i) => ring.deregister(`steady-${i}`)));
  });

  it('a burst of 100 registrations rebuilds each proxy once per poll it spans, not once per server', async () => {
    const group = await startReaders(3, 1000);
    const announcedBefore = group.map((r) => r.announcements.length);
    const startedAt = Date.now();
    await Promise.all(
      Array.from({ length: 100 }, (_, i) =>
        ring.heartbeat(`burst-${i}`, `http://127.0.0.1:${2000 + i}`, 1, LONG_LEASE_MS),
      ),
    );
    const burstMs = Date.now() - startedAt;
    await vi.waitFor(() => expect(group.every((r) => ids(r.announcements.at(-1)).length === 100)).toBe(true), {
      timeout: 10_000,
      interval: 50,
    });
    const pollsSpanned = Math.ceil(burstMs / 1000) + 1;
    for (const [i, r] of group.entries()) {
      const rebuilds = r.announcements.length - (announcedBefore[i] as number);
      expect(rebuilds).toBeGreaterThanOrEqual(1);
      expect(rebuilds).toBeLessThanOrEqual(pollsSpanned);
    }
    // Every proxy ends on the same membership.
    const first = JSON.stringify(group[0]?.announcements.at(-1));
    for (const r of group) expect(JSON.stringify(r.announcements.at(-1))).toBe(first);
    await Promise.all(Array.from({ length: 100 }, (_, i) => ring.deregister(`burst-${i}`)));
  });

  it('a lease that lapses with no writer leaves every proxy, through the sweeper’s bump', async () => {
    const LEASE_MS = 1500;
    await ring.heartbeat('stays', 'http://127.0.0.1:3001', 1, LONG_LEASE_MS);
    await ring.heartbeat('lapses', 'http://127.0.0.1:3002', 1, LEASE_MS);
    const lapsesAt = Date.now() + LEASE_MS;
    const group = await startReaders(3, 1000);
    expect(group.every((r) => ids(r.announcements.at(-1)).includes('lapses'))).toBe(true);
    await vi.waitFor(() => expect(group.every((r) => !ids(r.announcements.at(-1)).includes('lapses'))).toBe(true), {
      timeout: 10_000,
      interval: 20,
    });
    // One poll for the sweeper to see it, one for the others to see the bump, plus the emulator's latency.
    expect(Date.now() - lapsesAt).toBeLessThan(3000);
    expect(group.every((r) => ids(r.announcements.at(-1)).includes('stays'))).toBe(true);
    await ring.deregister('stays');
  });

  it('a change whose writer lost its bump reaches every proxy through the sweeper, not the hourly read', async () => {
    const SWEEP_INTERVAL_MS = 1000;
    await ring.heartbeat('known', 'http://127.0.0.1:3003', 1, LONG_LEASE_MS);
    const group = await startReaders(3, REFRESH_MS, { maxSweepIntervalMs: SWEEP_INTERVAL_MS });
    await vi.waitFor(() => expect(group.every((r) => ids(r.announcements.at(-1)).includes('known'))).toBe(true), {
      timeout: 5000,
      interval: 50,
    });
    // A registration written with no bump after it, as by a server that crashed between the two.
    await testClients().doc.send(
      new PutCommand({
        TableName: tables.names.ring,
        Item: { id: 'unbumped', address: 'http://127.0.0.1:3004', weight: 1, leaseExpiresAtMs: Date.now() + 60_000 },
      }),
    );
    await vi.waitFor(() => expect(group.every((r) => ids(r.announcements.at(-1)).includes('unbumped'))).toBe(true), {
      timeout: 10_000,
      interval: 50,
    });
    expect(group.reduce((n, r) => n + r.membership.reads().unannouncedChanges, 0)).toBeGreaterThanOrEqual(1);
    await ring.deregister('known');
    await ring.deregister('unbumped');
  });
});
