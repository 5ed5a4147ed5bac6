import type { Logger } from 'pino';
import type { MetricDatum, MetricsSink } from '#core/ports/metrics-sink.js';
import { DIMENSIONS, PROXY_METRICS, SERVICES } from '#core/telemetry/metric-names.js';
import { type HistogramSnapshot, histogramDelta } from './latency-histogram.js';
import type { ProxySnapshot } from './snapshot.js';

/** In-flight requests are sampled this often between publications. */
export const INFLIGHT_SAMPLE_MS = 1000;
/** Periods kept while the sink fails; older ones are dropped (and counted) so memory stays bounded. */
export const MAX_BUFFERED_PERIODS = 15;
/** A final publication at shutdown gets this long. */
const FINAL_FLUSH_TIMEOUT_MS = 2000;

export interface PublisherOptions {
  readonly periodMs: number;
  /** The Environment dimension: the deployment's name. */
  readonly environment: string;
}

/**
 * Publishes the proxy's load once per period from the state snapshot:
 * request count, in-flight (average and maximum of 1 s samples), response
 * time as values/counts (so percentiles can be read back), 4xx, 5xx, healthy
 * servers, retries and ejections. It runs on timers beside the hot path and
 * never blocks it: a sink failure is logged once per streak, counted, and the
 * period is sent again with the next one, up to MAX_BUFFERED_PERIODS.
 */
export class MetricsPublisher {
  private baseline: ProxySnapshot | undefined;
  private inflight = new GaugeSamples();
  private openTunnels = new GaugeSamples();
  private readonly unsent: MetricDatum[][] = [];
  private sampleTimer: NodeJS.Timeout | undefined;
  private periodTimer: NodeJS.Timeout | undefined;
  private publishing: Promise<void> | undefined;
  private failingSince = 0;
  /** Failed publications since start. */
  errors = 0;
  /** Periods dropped because the sink stayed down past the buffer. */
  droppedPeriods = 0;

  constructor(
    private readonly snapshot: () => ProxySnapshot,
    /** Gauges sampled each second: requests in flight, tunnels open. */
    private readonly gauges: { readonly inflight: () => number; readonly openTunnels: () => number },
    private readonly sink: MetricsSink,
    private readonly options: PublisherOptions,
    private readonly log: Logger,
  ) {}

  start(): void {
    this.baseline = this.snapshot();
    this.sampleTimer = setInterval(() => this.sample(), INFLIGHT_SAMPLE_MS).unref();
    this.periodTimer = setInterval(() => void this.flush(), this.options.periodMs).unref();
  }

  async stop(): Promise<void> {
    clearInterval(this.sampleTimer);
    clearInterval(this.periodTimer);
    const final = this.flush();
    await Promise.race([final, new Promise((r) => setTimeout(r, FINAL_FLUSH_TIMEOUT_MS).unref())]);
  }

  /** Closes the current period and publishes it with any earlier unsent ones. One publication at a time. */
  flush(): Promise<void> {
    this.publishing ??= this.publishPeriod().finally(() => {
      this.publishing = undefined;
    });
    return this.publishing;
  }

  private sample(): void {
    this.inflight.add(this.gauges.inflight());
    this.openTunnels.add(this.gauges.openTunnels());
  }

  private async publishPeriod(): Promise<void> {
    const now = this.snapshot();
    this.unsent.push(this.periodData(now, this.baseline));
    this.baseline = now;
    if (this.unsent.length > MAX_BUFFERED_PERIODS) {
      this.droppedPeriods += this.unsent.length - MAX_BUFFERED_PERIODS;
      this.unsent.splice(0, this.unsent.length - MAX_BUFFERED_PERIODS);
    }
    const data = this.unsent.flat();
    try {
      await this.sink.publish(data);
      this.unsent.length = 0;
      if (this.failingSince !== 0) this.log.info({ periods: data.length }, 'metrics publishing recovered');
      this.failingSince = 0;
    } catch (err) {
      this.errors++;
      if (this.failingSince === 0) {
        this.failingSince = Date.now();
        this.log.warn({ err, buffered: this.unsent.length }, 'publishing metrics failed; retrying next period');
      }
    }
  }

  private periodData(now: ProxySnapshot, before: ProxySnapshot | undefined): MetricDatum[] {
    const timestamp = new Date(now.takenAt);
    const dimensions = { [DIMENSIONS.environment]: this.options.environment, [DIMENSIONS.service]: SERVICES.proxy };
    const count = (name: string, value: number): MetricDatum => ({ name, unit: 'Count', timestamp, dimensions, value });
    const t = now.totals;
    const b = before?.totals;
    const data = [
      count(PROXY_METRICS.requests, t.requests - (b?.requests ?? 0)),
      count(PROXY_METRICS.responses4xx, t.responses['4xx'] - (b?.responses['4xx'] ?? 0)),
      count(PROXY_METRICS.responses5xx, t.responses['5xx'] - (b?.responses['5xx'] ?? 0)),
      count(PROXY_METRICS.retries, t.retries - (b?.retries ?? 0)),
      count(PROXY_METRICS.ejections, t.ejections - (b?.ejections ?? 0)),
      count(PROXY_METRICS.healthyServers, now.ring.healthy),
      count(PROXY_METRICS.publishErrors, this.errors),
    ];
    for (const [name, s] of [
      [PROXY_METRICS.inflight, this.inflight],
      [PROXY_METRICS.openTunnels, this.openTunnels],
    ] as const) {
      if (s.samples === 0) continue;
      data.push({
        name,
        unit: 'Count',
        timestamp,
        dimensions,
        statistics: { sampleCount: s.samples, sum: s.sum, minimum: s.min, maximum: s.max },
      });
    }
    this.inflight = new GaugeSamples();
    this.openTunnels = new GaugeSamples();
    const latency = histogramDelta(t.latency, b?.latency);
    if (latency.count > 0) {
      data.push({
        name: PROXY_METRICS.responseTime,
        unit: 'Milliseconds',
        timestamp,
        dimensions,
        ...distribution(latency),
      });
    }
    return data;
  }
}

/** Non-empty buckets as CloudWatch values (each bucket's geometric middle) with their counts. */
export function distribution(h: HistogramSnapshot): { values: number[]; counts: number[] } {
  const values: number[] = [];
  const counts: number[] = [];
  for (let i = 0; i < h.counts.length; i++) {
    const c = h.counts[i] as number;
    if (c <= 0) continue;
    const upper = h.boundsMs[i] as number;
    const lower = i === 0 ? upper / 2 : (h.boundsMs[i - 1] as number);
    values.push(Number.isFinite(upper) ? Math.sqrt(lower * upper) : lower);
    counts.push(c);
  }
  return { values, counts };
}

/** One period's samples of a gauge, published as a statistic set (Average and Maximum read back). */
class GaugeSamples {
  samples = 0;
  sum = 0;
  min = Number.POSITIVE_INFINITY;
  max = 0;

  add(n: number): void {
    this.samples++;
    this.sum += n;
    if (n < this.min) this.min = n;
    if (n > this.max) this.max = n;
  }
}
