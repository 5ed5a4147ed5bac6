/**
 * `npm run cost -- --markdown`: what the deployment in cdk.json costs per
 * month at the default fleet and at larger ones, line by line, from the
 * pricing modules in core (the table in the README is this output).
 * `--json` prints the numbers instead.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseDeploymentConfig } from '#core/config/deployment.js';
import {
  type CostLines,
  type Fleet,
  fixedOverheadHourlyUsd,
  HOURS_PER_MONTH,
  hourlyCost,
} from '#core/pricing/deployment-cost.js';
import { repoRoot } from '#devkit/repo-root.js';

const root = repoRoot();
const config = parseDeploymentConfig(JSON.parse(readFileSync(join(root, 'cdk.json'), 'utf8')).context.ringmaster);
const REPLICAS = 3;

interface Row {
  readonly label: string;
  readonly fleet: Fleet;
  readonly natGateways: number;
}

const rows: Row[] = [
  {
    label: `defaults: ${config.proxy.desiredCount} proxies, ${config.servers.initialCount} servers`,
    fleet: { proxies: config.proxy.desiredCount, servers: config.servers.initialCount, shards: 4, replicas: REPLICAS },
    natGateways: config.natGateways,
  },
  {
    label: '10 proxies, 100 servers',
    fleet: { proxies: 10, servers: 100, shards: 100, replicas: REPLICAS },
    natGateways: 0,
  },
  {
    label: '100 proxies, 1,000 servers',
    fleet: { proxies: 100, servers: 1000, shards: 1000, replicas: REPLICAS },
    natGateways: 0,
  },
  {
    label: '100 proxies, 1,000 servers, natGateways 2',
    fleet: { proxies: 100, servers: 1000, shards: 1000, replicas: REPLICAS },
    natGateways: 2,
  },
];

const LINES: [keyof CostLines, string][] = [
  ['fargateProxies', 'Fargate proxies'],
  ['fargateServers', 'Fargate servers'],
  ['publicIpv4', 'public IPv4'],
  ['natGateways', 'NAT'],
  ['loadBalancer', 'ALB'],
  ['dynamoControlPlaneReads', 'DynamoDB reads'],
  ['dynamoHeartbeatWrites', 'DynamoDB heartbeats'],
  ['cloudWatch', 'CloudWatch'],
  ['secrets', 'Secrets Manager'],
];

const results = rows.map((row) => {
  const hourly = hourlyCost(row.fleet, {
    proxy: config.proxy,
    server: config.servers,
    fargate: config.pricing,
    natGateways: row.natGateways,
  });
  const monthly = (key: keyof CostLines | 'total') => hourly[key] * HOURS_PER_MONTH;
  const largest = LINES.reduce((a, b) => (monthly(b[0]) > monthly(a[0]) ? b : a));
  return {
    ...row,
    monthly: Object.fromEntries([...LINES.map(([key]) => [key, monthly(key)]), ['total', monthly('total')]]) as Record<
      keyof CostLines | 'total',
      number
    >,
    largest: largest[1],
  };
});

if (process.argv.includes('--json')) {
  process.stdout.write(
    `${JSON.stringify({ region: config.pricing.region, hoursPerMonth: HOURS_PER_MONTH, results }, null, 2)}\n`,
  );
} else {
  const usd = (v: number) => (v >= 100 ? Math.round(v).toLocaleString('en-US') : v.toFixed(2));
  const out: string[] = [
    `| fleet (per month, USD, ${config.pricing.region}) | ${LINES.map(([, name]) => name).join(' | ')} | **total** | largest line |`,
    `|---|${LINES.map(() => '---:').join('|')}|---:|---|`,
    ...results.map(
      (r) =>
        `| ${r.label} | ${LINES.map(([key]) => usd(r.monthly[key])).join(' | ')} | **${usd(r.monthly.total)}** | ${r.largest} |`,
    ),
    '',
    `Task sizes from cdk.json: proxy ${config.proxy.cpu} cpu / ${config.proxy.memoryMiB} MiB ${config.proxy.architecture}, ` +
      `server ${config.servers.cpu} cpu / ${config.servers.memoryMiB} MiB ${config.servers.architecture}; ${HOURS_PER_MONTH} h per month; ` +
      `shards × ${REPLICAS} replicas sized with the fleet (4, 100, 1,000 shards). ` +
      `Fixed overhead (ALB, its addresses, CloudWatch, the secret): ${fixedOverheadHourlyUsd({ natGateways: config.natGateways }).toFixed(4)} USD/h.`,
  ];
  process.stdout.write(`${out.join('\n')}\n`);
}
