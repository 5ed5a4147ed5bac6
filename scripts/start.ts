/**
 * `npm start`: runs Ringmaster locally, autoscaler included, against an AWS
 * emulator (MiniStack, or the one AWS_ENDPOINT_URL names):
 *
 * - the tables, the autoscaler's state table, and an ECS cluster with the
 *   proxy and servers services (on an emulator these are records);
 * - the proxy on 127.0.0.1:8080 with its admin API on 127.0.0.1:8081, and
 *   (unless RINGMASTER_SEED_COMPAT=0) the seed's balancers' /init, /rep,
 *   /add and /rm on the data port as well, without a token (loopback only),
 *   publishing its load to CloudWatch, and server processes that follow the
 *   servers service's count (SCALER=local-ecs, dist/dev-proxy.js) and heartbeat into the Ring
 *   table exactly as on AWS;
 * - the autoscaler Lambda's handler, invoked on its schedule
 *   (scripts/local-autoscaler.ts), with cdk.json's settings.
 *
 * Prints the URLs, the admin token and a bounded load command, then one line
 * per autoscaler decision, and one line whenever a part of it dies (the
 * emulator, the autoscaler loop, the proxy or a server) saying what stops
 * working; Ctrl-C stops everything. Full logs go to a file.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { createWriteStream, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { CreateTableCommand, ResourceInUseException } from '@aws-sdk/client-dynamodb';
import { ECSClient } from '@aws-sdk/client-ecs';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { AutoscalerStateStore } from '#core/aws/autoscaler-state-store.js';
import { AUTOSCALER_STATE_KEYS, createTables, type TableNames, tableEnv } from '#core/aws/tables.js';
import { minimumBudgetUsd } from '#core/config/deployment.js';
import { ConfigError } from '#core/config/env.js';
import { parseProxyReady } from '#core/runtime/ready-line.js';
import { SERVICES } from '#core/telemetry/metric-names.js';
import { type Emulator, emulatorClient, emulatorEnv, useEmulator } from '#devkit/emulator.js';
import { createLocalServices } from '#devkit/local-ecs.js';
import { repoRoot } from '#devkit/repo-root.js';
import { settingsFromDeployment } from '#functions/autoscaler/settings-from-deployment.js';
import { ChildWatch, serverDiedLine } from './local/child-watch.js';
import { DecisionPrinter } from './local/decision-lines.js';
import { SERVER_DIED } from './local/local-process-scaler.js';
import { type LocalSettings, readLocalSettings } from './local/local-settings.js';
import { spentLeaving, startLedgerAt } from './local/seed-ledger.js';

const root = repoRoot();
const dist = join(root, 'dist');

let settings: LocalSettings;
try {
  settings = readLocalSettings(root, process.env);
} catch (err) {
  if (!(err instanceof ConfigError)) throw err;
  process.stderr.write(`${err.message}\n`);
  process.exit(2);
}
const { config, envName } = settings;

const dir = mkdtempSync(join(tmpdir(), 'ringmaster-'));
const token = randomBytes(32).toString('hex');
const tokenFile = join(dir, 'admin-token');
writeFileSync(tokenFile, token, { mode: 0o600 });
const logFile = join(dir, 'ringmaster.log');
const logs = createWriteStream(logFile);

// Signals are handled from the very start, so Ctrl-C during start-up also cleans up.
let stopping = false;
let proxy: ChildProcess | undefined;
let autoscaler: ChildProcess | undefined;
let emulator: Emulator | undefined;
const watch = new ChildWatch((line) => process.stdout.write(`${line}\n`));
const stop = () => {
  if (stopping) return;
  stopping = true;
  watch.stop();
  process.stdout.write('stopping…\n');
  if (autoscaler && running(autoscaler)) autoscaler.kill('SIGTERM');
  if (proxy && running(proxy)) proxy.kill('SIGTERM');
  else void (emulator?.stop() ?? Promise.resolve()).finally(() => process.exit(0));
};
process.on('SIGINT', stop);
process.on('SIGTERM', stop);

/** Not exited yet: a process killed by a signal has a signalCode and no exitCode. */
function running(child: ChildProcess): boolean {
  return child.exitCode === null && child.signalCode === null;
}

