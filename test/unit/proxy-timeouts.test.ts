import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { MAX_TUNNELS_PER_PROXY_TASK } from '#core/config/deployment.js';
import {
  AFTER_SHUTDOWN_S,
  AFTER_TUNNEL_DRAIN_S,
  ALB_MAX_IDLE_TIMEOUT_S,
  FARGATE_MAX_STOP_TIMEOUT_S,
  MAX_TUNNEL_DRAIN_S,
  proxyTimeouts,
} from '#core/config/proxy-timeouts.js';
import { repoRoot } from '#devkit/repo-root.js';
import { parseRingmasterConfig } from '#infra/config.js';

const cdkJson = JSON.parse(readFileSync(join(repoRoot(), 'cdk.json'), 'utf8'));
const valid = cdkJson.context.ringmaster;

/** The proxy's accepted ranges for the settings the CDK app sets (issue 19's shared names), in ms. */
const PROXY_RANGES_MS = {
  TUNNEL_IDLE_TIMEOUT_MS: [1000, 4_000_000],
  CLIENT_KEEPALIVE_TIMEOUT_MS: [100, 4_100_000],
  SHUTDOWN_TIMEOUT_MS: [0, 3_600_000],
  DRAIN_TIMEOUT_MS: [0, 3_600_000],
} as const;

describe('cdk.json context: the tunnel settings', () => {
  it('ships 300 s idle, 10,000 tunnels per proxy and a 20 s drain, and defaults to them when absent', () => {
    const shipped = parseRingmasterConfig(valid).proxy;
    expect(shipped).toMatchObject({ tunnelIdleTimeoutSeconds: 300, maxTunnels: 10_000, tunnelDrainSeconds: 20 });
    const bare = structuredClone(valid);
    delete bare.proxy.tunnelIdleTimeoutSeconds;
    delete bare.proxy.maxTunnels;
    delete bare.proxy.tunnelDrainSeconds;
    expect(parseRingmasterConfig(bare).proxy).toMatchObject({
      tunnelIdleTimeoutSeconds: 300,
      maxTunnels: 10_000,
      tunnelDrainSeconds: 20,
    });
  });

  it('names each malformed tunnel setting and its range', () => {
    const bad = structuredClone(valid);
    bad.proxy.tunnelIdleTimeoutSeconds = 0;
    bad.proxy.maxTunnels = 1.5;
    bad.proxy.tunnelDrainSeconds = -1;
    const attempt = () => parseRingmasterConfig(bad);
    expect(attempt).toThrow(/ringmaster\.proxy\.tunnelIdleTimeoutSeconds: expected a whole number from 1 to 86400/);
    expect(attempt).toThrow(/ringmaster\.proxy\.maxTunnels: expected a whole number from 0 to 1000000/);
    expect(attempt).toThrow(/ringmaster\.proxy\.tunnelDrainSeconds: expected a whole number from 0 to 3600/);
    bad.proxy.maxTunnels = 1_000_001;
    expect(attempt).toThrow(/ringmaster\.proxy\.maxTunnels: expected a whole number from 0 to 1000000/);
  });

  it('refuses more tunnels than a Fargate task has file descriptors for, saying why', () => {
    const bad = structuredClone(valid);
    bad.proxy.maxTunnels = MAX_TUNNELS_PER_PROXY_TASK + 1;
    expect(() => parseRingmasterConfig(bad)).toThrow(
      /ringmaster\.proxy\.maxTunnels: must be at most 30000: each tunnel holds two sockets, and a Fargate container may open 65535 files/,
    );
    bad.proxy.maxTunnels = MAX_TUNNELS_PER_PROXY_TASK;
    expect(parseRingmasterConfig(bad).proxy.maxTunnels).toBe(30_000);
  });

  it('refuses an idle timeout the load balancer cannot match and a drain ECS would cut short, saying why', () => {
    const bad = structuredClone(valid);
    bad.proxy.tunnelIdleTimeoutSeconds = ALB_MAX_IDLE_TIMEOUT_S + 1;
    bad.proxy.tunnelDrainSeconds = MAX_TUNNEL_DRAIN_S + 1;
    const attempt = () => parseRingmasterConfig(bad);
    expect(attempt).toThrow(
      /ringmaster\.proxy\.tunnelIdleTimeoutSeconds: must be at most 4000 s: the load balancer's idle timeout must be at least the tunnels'/,
    );
    expect(attempt).toThrow(
      /ringmaster\.proxy\.tunnelDrainSeconds: must be at most 100 s: .* Fargate kills a task at most 120 s after SIGTERM/,
    );
    const edge = structuredClone(valid);
    edge.proxy.tunnelIdleTimeoutSeconds = ALB_MAX_IDLE_TIMEOUT_S;
    edge.proxy.tunnelDrainSeconds = MAX_TUNNEL_DRAIN_S;
    edge.proxy.maxTunnels = 0;
    expect(parseRingmasterConfig(edge).proxy).toMatchObject({ tunnelIdleTimeoutSeconds: 4000, maxTunnels: 0 });
  });
});

