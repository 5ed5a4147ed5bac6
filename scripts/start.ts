/**
 * `npm start`: runs Ringmaster locally — an AWS emulator (MiniStack, or the
 * one AWS_ENDPOINT_URL names) with the four tables, the proxy on
 * 127.0.0.1:8080 with its admin API on 127.0.0.1:8081, and three backend
 * servers it starts through the local scaler. Servers heartbeat into the
 * Ring table exactly as on AWS. Prints the URLs and the admin token; Ctrl-C
 * stops everything. Logs go to a file so the terminal stays readable.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { createWriteStream, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { createTables, type TableNames, tableEnv } from '#core/aws/tables.js';
import { parseProxyReady } from '#core/runtime/ready-line.js';
import { type Emulator, emulatorClient, emulatorEnv, quietSdkNodeNotice, useEmulator } from './lib/emulator.js';

// Ringmaster's own lines only: this process creates the tables with the pinned SDK, whose Node 22 notice is noise here.
quietSdkNodeNotice();

const dist = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const proxyPort = process.env.RINGMASTER_PORT ?? '8080';
const adminPort = process.env.RINGMASTER_ADMIN_PORT ?? '8081';
const servers = process.env.RINGMASTER_SERVERS ?? '3';

const dir = mkdtempSync(join(tmpdir(), 'ringmaster-'));
const token = randomBytes(32).toString('hex');
const tokenFile = join(dir, 'admin-token');
writeFileSync(tokenFile, token, { mode: 0o600 });
const logFile = join(dir, 'ringmaster.log');
const logs = createWriteStream(logFile);

// Signals are handled from the very start, so Ctrl-C during start-up also cleans up.
let stopping = false;
let proxy: ChildProcess | undefined;
let emulator: Emulator | undefined;
const stop = () => {
  if (stopping) return;
  stopping = true;
  process.stdout.write('stopping…\n');
  if (proxy && proxy.exitCode === null) proxy.kill('SIGTERM');
  else void (emulator?.stop() ?? Promise.resolve()).finally(() => process.exit(0));
};
process.on('SIGINT', stop);
process.on('SIGTERM', stop);

const root = resolve(dist, '..');
process.stdout.write(
  process.env.AWS_ENDPOINT_URL
    ? `using the emulator at ${process.env.AWS_ENDPOINT_URL}\n`
    : 'starting the AWS emulator (MiniStack; installed into .venv on first run)…\n',
);
emulator = await useEmulator(root);
const aws = emulatorEnv(emulator.endpoint);
const tables: TableNames = {
  ring: 'ringmaster-local-ring',
  shards: 'ringmaster-local-shards',
  map: 'ringmaster-local-map',
  records: 'ringmaster-local-records',
};
await createTables(emulatorClient(emulator.endpoint), tables);

proxy = spawn(process.execPath, [join(dist, 'proxy.js')], {
  env: {
    ...process.env,
    ...aws,
    ...tableEnv(tables),
    MEMBERSHIP: 'dynamodb',
    PROXY_HOST: '127.0.0.1',
    PROXY_PORT: proxyPort,
    ADMIN_HOST: '127.0.0.1',
    ADMIN_PORT: adminPort,
    ADMIN_TOKEN_FILE: tokenFile,
    SCALER: 'local',
    LOCAL_SERVER_ENTRY: join(dist, 'server.js'),
    INITIAL_SERVERS: servers,
  },
  stdio: ['ignore', 'pipe', 'pipe'],
});
proxy.stderr?.pipe(process.stderr);

createInterface({ input: proxy.stdout as NodeJS.ReadableStream }).on('line', (line) => {
  logs.write(`${line}\n`);
  const ready = parseProxyReady(line);
  if (!ready) return;
  process.stdout.write(
    [
      '',
      `Ringmaster is running with ${servers} servers.`,
      `  proxy:  http://127.0.0.1:${ready.proxyPort}   try: curl 'http://127.0.0.1:${ready.proxyPort}/home?request_id=42'`,
      `  admin:  http://127.0.0.1:${ready.adminPort}   try: curl -H 'Authorization: Bearer ${token}' http://127.0.0.1:${ready.adminPort}/rep`,
      `  token:  ${token}   (also in ${tokenFile})`,
      `  page:   http://127.0.0.1:${ready.adminPort}/   the live balance page (it asks for the token once)`,
      `  aws:    ${emulator.endpoint}   (tables ${Object.values(tables).join(', ')})`,
      `  logs:   ${logFile}`,
      'Press Ctrl-C to stop.',
      '',
    ].join('\n'),
  );
});

proxy.on('exit', (code) => {
  logs.end();
  void (emulator as Emulator).stop().finally(() => process.exit(stopping ? 0 : (code ?? 1)));
});
