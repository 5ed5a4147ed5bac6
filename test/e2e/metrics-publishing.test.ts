import { CloudWatchClient } from '@aws-sdk/client-cloudwatch';
import { request } from 'undici';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { DIMENSIONS, PROXY_METRICS, SERVICES } from '#core/telemetry/metric-names.js';
import { awsEnv } from '../helpers/aws.js';
import { metricPoints } from '../helpers/cloudwatch.js';
import { startTestProxy, startTestServer, type TestProxy, type TestServer, waitFor } from '../helpers/processes.js';
import { TcpGate } from '../helpers/tcp-gate.js';

/** Short periods so the test sees several publications; production uses 60 s. */
const PERIOD_MS = 1500;
const NAMESPACE = 'RingmasterTest';

function cloudWatch(): CloudWatchClient {
  const env = awsEnv();
  return new CloudWatchClient({
    endpoint: env.AWS_ENDPOINT_URL,
    region: env.AWS_REGION,
    credentials: { accessKeyId: env.AWS_ACCESS_KEY_ID ?? '', secretAccessKey: env.AWS_SECRET_ACCESS_KEY ?? '' },
  });
}

/** One statistic of one proxy metric for this environment over the last 10 minutes, summed over the buckets. */
async function readBack(environment: string, name: string, stat: string): Promise<number | undefined> {
  const points = await metricPoints(cloudWatch(), {
    namespace: NAMESPACE,
    name,
    dimensions: { [DIMENSIONS.environment]: environment, [DIMENSIONS.service]: SERVICES.proxy },
    stat,
    periodSeconds: 600,
  });
  return points.length === 0 ? undefined : points.reduce((sum, p) => sum + p.value, 0);
}

async function get(proxy: TestProxy, n: number): Promise<void> {
  for (let i = 0; i < n; i++) {
    const res = await request(`${proxy.url}/home?request_id=${i}`);
    await res.body.dump();
    expect(res.statusCode).toBe(200);
  }
}

describe('the proxy publishes its load to CloudWatch', () => {
  const servers: TestServer[] = [];
  const proxies: TestProxy[] = [];
  let gate: TcpGate;
  beforeAll(async () => {
    servers.push(await startTestServer('m1', undefined), await startTestServer('m2', undefined));
    const endpoint = new URL(inject('awsEndpoint'));
    gate = new TcpGate(endpoint.hostname, Number(endpoint.port));
    await gate.open();
  });
  afterAll(async () => {
    await Promise.all([...proxies, ...servers].map((p) => p.stop()));
    await gate.close();
  });

  const proxyFor = async (environment: string, endpoint: string) => {
    const proxy = await startTestProxy({
      ...awsEnv(endpoint),
      MEMBERSHIP: 'static',
      STATIC_SERVERS: servers.map((s) => `${s.id}=${s.address}`).join(','),
      METRICS_SINK: 'cloudwatch',
      METRICS_NAMESPACE: NAMESPACE,
      METRICS_PERIOD_MS: String(PERIOD_MS),
      ENV_NAME: environment,
    });
    proxies.push(proxy);
    return proxy;
  };

  it('request count, response-time percentiles, in-flight and healthy servers read back from GetMetricData', async () => {
    const environment = `pub${Date.now().toString(36)}`;
    const proxy = await proxyFor(environment, inject('awsEndpoint'));
    await get(proxy, 300);
    await waitFor(
      async () => (await readBack(environment, PROXY_METRICS.requests, 'Sum')) === 300,
      4 * PERIOD_MS + 5000,
      'all 300 requests to be published',
    );
    const p99 = await readBack(environment, PROXY_METRICS.responseTime, 'p99');
    const p50 = await readBack(environment, PROXY_METRICS.responseTime, 'p50');
    expect(p50).toBeGreaterThan(0);
    expect(p99).toBeGreaterThanOrEqual(p50 ?? 0);
    // A loopback /home takes well under a second end to end, even on a loaded machine.
    expect(p99).toBeLessThan(1000);
    expect(await readBack(environment, PROXY_METRICS.healthyServers, 'Maximum')).toBe(2);
    expect(await readBack(environment, PROXY_METRICS.inflight, 'SampleCount')).toBeGreaterThan(0);
    expect(await readBack(environment, PROXY_METRICS.responses5xx, 'Sum')).toBe(0);
  });

  it('keeps the figures through a CloudWatch outage and publishes them once it is back', async () => {
    const environment = `out${Date.now().toString(36)}`;
    const proxy = await proxyFor(environment, gate.url);
    await get(proxy, 50);
    await waitFor(
      async () => (await readBack(environment, PROXY_METRICS.requests, 'Sum')) === 50,
      4 * PERIOD_MS + 5000,
      'the first 50 requests to be published',
    );
    await gate.close();
    await get(proxy, 70); // requests keep flowing while metrics cannot be sent
    await new Promise((r) => setTimeout(r, 3 * PERIOD_MS));
    expect(await readBack(environment, PROXY_METRICS.requests, 'Sum')).toBe(50);
    await gate.open();
    await waitFor(
      async () => (await readBack(environment, PROXY_METRICS.requests, 'Sum')) === 120,
      4 * PERIOD_MS + 10_000,
      'the outage period to be published after it',
    );
    expect(await readBack(environment, PROXY_METRICS.publishErrors, 'Maximum')).toBeGreaterThan(0);
  });
});
