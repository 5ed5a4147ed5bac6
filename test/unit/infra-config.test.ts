import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { minimumBudgetUsd } from '#core/config/deployment.js';
import { AWS_LIST_PRICES } from '#core/pricing/deployment-cost.js';
import { DEFAULT_FARGATE_RATES, taskHourlyUsd } from '#core/pricing/fargate.js';
import { DEFAULT_METRICS_NAMESPACE } from '#core/telemetry/metric-names.js';
import { repoRoot } from '#devkit/repo-root.js';
import { parseRingmasterConfig } from '#infra/config.js';

const cdkJson = JSON.parse(readFileSync(join(repoRoot(), 'cdk.json'), 'utf8'));
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
    expect(attempt).toThrow(
      /ringmaster\.servers\.memoryMiB: 8192 MiB is not a Fargate size for cpu 256: expected 512, 1024 or 2048 MiB/,
    );
  });

  it('takes an optional ACM certificate ARN, naming the field when it is not one', () => {
    const config = structuredClone(valid);
    expect(parseRingmasterConfig(config).certificateArn).toBeUndefined();
    config.certificateArn = 'arn:aws:acm:eu-west-1:123456789012:certificate/0a1b2c3d-4e5f-6789-abcd-ef0123456789';
    expect(parseRingmasterConfig(config).certificateArn).toBe(config.certificateArn);
    config.certificateArn = 'arn:aws:iam::123456789012:server-certificate/mine';
    expect(() => parseRingmasterConfig(config)).toThrow(/ringmaster\.certificateArn: expected an ACM certificate ARN/);
  });

  it('accepts exactly the cpu/memory pairs Fargate registers, and lists every size in the error', () => {
    const withSize = (cpu: number, memoryMiB: number) => {
      const config = structuredClone(valid);
      config.servers = { ...config.servers, cpu, memoryMiB };
      // A big enough budget, so only the size can fail.
      config.autoscaler = { ...config.autoscaler, budgetUsd: 1_000_000 };
      return () => parseRingmasterConfig(config);
    };
    const accepted: [number, number][] = [
      [256, 512],
      [256, 2048],
      [512, 1024],
      [512, 3072],
      [1024, 8192],
      [2048, 4096],
      [2048, 16384],
      [4096, 8192],
      [4096, 30720],
    ];
    for (const [cpu, memory] of accepted) expect(withSize(cpu, memory), `${cpu}/${memory}`).not.toThrow();
    const rejected: [number, number][] = [
      // Inside the old 2x..8x range, but not a Fargate step: AWS refuses these at registration.
      [512, 1536],
      [256, 1536],
      [1024, 2560],
      [2048, 4608],
      [4096, 9000],
      // Outside it.
      [256, 4096],
      [512, 512],
      [4096, 32768],
    ];
    for (const [cpu, memory] of rejected) {
      expect(withSize(cpu, memory), `${cpu}/${memory}`).toThrow(
        new RegExp(`ringmaster\\.servers\\.memoryMiB: ${memory} MiB is not a Fargate size for cpu ${cpu}`),
      );
    }
    expect(withSize(512, 1536)).toThrow(
      "expected 1024 to 4096 in steps of 1024 MiB (Fargate's sizes: cpu 256: 512, 1024 or 2048; " +
        'cpu 512: 1024 to 4096 in steps of 1024; cpu 1024: 2048 to 8192 in steps of 1024; ' +
        'cpu 2048: 4096 to 16384 in steps of 1024; cpu 4096: 8192 to 30720 in steps of 1024)',
    );
  });
});