process.stdout.write(
  process.env.AWS_ENDPOINT_URL
    ? `using the emulator at ${process.env.AWS_ENDPOINT_URL}\n`
    : 'starting the AWS emulator (MiniStack; installed into .venv on first run)…\n',
);
emulator = await useEmulator(root);
if (emulator.process) {
  watch.watch({
    name: 'the AWS emulator (MiniStack)',
    child: emulator.process,
    consequence:
      'the proxy keeps routing to the servers it knows, but autoscaling, the records API, membership changes ' +
      '(servers joining or leaving the Ring table) and the load metrics stop; press Ctrl-C and run npm start again',
  });
}
const aws = emulatorEnv(emulator.endpoint);
const tables: TableNames = {
  ring: `ringmaster-${envName}-ring`,
  shards: `ringmaster-${envName}-shards`,
  map: `ringmaster-${envName}-map`,
  records: `ringmaster-${envName}-records`,
};
const stateTable = `ringmaster-${envName}-autoscaler`;
const cluster = `ringmaster-${envName}`;
const dynamo = emulatorClient(emulator.endpoint);
await createTables(dynamo, tables);
try {
  await dynamo.send(
    new CreateTableCommand({ TableName: stateTable, BillingMode: 'PAY_PER_REQUEST', ...AUTOSCALER_STATE_KEYS }),
  );
} catch (err) {
  if (!(err instanceof ResourceInUseException)) throw err;
}
if (settings.spentUsd !== undefined || settings.leftUsd !== undefined) {
  const store = new AutoscalerStateStore(DynamoDBDocumentClient.from(dynamo), stateTable);
  const counts = { proxy: config.proxy.desiredCount, servers: settings.servers };
  const policy = settingsFromDeployment(config);
  const now = Date.now();
  const spent = settings.spentUsd ?? spentLeaving(policy, settings.leftUsd ?? 0, now);
  await startLedgerAt(store, policy, spent, counts, now);
}
const ecs = new ECSClient({
  endpoint: emulator.endpoint,
  region: aws.AWS_REGION,
  credentials: { accessKeyId: aws.AWS_ACCESS_KEY_ID as string, secretAccessKey: aws.AWS_SECRET_ACCESS_KEY as string },
});
// The services start at the counts this run starts with; the proxy service is a record (one local proxy serves).
await createLocalServices(ecs, cluster, [
  {
    name: SERVICES.proxy,
    cpu: config.proxy.cpu,
    memoryMiB: config.proxy.memoryMiB,
    desiredCount: config.proxy.desiredCount,
  },
  {
    name: SERVICES.servers,
    cpu: config.servers.cpu,
    memoryMiB: config.servers.memoryMiB,
    desiredCount: settings.servers,
  },
]);
const namespace = config.monitoring.metricsNamespace;

// The development entry point: the proxy with its servers as local processes that follow the ECS service.
proxy = spawn(process.execPath, [join(dist, 'dev-proxy.js')], {
  env: {
    ...process.env,
    ...aws,
    ...tableEnv(tables),
    MEMBERSHIP: 'dynamodb',
    PROXY_HOST: '127.0.0.1',
    PROXY_PORT: String(settings.proxyPort),
    ADMIN_HOST: '127.0.0.1',
    ADMIN_PORT: String(settings.adminPort),
    ADMIN_TOKEN_FILE: tokenFile,
    SCALER: 'local-ecs',
    ECS_CLUSTER: cluster,
    ECS_SERVER_SERVICE: SERVICES.servers,
    ECS_PROXY_SERVICE: SERVICES.proxy,
    LOCAL_SERVER_CPU_UNITS: String(config.servers.cpu),
    LOCAL_PROXY_CPU_UNITS: String(config.proxy.cpu),
    LOCAL_SERVER_ENTRY: join(dist, 'server.js'),
    INITIAL_SERVERS: String(settings.servers),
    MAX_SERVERS: String(settings.maxServers),
    SEED_COMPAT: settings.seedCompat ? '1' : '0',
    METRICS_SINK: 'cloudwatch',
    METRICS_NAMESPACE: namespace,
    ENV_NAME: envName,
    AUTOSCALER_STATE_TABLE: stateTable,
  },
  stdio: ['ignore', 'pipe', 'pipe'],
});
proxy.stderr?.pipe(process.stderr);
watch.watch({
  name: 'the proxy',
  child: proxy,
  consequence: 'routing, the admin API and the servers it ran stop with it; stopping the run (its log has why)',
});

