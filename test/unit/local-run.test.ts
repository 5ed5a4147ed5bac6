import { spawn } from 'node:child_process';
import { once } from 'node:events';
import pino from 'pino';
import { describe, expect, it } from 'vitest';
import { minimumBudgetUsd } from '#core/config/deployment.js';
import { loadProxyConfig } from '#proxy/config.js';
import { ChildWatch, serverDiedLine } from '#scripts/local/child-watch.js';
import { DecisionPrinter } from '#scripts/local/decision-lines.js';
import { loadDevConfig } from '#scripts/local/dev-config.js';
import { SERVER_DIED } from '#scripts/local/local-process-scaler.js';
import { readLocalSettings } from '#scripts/local/local-settings.js';
import { LocalTaskCpuPublisher, ownCpuSeconds, processCpuSeconds } from '#scripts/local/local-task-cpu.js';
import { ROOT } from '../helpers/processes.js';

const sink = { publish: async () => {} };
const silent = pino({ level: 'silent' });

describe('local task CPU, published as AWS/ECS CPUUtilization', () => {
  it('is CPU used over CPU reserved, averaged over the tasks, from the second sample of each', () => {
    let cpu = new Map<string, number | undefined>([
      ['s1', 10],
      ['s2', 20],
    ]);
    const publisher = new LocalTaskCpuPublisher(
      'c',
      [{ name: 'servers', cpuUnits: 256, cpuSeconds: () => cpu }],
      sink,
      60_000,
      silent,
    );
    expect(publisher.sample(1_000)).toEqual([]);
    // In 10 s, s1 used 1 s of CPU and s2 0.5 s; s3 is new and not measured yet.
    cpu = new Map([
      ['s1', 11],
      ['s2', 20.5],
      ['s3', 1],
    ]);
    const [datum] = publisher.sample(11_000);
    // s1: 0.1 core of 0.25 reserved = 40%; s2: 20%; the service's average is 30%.
    expect(datum?.name).toBe('CPUUtilization');
    expect(datum?.dimensions).toEqual({ ClusterName: 'c', ServiceName: 'servers' });
    expect(datum?.value).toBeCloseTo(30, 9);
  });

  it("spreads one local process's CPU over the tasks it stands in for", () => {
    let seconds = 0;
    const publisher = new LocalTaskCpuPublisher(
      'c',
      [{ name: 'proxy', cpuUnits: 1024, cpuSeconds: () => new Map([['self', seconds]]) }],
      sink,
      60_000,
      silent,
    );
    publisher.sample(0);
    seconds = 6;
    expect(publisher.sample(10_000, [1])[0]?.value).toBeCloseTo(60, 9);
    seconds = 12;
    expect(publisher.sample(20_000, [4])[0]?.value).toBeCloseTo(15, 9);
  });

  it('leaves a service out when no task could be read, rather than publish a made-up figure', () => {
    const publisher = new LocalTaskCpuPublisher(
      'c',
      [{ name: 'servers', cpuUnits: 256, cpuSeconds: () => new Map([['s1', undefined]]) }],
      sink,
      60_000,
      silent,
    );
    publisher.sample(0);
    expect(publisher.sample(10_000)).toEqual([]);
  });

  it('reads real processes: this one from /proc and from process.cpuUsage, which agree', () => {
    const end = Date.now() + 50;
    while (Date.now() < end) Math.sqrt(Math.random()); // burn some CPU
    const fromProc = processCpuSeconds(process.pid);
    expect(fromProc).toBeGreaterThan(0);
    // /proc counts in 10 ms ticks, cpuUsage in microseconds.
    expect(Math.abs((fromProc as number) - ownCpuSeconds())).toBeLessThan(0.1);
    expect(processCpuSeconds(2 ** 30)).toBeUndefined();
  });
});

describe("the development entry point's settings (scripts/local/dev-config.ts)", () => {
  it('needs the server bundle, and for local-ecs the cluster and the service, naming each', () => {
    expect(() => loadDevConfig({ SCALER: 'local' })).toThrow(/LOCAL_SERVER_ENTRY: required/);
    expect(() => loadDevConfig({ SCALER: 'local-ecs', LOCAL_SERVER_ENTRY: 'x.js' })).toThrow(
      'ECS_CLUSTER, ECS_SERVER_SERVICE: required when SCALER=local-ecs',
    );
    const ok = { SCALER: 'local-ecs', ECS_CLUSTER: 'c', ECS_SERVER_SERVICE: 's', LOCAL_SERVER_ENTRY: 'x.js' };
    expect(loadDevConfig(ok).LOCAL_SERVER_CPU_UNITS).toBe(256);
    expect(() => loadDevConfig({ ...ok, LOCAL_SERVER_CPU_UNITS: '64' })).toThrow(/LOCAL_SERVER_CPU_UNITS/);
    expect(() => loadDevConfig({ ...ok, SCALER: 'ecs' })).toThrow(/SCALER: expected local or local-ecs/);
  });

  it('have left the production proxy: it refuses the local scalers and knows none of the LOCAL_* settings', () => {
    const token = { ADMIN_TOKEN: 'x'.repeat(40) };
    for (const scaler of ['local', 'local-ecs']) {
      expect(() => loadProxyConfig({ ...token, SCALER: scaler })).toThrow(
        new RegExp(`SCALER=${scaler} starts server processes, which only the development entry point does`),
      );
    }
    const config = loadProxyConfig({ ...token, LOCAL_SERVER_ENTRY: 'x.js', INITIAL_SERVERS: '3' });
    expect(Object.keys(config).filter((key) => key.startsWith('LOCAL_') || key === 'INITIAL_SERVERS')).toEqual([]);
    expect(config.SCALER).toBe('none');
  });
});

