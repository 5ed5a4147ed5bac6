import type { HistogramSnapshot } from './latency-histogram.js';
import type { ProxySnapshot, ResponseCounts } from './snapshot.js';

/** Every fourth bucket bound (the powers of two) is exported as a Prometheus `le`, so counts stay exact. */
const EXPORTED_BUCKET_STRIDE = 4;
const CLASSES: readonly (keyof ResponseCounts)[] = ['proxy', '1xx', '2xx', '3xx', '4xx', '5xx'];

/** The snapshot in Prometheus text exposition format 0.0.4. */
export function renderPrometheus(s: ProxySnapshot): string {
  const lines: string[] = [];
  const metric = (name: string, type: string, help: string) =>
    lines.push(`# HELP ${name} ${help}`, `# TYPE ${name} ${type}`);
  const { totals } = s;

  metric(
    'ringmaster_requests_total',
    'counter',
    'Requests finished, by response class (proxy = client left before any reply).',
  );
  for (const c of CLASSES) lines.push(`ringmaster_requests_total{class="${c}"} ${totals.responses[c]}`);
  metric('ringmaster_request_duration_seconds', 'histogram', 'Time from request to end of response.');
  histogramLines(lines, 'ringmaster_request_duration_seconds', totals.latency);
  metric('ringmaster_client_aborts_total', 'counter', 'Requests abandoned by the client.');
  lines.push(`ringmaster_client_aborts_total ${totals.clientAborts}`);
  metric('ringmaster_retries_total', 'counter', 'Attempts sent again to another server.');
  lines.push(`ringmaster_retries_total ${totals.retries}`);
  metric('ringmaster_retry_budget_exhausted_total', 'counter', 'Retries refused by the retry budget.');
  lines.push(`ringmaster_retry_budget_exhausted_total ${totals.retryBudgetExhausted}`);
  metric('ringmaster_no_healthy_server_total', 'counter', 'Requests answered 503 for want of a server.');
  lines.push(`ringmaster_no_healthy_server_total ${totals.noHealthyServer}`);
  metric('ringmaster_body_too_large_total', 'counter', 'Requests refused with 413.');
  lines.push(`ringmaster_body_too_large_total ${totals.bodyTooLarge}`);
  metric('ringmaster_ejections_total', 'counter', 'Passive ejections of failing servers.');
  lines.push(`ringmaster_ejections_total ${totals.ejections}`);
  metric('ringmaster_panic_mode', 'gauge', '1 while fewer than the panic threshold of servers are healthy.');
  lines.push(`ringmaster_panic_mode ${s.panic ? 1 : 0}`);
  metric('ringmaster_inflight', 'gauge', 'Requests in flight to all servers.');
  lines.push(`ringmaster_inflight ${totals.inflight}`);
  const t = s.tunnels;
  metric('ringmaster_tunnels_open', 'gauge', 'Tunnels (WebSocket and other upgrades) open through this proxy.');
  lines.push(`ringmaster_tunnels_open ${t.open}`);
  metric('ringmaster_tunnels_opened_total', 'counter', 'Tunnels opened (the server answered 101).');
  lines.push(`ringmaster_tunnels_opened_total ${t.opened}`);
  metric('ringmaster_tunnels_refused_total', 'counter', 'Upgrades refused with 503 because MAX_TUNNELS were open.');
  lines.push(`ringmaster_tunnels_refused_total ${t.refusedFull}`);
  metric('ringmaster_tunnels_closed_by_proxy_total', 'counter', 'Tunnels the proxy closed: idle, or drained.');
  lines.push(`ringmaster_tunnels_closed_by_proxy_total{reason="idle"} ${t.closedIdle}`);
  lines.push(`ringmaster_tunnels_closed_by_proxy_total{reason="drain"} ${t.closedByDrain}`);
  metric(
    'ringmaster_membership_errors_total',
    'counter',
    'Failed reads of the membership source (last membership kept).',
  );
  lines.push(`ringmaster_membership_errors_total ${s.membership.errors}`);

  metric('ringmaster_server_inflight', 'gauge', 'Requests in flight per server.');
  for (const b of s.servers) lines.push(`ringmaster_server_inflight{server="${b.id}"} ${b.inflight}`);
  metric('ringmaster_server_tunnels_open', 'gauge', 'Tunnels open per server.');
  for (const b of s.servers) lines.push(`ringmaster_server_tunnels_open{server="${b.id}"} ${b.openTunnels}`);
  metric('ringmaster_server_available', 'gauge', '1 when the server may receive new requests.');
  for (const b of s.servers) lines.push(`ringmaster_server_available{server="${b.id}"} ${b.available ? 1 : 0}`);
  metric('ringmaster_server_requests_total', 'counter', 'Responses per server and class.');
  for (const b of s.servers) {
    for (const c of CLASSES) {
      if (c !== 'proxy')
        lines.push(`ringmaster_server_requests_total{server="${b.id}",class="${c}"} ${b.responses[c]}`);
    }
  }
  metric('ringmaster_server_upstream_errors_total', 'counter', 'Connect errors, resets and timeouts per server.');
  for (const b of s.servers)
    lines.push(`ringmaster_server_upstream_errors_total{server="${b.id}"} ${b.upstreamErrors}`);
  return `${lines.join('\n')}\n`;
}

function histogramLines(lines: string[], name: string, h: HistogramSnapshot): void {
  let cumulative = 0;
  for (let i = 0; i < h.counts.length - 1; i++) {
    cumulative += h.counts[i] as number;
    if (i % EXPORTED_BUCKET_STRIDE === 0) {
      lines.push(`${name}_bucket{le="${(h.boundsMs[i] as number) / 1000}"} ${cumulative}`);
    }
  }
  lines.push(`${name}_bucket{le="+Inf"} ${h.count}`);
  lines.push(`${name}_sum ${h.sumMs / 1000}`);
  lines.push(`${name}_count ${h.count}`);
}
