import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseDeploymentConfig } from '#core/config/deployment.js';
import { fixedOverheadHourlyUsd, HOURS_PER_MONTH, hourlyCost } from '#core/pricing/deployment-cost.js';
import {
  controlPlaneUnitsPerSecond,
  dynamoHourlyUsd,
  heartbeatMonthlyUsdPerServer,
  scanEveryPollUnitsPerSecond,
  scanReadUnits,
  writeUnits,
} from '#core/pricing/dynamodb.js';
import { taskHourlyUsd } from '#core/pricing/fargate.js';
import { repoRoot } from '#devkit/repo-root.js';

const config = parseDeploymentConfig(JSON.parse(readFileSync(join(repoRoot(), 'cdk.json'), 'utf8')).context.ringmaster);
const pricing = { proxy: config.proxy, server: config.servers, fargate: config.pricing, natGateways: 0 };

describe('DynamoDB pricing', () => {
  it('counts a strongly consistent scan in 4 KB units, at least one; writes in 1 KB units', () => {
    expect([scanReadUnits(0), scanReadUnits(4096), scanReadUnits(4097), scanReadUnits(200_000)]).toEqual([1, 1, 2, 49]);
    expect([writeUnits(200), writeUnits(1025)]).toEqual([1, 2]);
  });

  it('before the membership version, grew the control plane reads with proxies × servers', () => {
    const small = scanEveryPollUnitsPerSecond({ proxies: 10, servers: 100, shards: 100, replicas: 3 });
    const large = scanEveryPollUnitsPerSecond({ proxies: 100, servers: 1000, shards: 1000, replicas: 3 });
    expect(large.reads / small.reads).toBeGreaterThan(80);
    expect(large.writes / small.writes).toBe(10);
  });

  it('with the membership version, reads grow with proxies, plus one sweep and a slow full read', () => {
    const fleet = (proxies: number, servers: number) => ({ proxies, servers, shards: servers, replicas: 3 });
    const at = (proxies: number, servers: number) => controlPlaneUnitsPerSecond(fleet(proxies, servers)).reads;
    // 100 proxies × 1 unit a second, the sweeper's eventually consistent 49 / 2-unit scan every 10 s,
    // 100 full reads of the shard tables (#config 1, ShardT 25, MapT 44 units) every 10 minutes and
    // of the Ring (49 units) every hour.
    expect(at(100, 1000)).toBeCloseTo(100 + 49 / 2 / 10 + (100 * (1 + 25 + 44)) / 600 + (100 * 49) / 3600, 6);
    // Not flat: the sweep (one per fleet) and the 10-minute full reads still grow with the servers.
    expect(at(100, 1000) / at(100, 10)).toBeLessThan(1.5);
    expect(dynamoHourlyUsd({ reads: at(100, 1000), writes: 0 }) * HOURS_PER_MONTH).toBeLessThan(
      (dynamoHourlyUsd({ reads: scanEveryPollUnitsPerSecond(fleet(100, 1000)).reads, writes: 0 }) * HOURS_PER_MONTH) /
        40,
    );
    // 5 s heartbeats: 730 h × 720 writes an hour × 0.625 USD per million.
    expect(heartbeatMonthlyUsdPerServer(5000, HOURS_PER_MONTH)).toBeCloseTo((730 * 720 * 0.625) / 1e6, 9);
    // 100 reads per second for an hour at $0.125 per million.
    expect(dynamoHourlyUsd({ reads: 100, writes: 0 })).toBeCloseTo((100 * 3600 * 0.125) / 1e6, 10);
  });
});

describe('deployment cost', () => {
  it('adds up its lines, with Fargate from the shared module', () => {
    const fleet = { proxies: 2, servers: 3, shards: 4, replicas: 3 };
    const cost = hourlyCost(fleet, pricing);
    const { total, ...lines } = cost;
    expect(total).toBeCloseTo(
      Object.values(lines).reduce((a, b) => a + b, 0),
      12,
    );
    expect(cost.fargateServers).toBeCloseTo(taskHourlyUsd(config.servers, config.pricing) * 3, 12);
    expect(cost.natGateways).toBe(0);
  });

  it('trades per-task public addresses for NAT gateways', () => {
    const fleet = { proxies: 100, servers: 1000, shards: 1000, replicas: 3 };
    const publicTasks = hourlyCost(fleet, pricing);
    const nat = hourlyCost(fleet, { ...pricing, natGateways: 2 });
    expect(publicTasks.publicIpv4 * HOURS_PER_MONTH).toBeGreaterThan(4000);
    expect(nat.total).toBeLessThan(publicTasks.total);
  });

  it('cdk.json budgets at least the fixed overhead the stacks incur', () => {
    expect(config.autoscaler.fixedOverheadUsdPerHour).toBeGreaterThanOrEqual(
      fixedOverheadHourlyUsd({ natGateways: config.natGateways }),
    );
  });
});