describe("npm start's settings", () => {
  it("are cdk.json's, with the run's budget and schedule overrides", () => {
    const s = readLocalSettings(ROOT, {});
    expect(s.config.autoscaler.budgetPeriod).toBe('month');
    expect(s.servers).toBe(s.config.servers.initialCount);
    expect(s.tickMs).toBe(s.config.autoscaler.scheduleMinutes * 60_000);
    expect(s.envName).toBe('local');
    const small = readLocalSettings(ROOT, {
      RINGMASTER_BUDGET_USD: '5',
      RINGMASTER_BUDGET_PERIOD: 'day',
      RINGMASTER_TICK_SECONDS: '10',
      RINGMASTER_SPENT_USD: '4.5',
    });
    expect(small.config.autoscaler).toMatchObject({ budgetUsd: 5, budgetPeriod: 'day' });
    expect(small.tickMs).toBe(10_000);
    expect(small.spentUsd).toBe(4.5);
  });

  it('refuse a budget below what the minimum counts cost, naming the key and the override', () => {
    const floor = minimumBudgetUsd(
      readLocalSettings(ROOT, { RINGMASTER_BUDGET_PERIOD: 'day', RINGMASTER_BUDGET_USD: '100' }).config,
    );
    expect(() => readLocalSettings(ROOT, { RINGMASTER_BUDGET_USD: '1', RINGMASTER_BUDGET_PERIOD: 'day' })).toThrow(
      `npm start: settings from cdk.json with RINGMASTER_BUDGET_USD=1, RINGMASTER_BUDGET_PERIOD=day: invalid cdk.json context:\n  ringmaster.autoscaler.budgetUsd: must be at least ${floor.toFixed(2)} USD per day`,
    );
    expect(() => readLocalSettings(ROOT, { RINGMASTER_BUDGET_USD: 'lots' })).toThrow(
      /RINGMASTER_BUDGET_USD: expected a number of US dollars/,
    );
    expect(() => readLocalSettings(ROOT, { RINGMASTER_SPENT_USD: '150' })).toThrow(
      'npm start: RINGMASTER_SPENT_USD: must be less than the budget (150 USD per month), got 150',
    );
    expect(() => readLocalSettings(ROOT, { RINGMASTER_TICK_SECONDS: '0' })).toThrow(/RINGMASTER_TICK_SECONDS/);
  });
});

describe("the terminal's line per autoscaler tick", () => {
  const line = (fields: Record<string, unknown>) =>
    JSON.stringify({
      level: 'INFO',
      timestamp: '2026-11-23T14:23:04.000Z',
      service: 'ringmaster-autoscaler',
      ...fields,
    });
  const budget = { budgetUsd: 150, spendUsd: 0.0089, remainingUsd: 149.9911, projectedSpendUsd: 36.71 };

  it('shows each tier, what changed and why, and the budget', () => {
    const printed: string[] = [];
    const printer = new DecisionPrinter((l) => printed.push(l));
    printer.read(line({ message: 'proxy 2 -> 2: hold', tier: 'proxy', capacity: 2, desiredCount: 2, budget }));
    expect(printed).toEqual([]);
    printer.read(
      line({
        message: 'servers 3 -> 5: requests',
        tier: 'servers',
        capacity: 3,
        desiredCount: 5,
        budgetLimited: true,
        budget,
      }),
    );
    printer.read('not json');
    printer.read(line({ level: 'ERROR', message: 'tick read failed; nothing changed', error: 'ECSException: boom' }));
    expect(printed).toEqual([
      '14:23:04  proxy 2, servers 3 → 5  | spent $0.0089, $149.99 left of $150.00, projected $36.71\n' +
        '          servers: servers 3 -> 5: requests [budget-limited]',
      '14:23:04  autoscaler error: tick read failed; nothing changed (ECSException: boom)',
    ]);
  });
});

describe("npm start's watch over its parts (scripts/local/child-watch.ts)", () => {
  const exitWith = (code: number) => spawn(process.execPath, ['-e', `process.exit(${code})`], { stdio: 'ignore' });

  it('prints one line naming a part that dies and what stops, and nothing once the run is stopping', async () => {
    const printed: string[] = [];
    const watch = new ChildWatch((line) => printed.push(line));
    const dying = exitWith(3);
    watch.watch({ name: 'the autoscaler loop', child: dying, consequence: 'no more scaling decisions' });
    await once(dying, 'exit');
    expect(printed).toEqual([
      `npm start: the autoscaler loop (pid ${dying.pid}) exited with code 3: no more scaling decisions`,
    ]);

    watch.stop();
    const stopped = exitWith(0);
    watch.watch({ name: 'the proxy', child: stopped, consequence: 'x' });
    await once(stopped, 'exit');
    expect(printed).toHaveLength(1);
  });

  it("turns the proxy's log line for a dead server into one line, and ignores every other line", () => {
    const log = JSON.stringify({
      level: 40,
      msg: SERVER_DIED,
      server: 's2',
      code: null,
      signal: 'SIGKILL',
      respawnInMs: 2000,
    });
    expect(serverDiedLine(log, SERVER_DIED)).toBe(
      'npm start: server s2 was killed by SIGKILL: the proxy starts it again in 2 s; until then its requests go to the other servers',
    );
    expect(
      serverDiedLine(JSON.stringify({ msg: 'server process started', server: 's2' }), SERVER_DIED),
    ).toBeUndefined();
    expect(serverDiedLine(`${SERVER_DIED} but not JSON`, SERVER_DIED)).toBeUndefined();
  });
});
