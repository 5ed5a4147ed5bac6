import type { AddressInfo } from 'node:net';
import pino from 'pino';
import { dynamoDocumentClient } from '#core/aws/dynamo-client.js';
import { RecordsStore } from '#core/aws/records-store.js';
import { RingStore } from '#core/aws/ring-store.js';
import { loadOrExit } from '#core/config/load-or-exit.js';
import { readyLine } from '#core/runtime/ready-line.js';
import { createBackendServer, type ServerState } from './app.js';
import { advertiseAddress, loadServerConfig } from './config.js';
import { HttpLease } from './http-lease.js';
import { LoadSampler } from './load-sampler.js';
import { Registration } from './registration.js';
import { RingLease } from './ring-lease.js';
import { ecsTaskId } from './task-identity.js';

/** Entry point of the server container (its CMD runs `node server.js` in /app) and of `dist/server.js`. */
async function main(): Promise<void> {
  const loaded = loadOrExit('ringmaster server', () => loadServerConfig(process.env));
  // An explicit SERVER_ID wins; on ECS the task id; otherwise the hostname.
  const config = loaded.SERVER_ID ? loaded : { ...loaded, id: (await ecsTaskId(process.env)) ?? loaded.id };
  const log = pino({
    name: 'ringmaster-server',
    level: config.LOG_LEVEL,
    base: { server: config.id, pid: process.pid },
  });
  const load = new LoadSampler(config.memoryLimitBytes);
  load.start();
  const state: ServerState = { inflight: 0 };
  const records =
    config.SHARD_TABLE && config.MAP_TABLE && config.RECORDS_TABLE
      ? new RecordsStore(dynamoDocumentClient(), {
          shards: config.SHARD_TABLE,
          map: config.MAP_TABLE,
          records: config.RECORDS_TABLE,
        })
      : undefined;
  const { server, webSockets } = createBackendServer(config, load, state, records, log);
  await new Promise<void>((resolve) => server.listen(config.SERVER_PORT, config.SERVER_HOST, resolve));
  const port = (server.address() as AddressInfo).port;
  const address = advertiseAddress(config, port);

  let stopping = false;
  const shutdown = async (reason: string) => {
    if (stopping) return;
    stopping = true;
    log.info({ reason, inflight: state.inflight, webSockets: webSockets.open() }, 'shutting down');
    // Leave the ring first so proxies stop sending, then finish what is in flight.
    await registration?.stop();
    load.stop();
    // Open WebSockets get the same deadline as requests (their clients may close them first); server.close
    // waits for their sockets too, and closeAllConnections does not reach a socket that has been upgraded.
    const deadline = setTimeout(() => {
      server.closeAllConnections();
      void webSockets.closeAll();
    }, config.SHUTDOWN_TIMEOUT_MS).unref();
    await new Promise<void>((resolve) => {
      server.close(() => resolve());
      server.closeIdleConnections();
    });
    clearTimeout(deadline);
    log.info('stopped');
    process.exit(0);
  };

  const onRemoved = () => void shutdown('removed');
  const lease = config.REGISTRY_URL
    ? new HttpLease(config.REGISTRY_URL, config.id, address, config.SERVER_WEIGHT, config.registryToken)
    : config.RING_TABLE
      ? new RingLease(
          new RingStore(dynamoDocumentClient(), config.RING_TABLE),
          config.id,
          address,
          config.SERVER_WEIGHT,
          config.LEASE_MS,
        )
      : undefined;
  const registration = lease ? new Registration(lease, config.HEARTBEAT_INTERVAL_MS, log, onRemoved) : undefined;
  await registration?.start();
  log.info({ address }, 'server listening');
  for (const signal of ['SIGTERM', 'SIGINT'] as const) process.once(signal, () => void shutdown(signal));
  // After the handlers: whoever reads this line may signal at once.
  process.stdout.write(readyLine({ ringmaster: 'server-ready', id: config.id, address }));
}

main().catch((err: unknown) => {
  process.stderr.write(
    `ringmaster server failed to start: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`,
  );
  process.exit(1);
});
