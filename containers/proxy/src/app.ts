import { maxHeaderSize } from 'node:http';
import type { Logger } from 'pino';
import { Pool } from 'undici';
import { AutoscalerStateStore } from '#core/aws/autoscaler-state-store.js';
import { cloudWatchClient } from '#core/aws/cloudwatch-client.js';
import { CloudWatchSink } from '#core/aws/cloudwatch-sink.js';
import { ClusterStore } from '#core/aws/cluster-store.js';
import { ControlVersionStore } from '#core/aws/control-version.js';
import { dynamoDocumentClient } from '#core/aws/dynamo-client.js';
import { FleetLoad } from '#core/balancing/backend.js';
import { createStrategy } from '#core/balancing/strategies.js';
import { closeServer, listen } from '#core/http/listen.js';
import type { MembershipSource } from '#core/ports/membership.js';
import type { Scaler } from '#core/ports/scaler.js';
import { createAdminListener, serveAdmin } from './admin/admin-server.js';
import { FleetActions } from './admin/fleet-actions.js';
import type { ProxyConfig } from './config.js';
import { Fleet } from './fleet/fleet.js';
import { HealthChecker } from './fleet/health-checker.js';
import { type Forwarding, forwardingSettings, Traffic } from './forwarding/forwarding.js';
import { loadLlhttp } from './forwarding/http1/llhttp.js';
import { NetProxyServer } from './forwarding/net/net-proxy-server.js';
import { httpListener, type ProxyListener } from './forwarding/proxy-listener.js';
import { createProxyServer } from './forwarding/proxy-server.js';
import { RequestIds } from './forwarding/request-ids.js';
import { RetryBudget } from './forwarding/retry-budget.js';
import { UpstreamClient } from './forwarding/upstream/llhttp-client.js';
import { UndiciUpstream } from './forwarding/upstream/upstream.js';
import { createMembership } from './membership/create-membership.js';
import { DynamoMembership } from './membership/dynamo-membership.js';
import { ClusterCache } from './records/cluster-cache.js';
import { RecordsApi } from './records/records-api.js';
import { ShardManager } from './records/shard-manager.js';
import { ShardScaling } from './records/shard-scaling.js';
import { AutoscalerWatcher } from './telemetry/autoscaler-watcher.js';
import { ProxyMetrics } from './telemetry/metrics.js';
import { MetricsPublisher } from './telemetry/metrics-publisher.js';
import { type ProxyInfo, type ProxySnapshot, takeSnapshot } from './telemetry/snapshot.js';

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

/** What an entry point injects: the scaler (ECS in the container, local processes in scripts/local/dev-proxy.ts). */
export interface ProxyExtras {
  readonly createScaler?: (adminPort: number) => Scaler | undefined;
  /**
   * Called once the proxy listens, with the admin actions (the development
   * entry point starts its servers and follows an emulated ECS service
   * through them). What it returns is called first at shutdown, so nothing
   * starts servers while the proxy stops.
   */
  readonly onActions?: (actions: FleetActions) => () => Promise<void>;
}

