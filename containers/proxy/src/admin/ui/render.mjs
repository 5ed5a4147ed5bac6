// Renders one /status report (the proxy's one snapshot) into the page's
// sections. Each function replaces its section's content; a snapshot a
// second makes that cheap enough and keeps the code obvious.
import { cell, count, h, ms, percent, rate, usd, weight, when } from './dom.mjs';

/** The server's health in one word, also set as data-health for styling and tests. Failing health checks come first. */
export function healthOf(server) {
  if (!server.healthy) return 'unhealthy';
  return server.ejectedForMs > 0 ? 'ejected' : 'healthy';
}

export function renderSummary(el, report, rates) {
  const { totals, ring } = report;
  const stat = (label, value) => h('div', {}, h('dt', {}, label), h('dd', {}, value));
  el.replaceChildren(
    stat('Strategy', report.strategy),
    stat('Hash key', report.hashKey),
    stat('Membership', `${report.membership} · scaler ${report.scaler}`),
    stat('Servers healthy', `${ring.healthy} of ${ring.members}`),
    stat('Mode', report.panic ? h('span', { class: 'badge panic' }, 'panic: routing to all') : 'normal'),
    stat('Requests/s', rate(rates.total)),
    stat('In flight', count(totals.inflight)),
    stat('Tunnels open', count(report.tunnels?.open ?? 0)),
    stat('Latency p50 / p99', `${ms(totals.p50Ms)} / ${ms(totals.p99Ms)}`),
    stat('Requests', count(totals.requests)),
    stat('5xx / retries', `${count(totals.responses['5xx'])} / ${count(totals.retries)}`),
  );
}

export function renderServers(tbody, empty, report, rates, colourOf) {
  tbody.replaceChildren(...report.servers.map((s) => serverRow(s, rates.byServer.get(s.id), colourOf(s.id))));
  empty.hidden = report.servers.length > 0;
}

function serverRow(s, serverRate, colour) {
  const health = healthOf(s);
  const ramp = s.slowStart
    ? [
        h('span', { class: 'badge ramping' }, 'ramping'),
        h(
          'span',
          { class: 'ramp', title: 'slow start' },
          h('span', { style: { width: percent(s.effectiveWeight / s.weight) } }),
        ),
      ]
    : [];
  return h(
    'tr',
    { 'data-server': s.id, 'data-health': health, 'data-status': s.status },
    cell('Server', [
      h('span', { class: 'swatch', style: { background: colour }, 'aria-hidden': 'true' }),
      h('span', { class: 'server-id' }, s.id),
      h('span', { class: 'address' }, s.address),
    ]),
    cell('Health', [
      h('span', { class: `badge ${s.healthy ? 'healthy' : 'unhealthy'}` }, s.healthy ? 'healthy' : 'unhealthy'),
      s.ejectedForMs > 0
        ? h('span', { class: 'badge ejected' }, `ejected ${Math.ceil(s.ejectedForMs / 1000)} s`)
        : null,
      s.status === 'draining' ? h('span', { class: 'badge draining' }, 'draining') : null,
    ]),
    cell('Weight', [s.slowStart ? `${weight(s.effectiveWeight)} of ${weight(s.weight)} ` : weight(s.weight), ...ramp]),
    cell('In flight', count(s.inflight), 'num'),
    cell('Tunnels', count(s.openTunnels ?? 0), 'num'),
    cell('Req/s', rate(serverRate), 'num'),
    cell('Requests', count(s.requests), 'num'),
    cell('p50', ms(s.p50Ms), 'num'),
    cell('p99', ms(s.p99Ms), 'num'),
    cell('Ejections', count(s.ejections), 'num'),
  );
}

export function renderHashSpace(el, report, colourOf, now) {
  const space = report.hashSpace;
  if (!space) {
    el.replaceChildren(
      h('p', { class: 'note' }, `${report.strategy} does not hash keys to servers, so there is no hash space to show.`),
    );
    return;
  }
  const byId = new Map(report.servers.map((s) => [s.id, s]));
  const totalWeight = space.shares.reduce((sum, share) => sum + (byId.get(share.id)?.effectiveWeight ?? 0), 0);
  const split = h(
    'div',
    { class: 'split', 'aria-hidden': 'true' },
    space.shares.map((share) =>
      h(
        'span',
        {
          style: { width: percent(share.share), background: colourOf(share.id) },
          title: `${share.id} ${percent(share.share)}`,
        },
        share.share >= 0.08 ? share.id : '',
      ),
    ),
  );
  const rows = space.shares.map((share) => {
    const fair = totalWeight > 0 ? (byId.get(share.id)?.effectiveWeight ?? 0) / totalWeight : null;
    return h(
      'tr',
      { 'data-server': share.id },
      h(
        'td',
        {},
        h('span', { class: 'swatch', style: { background: colourOf(share.id) }, 'aria-hidden': 'true' }),
        share.id,
      ),
      h('td', { class: 'num' }, percent(share.share)),
      h('td', { class: 'num' }, percent(fair)),
    );
  });
  el.replaceChildren(
    h('p', { class: 'note' }, `How the ${space.algorithm} table splits the key space between the servers.`),
    split,
    h(
      'table',
      {},
      h('caption', { class: 'visually-hidden' }, 'Share of the key space per server'),
      h(
        'thead',
        {},
        h(
          'tr',
          {},
          h('th', { scope: 'col' }, 'Server'),
          h('th', { scope: 'col', class: 'num' }, 'Share'),
          h('th', { scope: 'col', class: 'num' }, 'By weight'),
        ),
      ),
      h('tbody', {}, rows),
    ),
    h('h3', {}, 'Last membership change'),
    lastChange(space.lastChange, now),
  );
}