const printer = new DecisionPrinter((line) => process.stdout.write(`${line}\n`));
createInterface({ input: proxy.stdout as NodeJS.ReadableStream }).on('line', (line) => {
  logs.write(`${line}\n`);
  const died = stopping ? undefined : serverDiedLine(line, SERVER_DIED);
  if (died) process.stdout.write(`${died}\n`);
  const ready = parseProxyReady(line);
  if (!ready || stopping) return;
  const { budgetUsd, budgetPeriod } = config.autoscaler;
  // No request_id: requests without a key are spread evenly, so every server takes its share.
  const loadUrl = `http://127.0.0.1:${ready.proxyPort}/home`;
  process.stdout.write(
    [
      '',
      `Ringmaster is running with ${settings.servers} servers.`,
      `  proxy:  http://127.0.0.1:${ready.proxyPort}   try: curl 'http://127.0.0.1:${ready.proxyPort}/home?request_id=42'`,
      `  admin:  http://127.0.0.1:${ready.adminPort}   try: curl -H 'Authorization: Bearer ${token}' http://127.0.0.1:${ready.adminPort}/rep`,
      `  token:  ${token}   (also in ${tokenFile})`,
      settings.seedCompat
        ? `  seeds:  compatibility mode on: /init, /rep, /add and /rm also answer on http://127.0.0.1:${ready.proxyPort} without a token, for the seed's balancers' scripts (loopback only; RINGMASTER_SEED_COMPAT=0 turns it off; see docs/records.md)`
        : '  seeds:  compatibility mode off: /rep, /add and /rm are on the admin port only, and /init needs the token (RINGMASTER_SEED_COMPAT=1 turns it on)',
      `  page:   http://127.0.0.1:${ready.adminPort}/   the live balance page (it asks for the token once)`,
      `  aws:    ${emulator?.endpoint}   (tables ${[...Object.values(tables), stateTable].join(', ')}; ECS cluster ${cluster})`,
      `  scale:  the autoscaler runs every ${settings.tickMs / 1000} s with a budget of $${budgetUsd} per ${budgetPeriod}` +
        ` (the minimum counts cost $${minimumBudgetUsd(config).toFixed(2)} for a whole ${budgetPeriod})` +
        (settings.spentUsd === undefined ? '' : `, $${settings.spentUsd} of it taken as spent already`) +
        '; its decisions are printed below',
      `  load:   npx autocannon -d 300 -R 2000 -c 16 ${loadUrl}`,
      `          (5 minutes at 2,000 requests/s: servers are added within about 3 minutes, and leave about 5 minutes after it ends)`,
      `  logs:   ${logFile}`,
      'Press Ctrl-C to stop.',
      '',
    ].join('\n'),
  );
  startAutoscaler();
});

/** The Lambda's handler on its schedule, with the environment the CDK app gives the function. */
function startAutoscaler(): void {
  autoscaler = spawn(process.execPath, [join(dist, 'scripts', 'local-autoscaler.js')], {
    env: {
      ...process.env,
      ...aws,
      RINGMASTER_CONFIG: JSON.stringify(config),
      STATE_TABLE: stateTable,
      CLUSTER_NAME: cluster,
      PROXY_SERVICE_NAME: SERVICES.proxy,
      SERVER_SERVICE_NAME: SERVICES.servers,
      METRICS_NAMESPACE: namespace,
      ENV_NAME: envName,
      RINGMASTER_TICK_MS: String(settings.tickMs),
      // The emulator turns no log lines into metrics: publish the decision metrics through the API.
      METRICS_OUTPUT: 'put-metric-data',
      POWERTOOLS_LOG_LEVEL: 'INFO',
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  autoscaler.stderr?.pipe(process.stderr);
  watch.watch({
    name: 'the autoscaler loop',
    child: autoscaler,
    consequence:
      'no more scaling decisions or budget ticks; the servers stay at their count and routing goes on; ' +
      'press Ctrl-C and run npm start again',
  });
  createInterface({ input: autoscaler.stdout as NodeJS.ReadableStream }).on('line', (line) => {
    logs.write(`${line}\n`);
    printer.read(line);
  });
}

proxy.on('exit', (code) => {
  const finish = () => {
    logs.end();
    void (emulator as Emulator).stop().finally(() => process.exit(stopping ? 0 : (code ?? 1)));
  };
  // The proxy exited by itself: take the autoscaler down with it.
  if (autoscaler && running(autoscaler)) {
    autoscaler.once('exit', finish);
    autoscaler.kill('SIGTERM');
  } else finish();
});
