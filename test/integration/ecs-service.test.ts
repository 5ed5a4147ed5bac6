import { randomBytes } from 'node:crypto';
import { ECSClient } from '@aws-sdk/client-ecs';
import pino from 'pino';
import { Pool } from 'undici';
import { beforeAll, describe, expect, it } from 'vitest';
import { EcsScaler, EcsService } from '#core/aws/ecs-service.js';
import { FleetLoad } from '#core/balancing/backend.js';
import { createStrategy } from '#core/balancing/strategies.js';
import { FleetActions } from '#proxy/admin/fleet-actions.js';
import { Fleet } from '#proxy/fleet/fleet.js';
import { UndiciUpstream } from '#proxy/forwarding/upstream/upstream.js';
import { LeaseRegistry } from '#proxy/membership/lease-registry.js';
import { createLocalServices } from '#scripts/lib/local-ecs.js';
import { clientConfig } from '../helpers/aws.js';

const FLEET_OPTIONS = {
  slowStartMs: 0,
  slowStartInitialWeight: 0.1,
  panicThreshold: 0.5,
  ejectConsecutiveFailures: 5,
  ejectBaseMs: 30_000,
  ejectMaxMs: 300_000,
  drainTimeoutMs: 1000,
};
const LIMITS = { maxServers: 64, registerWaitMs: 300 };

/**
 * On the emulator ECS tasks are records (no containers run) and scale-in
 * protection is accepted but not modelled, so these tests check what the
 * emulator can show: counts, and that exactly the named tasks stop.
 */
const connectUndici = (address: string) => {
  const pool = new Pool(address);
  return { pool, upstream: new UndiciUpstream(pool) };
};

describe('the ECS service adapter and the Scaler port on ECS', () => {
  const client = new ECSClient(clientConfig());
  const cluster = `rm-test-${randomBytes(3).toString('hex')}`;
  let service: EcsService;
  beforeAll(async () => {
    await createLocalServices(client, cluster, [{ name: 'servers', cpu: 256, memoryMiB: 512, desiredCount: 4 }]);
    service = new EcsService(client, cluster, 'servers');
  });

  it('describes and sets the desired count', async () => {
    const scaler = new EcsScaler(service);
    expect(await scaler.describe()).toEqual({ desired: 4, running: 4, pending: 0 });
    await scaler.setDesiredCount(6);
    expect(await scaler.describe()).toMatchObject({ desired: 6, running: 6 });
    expect(await service.taskIds()).toHaveLength(6);
  });

  it('/rm on ECS stops exactly the named tasks and lowers the desired count by as many', async () => {
    const scaler = new EcsScaler(service);
    const before = await service.taskIds();
    const named = [before[1], before[4]] as string[];
    await scaler.removeServers(named);
    const after = await service.taskIds();
    expect(after.sort()).toEqual(before.filter((id) => !named.includes(id)).sort());
    expect(await scaler.describe()).toMatchObject({ desired: before.length - 2 });
  });

  it('refuses unknown tasks and names for new tasks, changing nothing', async () => {
    const scaler = new EcsScaler(service);
    const before = await service.taskIds();
    await expect(scaler.removeServers(['no-such-task'])).rejects.toThrow(/not running in servers: no-such-task/);
    await expect(scaler.setDesiredCount(before.length + 1, ['s9'])).rejects.toThrow(/cannot be named/);
    expect((await service.taskIds()).sort()).toEqual(before.sort());
    expect(scaler.namesServers).toBe(false);
  });

  it('/add on ECS raises the desired count, and refuses hostnames naming the field', async () => {
    const log = pino({ level: 'silent' });
    const fleet = new Fleet(createStrategy('maglev'), new FleetLoad(), FLEET_OPTIONS, connectUndici, log);
    const actions = new FleetActions(fleet, new LeaseRegistry(10_000, 64), new EcsScaler(service), LIMITS, log);
    await expect(actions.add({ n: 1, hostnames: ['s9'] })).rejects.toThrow(
      /^hostnames: the ecs scaler's servers take their own ids; omit hostnames and give n alone$/,
    );
    const { desired } = await service.describe();
    // No server registers here (ECS tasks are records on the emulator), so the wait for one times out.
    await expect(actions.add({ n: 2 })).rejects.toThrow(/started 2 of 2 new server\(s\) but they did not register/);
    expect((await service.describe()).desired).toBe(desired + 2);
  });

  it('lists every task with its start and, once stopped, its stop: what the ledger bills', async () => {
    const other = `tasks-${randomBytes(2).toString('hex')}`;
    await createLocalServices(client, cluster, [{ name: other, cpu: 256, memoryMiB: 512, desiredCount: 3 }]);
    const tiers = new EcsService(client, cluster, other);
    const before = Date.now();
    const running = await tiers.taskLives(before);
    expect(running).toHaveLength(3);
    for (const task of running) {
      expect(task.stopMs).toBeUndefined();
      expect(task.startMs).toBeGreaterThan(before - 60_000);
      expect(task.startMs).toBeLessThanOrEqual(Date.now());
    }
    await tiers.setDesiredCount(1);
    const after = await tiers.taskLives(Date.now());
    expect(after).toHaveLength(3);
    const stopped = after.filter((t) => t.stopMs !== undefined);
    expect(stopped).toHaveLength(2);
    for (const task of stopped) expect(task.stopMs).toBeGreaterThanOrEqual(task.startMs);
  });
});
