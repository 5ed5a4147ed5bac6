import { Metrics } from '@aws-lambda-powertools/metrics';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { AUTOSCALER_METRICS, DIMENSIONS } from '#core/telemetry/metric-names.js';
import { EmfMetricsSink } from '#functions/autoscaler/adapters/emf-metrics-sink.js';

afterEach(() => vi.restoreAllMocks());

describe("the autoscaler's embedded-metric output (Powertools Metrics)", () => {
  it('writes one EMF line per datum, with exactly its dimensions, unit and timestamp', async () => {
    // Powertools writes through its own Console on stdout, as in Lambda.
    const lines: string[] = [];
    vi.spyOn(process.stdout, 'write').mockImplementation((chunk: string | Uint8Array) => {
      lines.push(String(chunk));
      return true;
    });
    const sink = new EmfMetricsSink(new Metrics({ namespace: 'Ringmaster', serviceName: 'ringmaster-autoscaler' }));
    const timestamp = new Date('2026-11-23T14:00:00Z');
    const env = { [DIMENSIONS.environment]: 'dev' };
    await sink.publish([
      {
        name: AUTOSCALER_METRICS.desiredCount,
        unit: 'Count',
        timestamp,
        dimensions: { ...env, [DIMENSIONS.service]: 'servers' },
        value: 5,
      },
      { name: AUTOSCALER_METRICS.spendUsd, unit: 'None', timestamp, dimensions: env, value: 1.25 },
    ]);
    const emitted = lines.map((l) => JSON.parse(l));
    expect(emitted).toEqual([
      {
        _aws: {
          Timestamp: timestamp.getTime(),
          CloudWatchMetrics: [
            {
              Namespace: 'Ringmaster',
              Dimensions: [['Environment', 'Service']],
              Metrics: [{ Name: AUTOSCALER_METRICS.desiredCount, Unit: 'Count' }],
            },
          ],
        },
        Environment: 'dev',
        Service: 'servers',
        [AUTOSCALER_METRICS.desiredCount]: 5,
      },
      {
        _aws: {
          Timestamp: timestamp.getTime(),
          CloudWatchMetrics: [
            {
              Namespace: 'Ringmaster',
              Dimensions: [['Environment']],
              Metrics: [{ Name: AUTOSCALER_METRICS.spendUsd, Unit: 'None' }],
            },
          ],
        },
        Environment: 'dev',
        [AUTOSCALER_METRICS.spendUsd]: 1.25,
      },
    ]);
  });

  it('refuses a distribution rather than drop it', async () => {
    vi.spyOn(process.stdout, 'write').mockImplementation(() => true);
    const sink = new EmfMetricsSink(new Metrics({ namespace: 'Ringmaster' }));
    await expect(
      sink.publish([
        { name: 'ResponseTime', unit: 'Milliseconds', timestamp: new Date(), dimensions: {}, values: [1], counts: [1] },
      ]),
    ).rejects.toThrow('ResponseTime: the embedded-metric sink takes single values, not distributions');
  });
});
