import type { Logger } from 'pino';
import { closeServer, listen } from '#core/http/listen.js';
import type { ProxyParts } from './compose.js';
import type { Fleet } from './fleet/fleet.js';
import type { ProxySnapshot } from './telemetry/snapshot.js';

/** How often shutdown checks whether the last request has finished. */
const SHUTDOWN_POLL_MS = 25;
/** Shutdown stops listening once no request has started for this long... */
const SHUTDOWN_QUIET_MS = 250;
/** ...or after this, if traffic keeps coming. */
const SHUTDOWN_LISTEN_MAX_MS = 5000;
const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms).unref());

export interface RunningProxy {
  readonly proxyPort: number;
  readonly adminPort: number;
  readonly fleet: Fleet;
  /** The proxy's state now; every report renders this. */
  readonly snapshot: () => ProxySnapshot;
  /** Graceful stop: refuse new connections, let in-flight requests finish (bounded), release everything. */
  shutdown(): Promise<void>;
}

/**
 * Starts the parts in dependency order: membership first (routing needs it),
 * then what watches and reports, then the extensions' background work, then
 * the admin port (the local scaler hands it to the servers it starts) and its
 * routes, and the data port last, so no client request arrives before the
 * proxy can answer it. The returned shutdown stops them in reverse.
 */
export async function startParts(parts: ProxyParts, log: Logger): Promise<RunningProxy> {
  const { config, fleet, membership, telemetry, health, listener, admin, extensions } = parts;
  await membership.source.start((members) => fleet.applyMembership(members));
  await telemetry.autoscaler?.start();
  health.start();
  telemetry.publisher?.start();
  for (const extension of extensions) await extension.start();

  // Nothing runs between listening and attaching the routes, so no admin request arrives before them.
  const adminPort = await listen(admin.server, config.ADMIN_PORT, config.ADMIN_HOST);
  const mounted = admin.mount(adminPort);
  const proxyPort = await listen(listener.server, config.PROXY_PORT, config.PROXY_HOST);
  log.info(
    {
      proxyPort,
      adminPort,
      strategy: fleet.strategy.name,
      hashKey: config.HASH_KEY,
      dataPlane: config.DATA_PLANE,
      upstreamClient: config.UPSTREAM_CLIENT,
      seedCompat: config.SEED_COMPAT,
      extensions: extensions.map((e) => e.name),
    },
    'proxy listening',
  );

  const stopFollowing = parts.extras.onActions?.(mounted.actions);

  let stopping: Promise<void> | undefined;
  const shutdown = () => {
    stopping ??= (async () => {
      log.info({ inflight: fleet.load.inflight }, 'shutting down: finishing in-flight requests');
      await drain(parts, stopFollowing);
      health.stop();
      telemetry.autoscaler?.stop();
      await telemetry.publisher?.stop();
      for (const extension of [...extensions].reverse()) await extension.stop();
      await membership.source.stop();
      await mounted.scaler?.close();
      admin.server.closeAllConnections();
      await closeServer(admin.server);
      await fleet.close();
      log.info('proxy stopped');
    })();
    return stopping;
  };

  return { proxyPort, adminPort, fleet, snapshot: telemetry.snapshot, shutdown };
}

/**
 * The data port's graceful drain. Replies carry Connection: close from the
 * start, so clients move on; the port keeps accepting until traffic stops
 * (the balancer has deregistered us) or a bound passes, because closing the
 * listener resets connections still in the kernel's accept queue. In-flight
 * requests then get until SHUTDOWN_TIMEOUT_MS, and whatever is left is cut.
 */
async function drain(parts: ProxyParts, stopFollowing: (() => Promise<void>) | undefined): Promise<void> {
  const { traffic, listener, config, log, tunnels } = parts;
  traffic.draining = true;
  // Open tunnels get their drain deadline from now (no new one opens while draining); the listener's close
  // below waits for their sockets too.
  const tunnelsClosed = tunnels.drainAll();
  // First, so nothing starts servers while the proxy stops.
  await stopFollowing?.();
  const deadline = Date.now() + config.SHUTDOWN_TIMEOUT_MS;
  const listenUntil = Math.min(deadline, Date.now() + SHUTDOWN_LISTEN_MAX_MS);
  while (!traffic.isQuiet(SHUTDOWN_QUIET_MS) && Date.now() < listenUntil) await sleep(SHUTDOWN_POLL_MS);
  listener.stopListening();
  while (traffic.active > 0 && Date.now() < deadline) await sleep(SHUTDOWN_POLL_MS);
  const closed = listener.close();
  const timedOut = sleep(Math.max(0, deadline - Date.now())).then(() => 'deadline' as const);
  if (traffic.active > 0 || (await Promise.race([closed, timedOut])) === 'deadline') {
    log.warn(
      { active: traffic.active, tunnels: tunnels.count },
      'shutdown deadline passed; closing remaining connections',
    );
    listener.closeAllConnections();
    tunnels.closeAll();
  }
  // Tunnels are no request and, on the net plane, no longer the listener's connections: wait for them
  // here, until their drain deadline closes them or the shutdown deadline passes (then they are cut).
  if (tunnels.count > 0) {
    const left = sleep(Math.max(0, deadline - Date.now())).then(() => 'deadline' as const);
    if ((await Promise.race([tunnelsClosed, left])) === 'deadline') tunnels.closeAll();
  }
  tunnels.stop();
}