export async function startProxy(config: ProxyConfig, log: Logger, extras: ProxyExtras = {}): Promise<RunningProxy> {
  const metrics = new ProxyMetrics();
  const load = new FleetLoad();
  const strategy = createStrategy(config.STRATEGY, load, {
    boundFactor: config.BOUND_FACTOR,
    maglevTableSize: config.MAGLEV_TABLE_SIZE,
    ringPointsPerWeight: config.RING_POINTS_PER_WEIGHT,
  });
  const createPool = (address: string) =>
    new Pool(address, {
      connections: config.UPSTREAM_CONNECTIONS,
      pipelining: 1,
      // undici 8 offers HTTP/2 by ALPN on https:// backends by default; the proxy speaks HTTP/1.1 upstream.
      allowH2: false,
      keepAliveTimeout: config.UPSTREAM_IDLE_TIMEOUT_MS,
      keepAliveMaxTimeout: config.UPSTREAM_IDLE_TIMEOUT_MS,
      headersTimeout: config.UPSTREAM_HEADERS_TIMEOUT_MS,
      bodyTimeout: config.UPSTREAM_BODY_TIMEOUT_MS,
      connect: { timeout: config.UPSTREAM_CONNECT_TIMEOUT_MS },
    });
  // The llhttp client checks Node's internal parser here and fails start-up with the reason if it is unusable.
  const upstreamClient =
    config.UPSTREAM_CLIENT === 'llhttp'
      ? new UpstreamClient(
          loadLlhttp({
            setting: 'UPSTREAM_CLIENT=llhttp',
            fallback: 'Set UPSTREAM_CLIENT=undici to use undici instead.',
          }),
          {
            connections: config.UPSTREAM_CONNECTIONS,
            connectTimeoutMs: config.UPSTREAM_CONNECT_TIMEOUT_MS,
            headersTimeoutMs: config.UPSTREAM_HEADERS_TIMEOUT_MS,
            bodyTimeoutMs: config.UPSTREAM_BODY_TIMEOUT_MS,
            idleTimeoutMs: config.UPSTREAM_IDLE_TIMEOUT_MS,
            maxHeaderBytes: maxHeaderSize,
          },
        )
      : undefined;
  const connect = (address: string) => {
    const pool = createPool(address);
    // The llhttp client speaks plain HTTP only; an https:// backend stays on undici.
    const upstream =
      upstreamClient !== undefined && address.startsWith('http://')
        ? upstreamClient.pool(address)
        : new UndiciUpstream(pool);
    return { pool, upstream };
  };
  const fleet = new Fleet(
    strategy,
    load,
    {
      slowStartMs: config.SLOW_START_MS,
      slowStartInitialWeight: config.SLOW_START_INITIAL_WEIGHT,
      panicThreshold: config.PANIC_THRESHOLD,
      ejectConsecutiveFailures: config.EJECT_CONSECUTIVE_FAILURES,
      ejectBaseMs: config.EJECT_BASE_MS,
      ejectMaxMs: config.EJECT_MAX_MS,
      drainTimeoutMs: config.DRAIN_TIMEOUT_MS,
    },
    connect,
    log,
  );
  const retryBudget = new RetryBudget(load, config.RETRY_BUDGET_RATIO, config.RETRY_BUDGET_MIN, config.RETRY_WAIT_MS);
  const traffic = new Traffic();
  const forwarding: Forwarding = {
    settings: forwardingSettings(
      config.keySource,
      config.DEMAND_HEADER,
      {
        maxBodyBytes: config.MAX_BODY_BYTES,
        maxHeaderCount: config.MAX_HEADER_COUNT,
        maxAttempts: config.MAX_ATTEMPTS,
      },
      log.isLevelEnabled('debug'),
    ),
    fleet,
    metrics,
    retryBudget,
    requestIds: new RequestIds(),
    traffic,
    log,
  };

  const membership = createMembership(config, log);
  await membership.source.start((members) => fleet.applyMembership(members));
  // The scaler is made once the admin port is known (below); reports name it by its kind.
  let scaler: Scaler | undefined;
  const info: Omit<ProxyInfo, 'scaler'> = {
    strategy: strategy.name,
    hashKey: config.HASH_KEY,
    membership: config.MEMBERSHIP,
  };
  const records = config.SHARD_TABLE ? startRecords(config, fleet, membership.source, log) : undefined;
  const autoscaler = config.AUTOSCALER_STATE_TABLE
    ? new AutoscalerWatcher(
        new AutoscalerStateStore(dynamoDocumentClient(), config.AUTOSCALER_STATE_TABLE),
        config.AUTOSCALER_REFRESH_MS,
        log,
      )
    : undefined;
  await autoscaler?.start();
  const snapshot = () =>
    takeSnapshot({
      fleet,
      metrics,
      retryBudget,
      membership: membership.source,
      info: { ...info, scaler: scaler?.kind ?? 'none' },
      cluster: records?.cache,
      ...(autoscaler ? { autoscaler: () => autoscaler.status() } : {}),
    });

  const health = new HealthChecker(
    fleet,
    {
      intervalMs: config.HEALTH_INTERVAL_MS,
      timeoutMs: config.HEALTH_TIMEOUT_MS,
      path: config.HEALTH_PATH,
      unhealthyThreshold: config.UNHEALTHY_THRESHOLD,
      healthyThreshold: config.HEALTHY_THRESHOLD,
    },
    log,
  );
  health.start();
  const publisher =
    config.METRICS_SINK === 'cloudwatch'
      ? new MetricsPublisher(
          snapshot,
          () => fleet.load.inflight,
          new CloudWatchSink(cloudWatchClient(), config.METRICS_NAMESPACE),
          { periodMs: config.METRICS_PERIOD_MS, environment: config.ENV_NAME },
          log,
        )
      : undefined;
  publisher?.start();

  if (records) await records.cache.start();
  const clientLimits = {
    headersTimeoutMs: config.CLIENT_HEADERS_TIMEOUT_MS,
    requestTimeoutMs: config.CLIENT_REQUEST_TIMEOUT_MS,
    keepAliveTimeoutMs: config.CLIENT_KEEPALIVE_TIMEOUT_MS,
    maxHeaderBytes: config.MAX_HEADER_BYTES,
  };
  // The net data plane checks Node's internal parser here and fails start-up with the reason if it is unusable.
  const proxyServer: ProxyListener =
    config.DATA_PLANE === 'net'
      ? new NetProxyServer(forwarding, clientLimits)
      : httpListener(createProxyServer(forwarding, clientLimits, records?.api));
  records?.manager.start();

  // Built in dependency order: the admin port first (the local scaler hands it to
  // the servers it starts), then the scaler, the actions that use it, and only
  // then the admin routes. Nothing runs between listening and attaching the
  // routes, so no request can arrive before them.
  const adminServer = createAdminListener();
  const adminPort = await listen(adminServer, config.ADMIN_PORT, config.ADMIN_HOST);
  scaler = extras.createScaler?.(adminPort);
  const actions = new FleetActions(
    fleet,
    membership.control,
    scaler,
    { maxServers: config.MAX_SERVERS, registerWaitMs: config.REGISTER_WAIT_MS },
    log,
  );
  const shards = records ? new ShardScaling(fleet, records.store, records.cache, actions, log) : undefined;
  if (records && shards) records.api.attachAdmin({ scale: { actions, shards }, shards });
  serveAdmin(adminServer, { token: config.adminToken, actions, shards, registry: membership.registry, snapshot, log });
  const proxyPort = await listen(proxyServer.server, config.PROXY_PORT, config.PROXY_HOST);
  log.info(
    {
      proxyPort,
      adminPort,
      strategy: strategy.name,
      hashKey: config.HASH_KEY,
      dataPlane: config.DATA_PLANE,
      upstreamClient: config.UPSTREAM_CLIENT,
      seedCompat: config.SEED_COMPAT,
    },
    'proxy listening',
  );

  const stopFollowing = extras.onActions?.(actions);

  let stopping: Promise<void> | undefined;
  const shutdown = () => {
    stopping ??= (async () => {
      log.info({ inflight: fleet.load.inflight }, 'shutting down: finishing in-flight requests');
      traffic.draining = true;
      await stopFollowing?.();
      const deadline = Date.now() + config.SHUTDOWN_TIMEOUT_MS;
      const listenUntil = Math.min(deadline, Date.now() + SHUTDOWN_LISTEN_MAX_MS);
      // Keep accepting until traffic stops (the balancer has deregistered us) or a bound passes:
      // closing the listener resets connections still in the kernel's accept queue. Meanwhile
      // every reply carries Connection: close, so clients move on.
      while (!traffic.isQuiet(SHUTDOWN_QUIET_MS) && Date.now() < listenUntil) await sleep(SHUTDOWN_POLL_MS);
      proxyServer.stopListening();
      while (traffic.active > 0 && Date.now() < deadline) await sleep(SHUTDOWN_POLL_MS);
      const closed = proxyServer.close();
      const timedOut = sleep(Math.max(0, deadline - Date.now())).then(() => 'deadline' as const);
      if (traffic.active > 0 || (await Promise.race([closed, timedOut])) === 'deadline') {
        log.warn({ active: traffic.active }, 'shutdown deadline passed; closing remaining connections');
        proxyServer.closeAllConnections();
      }
      health.stop();
      autoscaler?.stop();
      await publisher?.stop();
      records?.manager.stop();
      records?.cache.stop();
      await membership.source.stop();
      await scaler?.close();
      adminServer.closeAllConnections();
      await closeServer(adminServer);
      await fleet.close();
      log.info('proxy stopped');
    })();
    return stopping;
  };

  return { proxyPort, adminPort, fleet, snapshot, shutdown };
}

/** The sharded records API and its helpers, when the records tables are configured. */
function startRecords(config: ProxyConfig, fleet: Fleet, membership: MembershipSource, log: Logger) {
  // With DynamoDB membership, shape changes bump the cluster version in the Ring table's version item,
  // which membership polls anyway: the cache follows it instead of re-reading ShardT/MapT every second.
  const versioned = membership instanceof DynamoMembership ? membership : undefined;
  const doc = dynamoDocumentClient();
  const store = new ClusterStore(
    doc,
    { shards: config.SHARD_TABLE, map: config.MAP_TABLE },
    versioned && config.RING_TABLE ? new ControlVersionStore(doc, config.RING_TABLE) : undefined,
  );
  const cache = new ClusterCache(
    store,
    config.RING_REFRESH_MS,
    log,
    versioned ? () => versioned.versions()?.cluster : undefined,
  );
  const api = new RecordsApi({
    fleet,
    store,
    cache,
    adminToken: config.adminToken,
    seedCompat: config.SEED_COMPAT,
    maxBodyBytes: config.MAX_BODY_BYTES,
    log,
  });
  const manager = new ShardManager(fleet, membership, store, cache, config.SHARD_MANAGER_INTERVAL_MS, log);
  return { api, cache, manager, store };
}
