import { randomBytes } from 'node:crypto';
import { CloudWatchClient } from '@aws-sdk/client-cloudwatch';
import { beforeAll, describe, expect, inject, it } from 'vitest';
import { CloudWatchSink } from '#core/aws/cloudwatch-sink.js';
import type { MetricDatum } from '#core/ports/metrics-sink.js';
import { DIMENSIONS, PROXY_METRICS, SERVICES } from '#core/telemetry/metric-names.js';
import {
  CloudWatchLoadReader,
  HISTORY_BUCKET_MINUTES,
  HISTORY_DAYS,
  historyWindow,
} from '#functions/autoscaler/adapters/cloudwatch-load.js';
import { fitForecast, MS_PER_WEEK, WEEK_ANCHOR_MS } from '#functions/autoscaler/forecast.js';
import type { LoadReading } from '#functions/autoscaler/ports.js';
import { clientConfig } from '../helpers/aws.js';

const NAMESPACE = 'RingmasterHistoryTest';
const MINUTE_MS = 60_000;
const BUCKET_MS = HISTORY_BUCKET_MINUTES * MINUTE_MS;
const DAY_MS = 24 * 60 * MINUTE_MS;

/** Weekdays at 100 rps, weekends at 20: a pattern only a weekly index can hold. */
const rpsAt = (ms: number) => {
  const day = Math.floor((((ms - WEEK_ANCHOR_MS) % MS_PER_WEEK) + MS_PER_WEEK) / DAY_MS) % 7;
  return day >= 5 ? 20 : 100;
};

describe('the forecast reads two weeks of history from the emulator', () => {
  const endpoint = inject('awsEndpoint');
  const environment = `hist${randomBytes(3).toString('hex')}`;
  const cloudWatch = new CloudWatchClient(clientConfig(endpoint));
  const nowMs = Date.now();
  const window = historyWindow(nowMs);
  let reading: LoadReading;

  beforeAll(async () => {
    // One request sum per 5-minute bucket, as the proxies' per-minute sums add up to in CloudWatch.
    const dims = { [DIMENSIONS.environment]: environment, [DIMENSIONS.service]: SERVICES.proxy };
    const data: MetricDatum[] = [];
    for (let start = window.startMs; start + BUCKET_MS <= window.endMs; start += BUCKET_MS) {
      const value = rpsAt(start) * (BUCKET_MS / 1000);
      data.push({
        name: PROXY_METRICS.requests,
        unit: 'Count',
        timestamp: new Date(start + 30_000),
        dimensions: dims,
        value,
      });
    }
    await new CloudWatchSink(cloudWatch, NAMESPACE).publish(data);
    reading = await new CloudWatchLoadReader(cloudWatch, {
      namespace: NAMESPACE,
      environment,
      cluster: 'none',
      serviceNames: { proxy: 'proxy', servers: 'servers' },
    }).read(nowMs);
  }, 120_000);

  it(`returns every 5-minute bucket of ${HISTORY_DAYS} days in one read, in place`, () => {
    const { history } = reading;
    expect(history.startMs).toBe(window.startMs);
    expect(history.bucketMinutes).toBe(HISTORY_BUCKET_MINUTES);
    expect(history.requestsPerSecond.length).toBe(Math.floor((window.endMs - window.startMs) / BUCKET_MS));
    expect(history.requestsPerSecond.length).toBeGreaterThanOrEqual((HISTORY_DAYS * DAY_MS) / BUCKET_MS);
    const wrong: number[] = [];
    for (let i = 0; i < history.requestsPerSecond.length; i++) {
      const expected = rpsAt(history.startMs + i * BUCKET_MS);
      if (Math.abs((history.requestsPerSecond[i] ?? Number.NaN) - expected) > 1e-9) wrong.push(i);
    }
    expect(wrong).toEqual([]);
  });

  it('gives the forecast its weekly pattern: the next Saturday is a weekend day, the next Monday a weekday', () => {
    const model = fitForecast(reading.history);
    expect(model?.weekly).toBe(true);
    const sinceMonday = (((nowMs - WEEK_ANCHOR_MS) % MS_PER_WEEK) + MS_PER_WEEK) % MS_PER_WEEK;
    const nextMonday = nowMs - sinceMonday + MS_PER_WEEK + 12 * 60 * MINUTE_MS;
    expect(model?.at(nextMonday)).toBeCloseTo(100, 0);
    expect(model?.at(nextMonday - 2 * DAY_MS)).toBeCloseTo(20, 0);
  });
});