function lastChange(change, now) {
  if (!change) return h('p', { class: 'note' }, 'None yet.');
  const who = [
    change.joined.length > 0 ? `${change.joined.join(', ')} joined` : null,
    change.left.length > 0 ? `${change.left.join(', ')} left` : null,
  ]
    .filter(Boolean)
    .join('; ');
  return h(
    'p',
    { class: 'change', id: 'last-change' },
    h('strong', {}, who || 'members changed'),
    ` · ${percent(change.movedFraction)} of the key space moved to another server · ${when(change.at, now)}`,
  );
}

export function renderShards(el, shards) {
  if (shards === undefined) {
    el.replaceChildren(h('p', { class: 'note' }, 'The records API is off on this proxy (no SHARD_TABLE).'));
    return;
  }
  if (shards.length === 0) {
    el.replaceChildren(h('p', { class: 'note' }, 'No shards yet: the records API is on, and POST /init creates them.'));
    return;
  }
  el.replaceChildren(
    h(
      'div',
      { class: 'table-wrap' },
      h(
        'table',
        {},
        h(
          'thead',
          {},
          h(
            'tr',
            {},
            h('th', { scope: 'col' }, 'Shard'),
            h('th', { scope: 'col' }, 'Record ids'),
            h('th', { scope: 'col' }, 'Servers'),
          ),
        ),
        h(
          'tbody',
          {},
          shards.map((shard) =>
            h(
              'tr',
              { 'data-shard': shard.id },
              h('td', {}, shard.id),
              h('td', {}, `${count(shard.low)}–${count(shard.low + shard.size - 1)}`),
              h(
                'td',
                {},
                shard.servers.map((id) =>
                  id === shard.primary
                    ? h('span', { class: 'badge primary', title: 'primary' }, `${id} primary`)
                    : h('span', { class: 'badge replica' }, id),
                ),
                shard.primary === null ? h('span', { class: 'badge unhealthy' }, 'no primary') : null,
              ),
            ),
          ),
        ),
      ),
    ),
  );
}

export function renderAutoscaler(el, autoscaler, now) {
  if (!autoscaler) {
    el.replaceChildren(h('p', { class: 'note', id: 'autoscaler-absent' }, 'Autoscaler not configured.'));
    return;
  }
  const { budget } = autoscaler;
  const spent = budget.budgetUsd > 0 ? budget.spendUsd / budget.budgetUsd : 0;
  el.replaceChildren(
    h('h3', {}, 'Services'),
    h(
      'table',
      {},
      h(
        'thead',
        {},
        h(
          'tr',
          {},
          ['Service', 'Desired', 'Running', 'Pending'].map((t, i) =>
            h('th', { scope: 'col', class: i > 0 ? 'num' : '' }, t),
          ),
        ),
      ),
      h(
        'tbody',
        {},
        autoscaler.services.map((s) =>
          h(
            'tr',
            {},
            h('td', {}, s.name),
            h('td', { class: 'num' }, count(s.desired)),
            h('td', { class: 'num' }, count(s.running)),
            h('td', { class: 'num' }, count(s.pending)),
          ),
        ),
      ),
    ),
    h('h3', {}, 'Budget'),
    h(
      'p',
      {},
      `${usd(budget.spendUsd)} spent of ${usd(budget.budgetUsd)} · ${usd(budget.remainingUsd)} left · projected ${usd(budget.projectedSpendUsd)}`,
    ),
    h(
      'div',
      { class: `meter${budget.projectedSpendUsd > budget.budgetUsd ? ' over' : ''}`, 'aria-hidden': 'true' },
      h('span', { style: { width: percent(Math.min(1, spent)) } }),
    ),
    h('h3', {}, 'Last decisions'),
    autoscaler.decisions.length === 0
      ? h('p', { class: 'note' }, 'None yet.')
      : h(
          'div',
          { class: 'table-wrap' },
          h(
            'table',
            {},
            h(
              'thead',
              {},
              h(
                'tr',
                {},
                ['When', 'Service', 'Change', 'Reason'].map((t) => h('th', { scope: 'col' }, t)),
              ),
            ),
            h(
              'tbody',
              {},
              autoscaler.decisions.map((d) =>
                h(
                  'tr',
                  {},
                  h('td', {}, when(d.at, now)),
                  h('td', {}, d.service),
                  h('td', {}, `${d.from} → ${d.to}`),
                  h(
                    'td',
                    {},
                    d.reason,
                    d.budgetLimited ? h('span', { class: 'badge ejected' }, 'budget-limited') : null,
                  ),
                ),
              ),
            ),
          ),
        ),
  );
}
