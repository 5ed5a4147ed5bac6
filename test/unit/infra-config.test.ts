import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { minimumBudgetUsd } from '#core/config/deployment.js';
import { AWS_LIST_PRICES } from '#core/pricing/deployment-cost.js';
import { DEFAULT_FARGATE_RATES, taskHourlyUsd } from '#core/pricing/fargate.js';
import { DEFAULT_METRICS_NAMESPACE } from '#core/telemetry/metric-names.js';
import { parseRingmasterConfig } from '#infra/config.js';

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

describe('cdk.json context: the autoscaler, pricing and monitoring settings', () => {
  it('ships the pricing module defaults and the contract namespace', () => {
    const config = parseRingmasterConfig(valid);
    expect(config.pricing.arm64).toEqual(DEFAULT_FARGATE_RATES.arm64);
    expect(config.pricing.x86_64).toEqual(DEFAULT_FARGATE_RATES.x86_64);
    expect(config.monitoring.metricsNamespace).toBe(DEFAULT_METRICS_NAMESPACE);
    expect(config.deletionProtection).toBe(true);
    expect(config.natGateways).toBe(0);
  });

  it('names the key and the accepted range for out-of-range numbers and unknown choices', () => {
    const bad = structuredClone(valid);
    bad.autoscaler.budgetUsd = 0.5;
    bad.autoscaler.budgetPeriod = 'year';
    bad.proxy.architecture = 'mips';
    bad.natGateways = 3;
    bad.deletionProtection = 'yes';
    const attempt = () => parseRingmasterConfig(bad);
    expect(attempt).toThrow(/ringmaster\.autoscaler\.budgetUsd: expected a number from 1 to 1000000/);
    expect(attempt).toThrow(/ringmaster\.autoscaler\.budgetPeriod: expected one of "day", "week", "month"/);
    expect(attempt).toThrow(/ringmaster\.proxy\.architecture: expected one of "arm64", "x86_64"/);
    expect(attempt).toThrow(/ringmaster\.natGateways: expected a whole number from 0 to 2/);
    expect(attempt).toThrow(/ringmaster\.deletionProtection: expected true or false/);
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
