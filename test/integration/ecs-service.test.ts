import { randomBytes } from 'node:crypto';
import { CreateTableCommand } from '@aws-sdk/client-dynamodb';
import { ECSClient } from '@aws-sdk/client-ecs';
import pino from 'pino';
import { Pool } from 'undici';
import { beforeAll, describe, expect, it } from 'vitest';
import { AutoscalerStateStore } from '#core/aws/autoscaler-state-store.js';
import { BudgetGate } from '#core/aws/budget-gate.js';
import { EcsScaler, EcsService } from '#core/aws/ecs-service.js';
import { AUTOSCALER_STATE_KEYS } from '#core/aws/tables.js';
import { FleetLoad } from '#core/balancing/backend.js';
import { createStrategy } from '#core/balancing/strategies.js';
import { DomainError } from '#core/errors/domain-error.js';
import { statusOf } from '#core/http/error-status.js';
import { createLocalServices } from '#devkit/local-ecs.js';
import { FleetActions } from '#proxy/admin/fleet-actions.js';
import { Fleet } from '#proxy/fleet/fleet.js';
import { UndiciUpstream } from '#proxy/forwarding/upstream/upstream.js';
import { LeaseRegistry } from '#proxy/membership/lease-registry.js';
import { clientConfig, testClients } from '../helpers/aws.js';

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

  describe('/add through the budget (BudgetGate)', () => {
    const table = `rm-test-gate-${randomBytes(4).toString('hex')}`;
    let store: AutoscalerStateStore;
    const addLimits = { servers: { maxCount: 12, budgetCap: 0, usdPerTaskHour: 0.0149 } };
    const budget = { budgetUsd: 150, spendUsd: 149.2, remainingUsd: 0.8, projectedSpendUsd: 151, extraUsd: 0.05 };
    const summarise = async (budgetCap: number, atMs = Date.now()) => {
      const stored = await store.load();
      await store.commit(stored.version, { any: 'state' }, [], [], {
        atMs,
        services: [],
        budget,
        addLimits: { servers: { ...addLimits.servers, budgetCap } },
      });
    };
    const actions = () =>
      new FleetActions(
        new Fleet(createStrategy('maglev'), new FleetLoad(), FLEET_OPTIONS, connectUndici, pino({ level: 'silent' })),
        new LeaseRegistry(10_000, 64),
        new EcsScaler(service, new BudgetGate(store, 'servers')),
        LIMITS,
        pino({ level: 'silent' }),
      );

    beforeAll(async () => {
      const { client: dynamo, doc } = testClients();
      await dynamo.send(
        new CreateTableCommand({ TableName: table, BillingMode: 'PAY_PER_REQUEST', ...AUTOSCALER_STATE_KEYS }),
      );
      store = new AutoscalerStateStore(doc, table);
    });

    it('is refused with a 409 naming the cost and what is left when the budget cannot pay it', async () => {
      const { desired } = await service.describe();
      await summarise(desired + 1);
      const refusal = await actions()
        .add({ n: 3 })
        .catch((e: unknown) => e);
      expect(refusal).toBeInstanceOf(DomainError);
      expect((refusal as DomainError).code).toBe('BUDGET_EXCEEDED');
      expect(statusOf((refusal as DomainError).code)).toBe(409);
      expect((refusal as DomainError).message).toBe(
        `n: adding 3 would cost 0.0447 USD per hour; 0.8000 USD is left of the 150.00 USD budget, 0.0500 USD of it beyond the safety margin and the minimum counts to the period's end, which pays for at most ${desired + 1} (now ${desired})`,
      );
      expect((await service.describe()).desired).toBe(desired);
    });

    it('is refused beyond maxCount, and when no recent tick vouches for the budget', async () => {
      const { desired } = await service.describe();
      await summarise(100);
      await expect(actions().add({ n: 13 - desired })).rejects.toThrow(/above its maxCount of 12/);
      await summarise(100, Date.now() - 10 * 60_000);
      await expect(actions().add({ n: 1 })).rejects.toMatchObject({ code: 'UNAVAILABLE' });
      expect((await service.describe()).desired).toBe(desired);
    });

    it('goes ahead when the budget pays for it', async () => {
      const { desired } = await service.describe();
      await summarise(desired + 2);
      // No server registers here (ECS tasks are records on the emulator), so the wait for them times out.
      await expect(actions().add({ n: 2 })).rejects.toThrow(/did not register/);
      expect((await service.describe()).desired).toBe(desired + 2);
    });
  });
});