describe('proxy timeouts', () => {
  it('at the shipped settings: ALB idle 300 s, keep-alive 305 s, and the stop timings of today', () => {
    expect(proxyTimeouts({ tunnelIdleTimeoutSeconds: 300, tunnelDrainSeconds: 20 })).toEqual({
      loadBalancerIdleTimeoutS: 300,
      deregistrationDelayS: 30,
      stopTimeoutS: 60,
      env: {
        TUNNEL_IDLE_TIMEOUT_MS: 300_000,
        TUNNEL_DRAIN_MS: 20_000,
        CLIENT_KEEPALIVE_TIMEOUT_MS: 305_000,
        SHUTDOWN_TIMEOUT_MS: 25_000,
        DRAIN_TIMEOUT_MS: 30_000,
      },
    });
  });

  it('never lowers the load balancer below its 60 s default for short tunnel timeouts', () => {
    const t = proxyTimeouts({ tunnelIdleTimeoutSeconds: 10, tunnelDrainSeconds: 0 });
    expect(t.loadBalancerIdleTimeoutS).toBe(60);
    expect(t.env.CLIENT_KEEPALIVE_TIMEOUT_MS).toBe(65_000);
    expect(t.env.TUNNEL_IDLE_TIMEOUT_MS).toBe(10_000);
  });

  it('keeps the order for every allowed setting: tunnel idle <= ALB idle < keep-alive; drain < shutdown < stop <= 120 s', () => {
    const idles = [1, 59, 60, 61, 300, 595, 596, 3600, 3999, ALB_MAX_IDLE_TIMEOUT_S];
    const drains = [0, 1, 19, 20, 21, 25, 26, 60, 99, MAX_TUNNEL_DRAIN_S];
    for (const idle of idles) {
      for (const drain of drains) {
        const t = proxyTimeouts({ tunnelIdleTimeoutSeconds: idle, tunnelDrainSeconds: drain });
        const at = `idle ${idle} s, drain ${drain} s`;
        expect(t.loadBalancerIdleTimeoutS, at).toBeGreaterThanOrEqual(idle);
        expect(t.loadBalancerIdleTimeoutS, at).toBeLessThanOrEqual(ALB_MAX_IDLE_TIMEOUT_S);
        expect(t.env.CLIENT_KEEPALIVE_TIMEOUT_MS, at).toBeGreaterThan(t.loadBalancerIdleTimeoutS * 1000);
        expect(t.env.SHUTDOWN_TIMEOUT_MS, at).toBeGreaterThanOrEqual((drain + AFTER_TUNNEL_DRAIN_S) * 1000);
        expect(t.env.DRAIN_TIMEOUT_MS, at).toBeGreaterThanOrEqual((drain + AFTER_TUNNEL_DRAIN_S) * 1000);
        expect(t.stopTimeoutS * 1000, at).toBeGreaterThanOrEqual(t.env.SHUTDOWN_TIMEOUT_MS + AFTER_SHUTDOWN_S * 1000);
        expect(t.stopTimeoutS, at).toBeLessThanOrEqual(FARGATE_MAX_STOP_TIMEOUT_S);
        for (const [name, [min, max]] of Object.entries(PROXY_RANGES_MS)) {
          const value = t.env[name as keyof typeof PROXY_RANGES_MS];
          expect(value, `${name} at ${at}`).toBeGreaterThanOrEqual(min);
          expect(value, `${name} at ${at}`).toBeLessThanOrEqual(max);
        }
      }
    }
  });

  it('throws, naming the field, on settings that cannot hold', () => {
    expect(() => proxyTimeouts({ tunnelIdleTimeoutSeconds: 4001, tunnelDrainSeconds: 101 })).toThrow(
      /proxy\.tunnelIdleTimeoutSeconds: must be at most 4000 s.*; proxy\.tunnelDrainSeconds: must be at most 100 s/,
    );
  });
});
