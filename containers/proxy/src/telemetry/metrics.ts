import type { Fleet } from '../fleet/fleet.js';
import { statusClassIndex } from '../fleet/upstream-backend.js';
import type { RetryBudget } from '../forwarding/retry-budget.js';

/** Prometheus histogram bounds, seconds. */
const LATENCY_BOUNDS_S = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];
const LATENCY_BOUNDS_MS = LATENCY_BOUNDS_S.map((s) => s * 1000);

/** Proxy-wide counters. Updated on the hot path with plain increments, rendered on demand. */
export class ProxyMetrics {
  requests = 0;
  clientAborts = 0;
  retries = 0;
  noHealthyServer = 0;
  bodyTooLarge = 0;
  readonly statusClassCounts = new Float64Array(6);
  private readonly latencyCounts = new Float64Array(LATENCY_BOUNDS_MS.length + 1);
  private latencySumMs = 0;

  /** Records a finished request (status 0 when the client left before a reply). */
  observe(status: number, latencyMs: number): void {
    this.requests++;
    increment(this.statusClassCounts, statusClassIndex(status));
    this.latencySumMs += latencyMs;
    let i = 0;
    while (i < LATENCY_BOUNDS_MS.length && latencyMs > (LATENCY_BOUNDS_MS[i] as number)) i++;
    increment(this.latencyCounts, i);
  }

  /** Approximate latency quantile from the histogram (upper bucket bound), in ms. */
  quantileMs(q: number): number {
    const total = this.latencyCounts.reduce((a, b) => a + b, 0);
    if (total === 0) return 0;
    let seen = 0;
    for (let i = 0; i < this.latencyCounts.length; i++) {
      seen += this.latencyCounts[i] as number;
      if (seen >= q * total) return LATENCY_BOUNDS_MS[i] ?? Number.POSITIVE_INFINITY;
    }
    return Number.POSITIVE_INFINITY;
  }

  /** Prometheus text exposition format 0.0.4. */
  render(fleet: Fleet, budget: RetryBudget, membership: Record<string, number> = {}): string {
    const lines: string[] = [];
    const metric = (name: string, type: string, help: string) =>
      lines.push(`# HELP ${name} ${help}`, `# TYPE ${name} ${type}`);
    const classes = ['proxy', '1xx', '2xx', '3xx', '4xx', '5xx'];

    metric(
      'ringmaster_requests_total',
      'counter',
      'Requests finished, by response class (proxy = client left before any reply).',
    );
    classes.forEach((c, i) => {
      lines.push(`ringmaster_requests_total{class="${c}"} ${this.statusClassCounts[i]}`);
    });
    metric('ringmaster_request_duration_seconds', 'histogram', 'Time from request to end of response.');
    let cumulative = 0;
    LATENCY_BOUNDS_S.forEach((le, i) => {
      cumulative += this.latencyCounts[i] as number;
      lines.push(`ringmaster_request_duration_seconds_bucket{le="${le}"} ${cumulative}`);
    });
    cumulative += this.latencyCounts[LATENCY_BOUNDS_S.length] as number;
    lines.push(`ringmaster_request_duration_seconds_bucket{le="+Inf"} ${cumulative}`);
    lines.push(`ringmaster_request_duration_seconds_sum ${this.latencySumMs / 1000}`);
    lines.push(`ringmaster_request_duration_seconds_count ${cumulative}`);
    metric('ringmaster_client_aborts_total', 'counter', 'Requests abandoned by the client.');
    lines.push(`ringmaster_client_aborts_total ${this.clientAborts}`);
    metric('ringmaster_retries_total', 'counter', 'Attempts sent again to another server.');
    lines.push(`ringmaster_retries_total ${this.retries}`);
    metric('ringmaster_retry_budget_exhausted_total', 'counter', 'Retries refused by the retry budget.');
    lines.push(`ringmaster_retry_budget_exhausted_total ${budget.exhausted}`);
    metric('ringmaster_no_healthy_server_total', 'counter', 'Requests answered 503 for want of a server.');
    lines.push(`ringmaster_no_healthy_server_total ${this.noHealthyServer}`);
    metric('ringmaster_body_too_large_total', 'counter', 'Requests refused with 413.');
    lines.push(`ringmaster_body_too_large_total ${this.bodyTooLarge}`);
    metric('ringmaster_ejections_total', 'counter', 'Passive ejections of failing servers.');
    lines.push(`ringmaster_ejections_total ${fleet.ejectionsTotal}`);
    metric('ringmaster_panic_mode', 'gauge', '1 while fewer than the panic threshold of servers are healthy.');
    lines.push(`ringmaster_panic_mode ${fleet.panic ? 1 : 0}`);
    metric('ringmaster_inflight', 'gauge', 'Requests in flight to all servers.');
    lines.push(`ringmaster_inflight ${fleet.load.inflight}`);

    if (membership.errors !== undefined) {
      metric(
        'ringmaster_membership_errors_total',
        'counter',
        'Failed reads of the membership source (last membership kept).',
      );
      lines.push(`ringmaster_membership_errors_total ${membership.errors}`);
    }
    const servers = fleet.list();
    metric('ringmaster_server_inflight', 'gauge', 'Requests in flight per server.');
    for (const b of servers) lines.push(`ringmaster_server_inflight{server="${b.id}"} ${b.inflight}`);
    metric('ringmaster_server_available', 'gauge', '1 when the server may receive new requests.');
    for (const b of servers) lines.push(`ringmaster_server_available{server="${b.id}"} ${b.available ? 1 : 0}`);
    metric('ringmaster_server_requests_total', 'counter', 'Responses per server and class.');
    for (const b of servers) {
      classes.forEach((c, i) => {
        if (i > 0)
          lines.push(`ringmaster_server_requests_total{server="${b.id}",class="${c}"} ${b.statusClassCounts[i]}`);
      });
    }
    metric('ringmaster_server_upstream_errors_total', 'counter', 'Connect errors, resets and timeouts per server.');
    for (const b of servers)
      lines.push(`ringmaster_server_upstream_errors_total{server="${b.id}"} ${b.upstreamErrors}`);
    return `${lines.join('\n')}\n`;
  }
}

/** Typed-array increment; indices here are always in range. */
export function increment(counts: Float64Array, index: number): void {
  counts[index] = (counts[index] as number) + 1;
}