describe('cdk.json context: the autoscaler, pricing and monitoring settings', () => {
  it('ships the pricing module defaults and the contract namespace', () => {
    const config = parseRingmasterConfig(valid);
    expect(config.pricing.arm64).toEqual(DEFAULT_FARGATE_RATES.arm64);
    expect(config.pricing.x86_64).toEqual(DEFAULT_FARGATE_RATES.x86_64);
    expect(config.monitoring.metricsNamespace).toBe(DEFAULT_METRICS_NAMESPACE);
    expect(config.deletionProtection).toBe(true);
    expect(config.natGateways).toBe(0);
    // The records API is mounted on the deployed proxies only when cdk.json asks for it.
    expect(config.recordsApi).toBe(false);
    expect(parseRingmasterConfig({ ...structuredClone(valid), recordsApi: true }).recordsApi).toBe(true);
  });

  it('names the key and the accepted range for out-of-range numbers and unknown choices', () => {
    const bad = structuredClone(valid);
    bad.autoscaler.budgetUsd = 0.5;
    bad.autoscaler.budgetPeriod = 'year';
    bad.proxy.architecture = 'mips';
    bad.natGateways = 3;
    bad.deletionProtection = 'yes';
    bad.recordsApi = 'on';
    const attempt = () => parseRingmasterConfig(bad);
    expect(attempt).toThrow(/ringmaster\.autoscaler\.budgetUsd: expected a number from 1 to 1000000/);
    expect(attempt).toThrow(/ringmaster\.autoscaler\.budgetPeriod: expected one of "day", "week", "month"/);
    expect(attempt).toThrow(/ringmaster\.proxy\.architecture: expected one of "arm64", "x86_64"/);
    expect(attempt).toThrow(/ringmaster\.natGateways: expected a whole number from 0 to 2/);
    expect(attempt).toThrow(/ringmaster\.deletionProtection: expected true or false/);
    expect(attempt).toThrow(/ringmaster\.recordsApi: expected true or false/);
  });

  it('checks the proxy counts against each other', () => {
    const bad = structuredClone(valid);
    bad.proxy.minCount = 5;
    bad.proxy.maxCount = 3;
    const attempt = () => parseRingmasterConfig(bad);
    expect(attempt).toThrow(/ringmaster\.proxy\.minCount: must not exceed proxy\.maxCount/);
    expect(attempt).toThrow(/ringmaster\.proxy\.desiredCount: must lie within minCount\.\.maxCount/);
  });

  it('refuses a budget that cannot pay for the minimum counts over the longest period, naming the minimum', () => {
    const config = parseRingmasterConfig(valid);
    const floor = minimumBudgetUsd(config);
    // Each task also pays for its public IPv4 address (no NAT gateway in the shipped settings).
    const ipv4 = config.natGateways === 0 ? AWS_LIST_PRICES.publicIpv4HourUsd : 0;
    const hourly =
      (taskHourlyUsd(config.proxy, config.pricing) + ipv4) * config.proxy.minCount +
      (taskHourlyUsd(config.servers, config.pricing) + ipv4) * config.servers.minCount +
      config.autoscaler.fixedOverheadUsdPerHour;
    expect(floor).toBeCloseTo(hourly * 31 * 24, 6);
    const bad = structuredClone(valid);
    bad.autoscaler.budgetUsd = Math.floor(floor) - 1;
    expect(() => parseRingmasterConfig(bad)).toThrow(
      new RegExp(`ringmaster\\.autoscaler\\.budgetUsd: must be at least ${floor.toFixed(2)} USD per month`),
    );
    bad.autoscaler.budgetPeriod = 'day';
    bad.autoscaler.budgetUsd = Math.ceil(hourly * 24);
    expect(parseRingmasterConfig(bad).autoscaler.budgetUsd).toBe(Math.ceil(hourly * 24));
  });

  it('rejects a bad alarm email, image URI and reserved namespace', () => {
    const bad = structuredClone(valid);
    bad.monitoring.alarmEmail = 'ops';
    bad.monitoring.metricsNamespace = 'AWS/ECS';
    bad.servers.image = 'not an image';
    const attempt = () => parseRingmasterConfig(bad);
    expect(attempt).toThrow(/ringmaster\.monitoring\.alarmEmail: expected an email address/);
    expect(attempt).toThrow(/ringmaster\.monitoring\.metricsNamespace: must not start with "AWS\/"/);
    expect(attempt).toThrow(/ringmaster\.servers\.image: expected an image URI/);
  });
});
