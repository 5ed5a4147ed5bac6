import type { Server } from 'node:http';
import { maxHeaderSize } from 'node:http';
import type { Logger } from 'pino';
import { Pool } from 'undici';
import { AutoscalerStateStore } from '#core/aws/autoscaler-state-store.js';
import { cloudWatchClient } from '#core/aws/cloudwatch-client.js';
import { CloudWatchSink } from '#core/aws/cloudwatch-sink.js';
import { dynamoDocumentClient } from '#core/aws/dynamo-client.js';
import { FleetLoad } from '#core/balancing/backend.js';
import { createStrategy } from '#core/balancing/strategies.js';
import type { LocalRoutes } from '#core/ports/local-routes.js';
import type { Scaler } from '#core/ports/scaler.js';
import { createAdminListener, serveAdmin } from './admin/admin-server.js';
import { FleetActions } from './admin/fleet-actions.js';
import type { ProxyConfig } from './config.js';
import type { ProxyExtension } from './extensions/extension.js';
import { recordsExtension } from './extensions/records/records-extension.js';
import { Fleet } from './fleet/fleet.js';
import { HealthChecker } from './fleet/health-checker.js';
import { type Forwarding, forwardingSettings, Traffic } from './forwarding/forwarding.js';
import { loadLlhttp } from './forwarding/http1/llhttp.js';
import { NetProxyServer } from './forwarding/net/net-proxy-server.js';
import { httpListener, type ProxyListener } from './forwarding/proxy-listener.js';
import { createProxyServer } from './forwarding/proxy-server.js';
import { RequestIds } from './forwarding/request-ids.js';
import { RetryBudget } from './forwarding/retry-budget.js';
import { Tunnels } from './forwarding/tunnel/tunnels.js';
import { UpstreamClient } from './forwarding/upstream/llhttp-client.js';
import { UndiciUpstream } from './forwarding/upstream/upstream.js';
import { createMembership, type Membership } from './membership/create-membership.js';
import { AutoscalerWatcher } from './telemetry/autoscaler-watcher.js';
import { ProxyMetrics } from './telemetry/metrics.js';
import { MetricsPublisher } from './telemetry/metrics-publisher.js';
import { type ProxySnapshot, takeSnapshot } from './telemetry/snapshot.js';

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

/** What watches and reports: the snapshot every report renders, and where it is published. */
export interface Telemetry {
  readonly snapshot: () => ProxySnapshot;
  readonly autoscaler: AutoscalerWatcher | undefined;
  readonly publisher: MetricsPublisher | undefined;
}

/** The admin port: its server (listened on first) and what attaches its routes once the port is known. */
export interface AdminPart {
  readonly server: Server;
  /** Builds the scaler (given the admin port), the actions and the routes, and attaches them. */
  mount(adminPort: number): { readonly actions: FleetActions; readonly scaler: Scaler | undefined };
}

/** Every part of a proxy, built and not started; lifecycle.ts starts and stops them. */
export interface ProxyParts {
  readonly config: ProxyConfig;
  readonly log: Logger;
  readonly extras: ProxyExtras;
  readonly fleet: Fleet;
  readonly traffic: Traffic;
  readonly tunnels: Tunnels;
  readonly membership: Membership;
  readonly telemetry: Telemetry;
  readonly health: HealthChecker;
  readonly listener: ProxyListener;
  readonly admin: AdminPart;
  readonly extensions: readonly ProxyExtension[];
}

/**
 * The composition root: builds the proxy's parts from its configuration,
 * each by one function below, and starts none of them. The data plane (and
 * with it Node's parser, which the `net` plane checks) is built here, so a
 * proxy that cannot serve fails before anything has started.
 */
export function composeProxy(config: ProxyConfig, log: Logger, extras: ProxyExtras = {}): ProxyParts {
  const metrics = new ProxyMetrics();
  const fleet = buildFleet(config, log);
  const forwarding = buildForwarding(config, fleet, metrics, log);
  const membership = createMembership(config, log);
  const extensions = buildExtensions(config, fleet, membership, log);
  // The scaler is made once the admin port is known (when the admin part mounts); reports name it by its kind.
  const scaler: { current?: Scaler } = {};
  const telemetry = buildTelemetry(
    config,
    forwarding,
    membership,
    extensions,
    () => scaler.current?.kind ?? 'none',
    log,
  );
  return {
    config,
    log,
    extras,
    fleet,
    traffic: forwarding.traffic,
    tunnels: forwarding.tunnels,
    membership,
    telemetry,
    health: buildHealth(config, fleet, log),
    listener: buildListener(config, forwarding, localRoutes(extensions)),
    admin: buildAdmin(config, fleet, membership, telemetry, extensions, extras, scaler, log),
    extensions,
  };
}

/** The strategy and the fleet it picks from, with each backend's upstream connection. */
function buildFleet(config: ProxyConfig, log: Logger): Fleet {
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
  return new Fleet(
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
}

/** What every exchange shares: settings, the fleet, counters, the retry budget, request ids, traffic. */
function buildForwarding(config: ProxyConfig, fleet: Fleet, metrics: ProxyMetrics, log: Logger): Forwarding {
  const tunnels = new Tunnels(
    { max: config.MAX_TUNNELS, idleTimeoutMs: config.TUNNEL_IDLE_TIMEOUT_MS, drainMs: config.TUNNEL_DRAIN_MS },
    fleet,
    log,
  );
  // No new tunnel goes to a leaving server (it is no longer picked); its open ones get the drain deadline.
  fleet.onServerLeaving = (b) => tunnels.drainServer(b);
  return {
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
    retryBudget: new RetryBudget(fleet.load, config.RETRY_BUDGET_RATIO, config.RETRY_BUDGET_MIN, config.RETRY_WAIT_MS),
    requestIds: new RequestIds(),
    traffic: new Traffic(),
    tunnels,
    log,
  };
}

/** The optional features the configuration turns on: the records API when its tables are set. */
function buildExtensions(config: ProxyConfig, fleet: Fleet, membership: Membership, log: Logger): ProxyExtension[] {
  const host = { config, fleet, membership: membership.source, log };
  return config.SHARD_TABLE ? [recordsExtension(host)] : [];
}

/** The extensions' routes on the data port; at most one extension has routes today. */
function localRoutes(extensions: readonly ProxyExtension[]): LocalRoutes | undefined {
  const withRoutes = extensions.filter((e) => e.routes !== undefined);
  if (withRoutes.length > 1) {
    throw new Error(`only one extension may serve routes on the data port, got ${withRoutes.map((e) => e.name)}`);
  }
  return withRoutes[0]?.routes;
}

function buildTelemetry(
  config: ProxyConfig,
  forwarding: Forwarding,
  membership: Membership,
  extensions: readonly ProxyExtension[],
  scalerKind: () => string,
  log: Logger,
): Telemetry {
  const { fleet, metrics, retryBudget, tunnels } = forwarding;
  const info = {
    strategy: fleet.strategy.name,
    hashKey: config.HASH_KEY,
    membership: config.MEMBERSHIP,
  };
  const autoscaler = config.AUTOSCALER_STATE_TABLE
    ? new AutoscalerWatcher(
        new AutoscalerStateStore(dynamoDocumentClient(), config.AUTOSCALER_STATE_TABLE),
        config.AUTOSCALER_REFRESH_MS,
        log,
      )
    : undefined;
  const parts = extensions.flatMap((e) => (e.snapshot ? [e.snapshot] : []));
  const snapshot = () =>
    takeSnapshot({
      fleet,
      metrics,
      retryBudget,
      membership: membership.source,
      info: { ...info, scaler: scalerKind() },
      ...(parts.length > 0 ? { extensions: parts } : {}),
      ...(autoscaler ? { autoscaler: () => autoscaler.status() } : {}),
      tunnels: () => tunnels.counts(),
    });
  const publisher =
    config.METRICS_SINK === 'cloudwatch'
      ? new MetricsPublisher(
          snapshot,
          // Requests and tunnels apart: InFlight keeps meaning requests, which the autoscaler reads.
          { inflight: () => fleet.load.inflight - tunnels.count, openTunnels: () => tunnels.count },
          new CloudWatchSink(cloudWatchClient(), config.METRICS_NAMESPACE),
          { periodMs: config.METRICS_PERIOD_MS, environment: config.ENV_NAME },
          log,
        )
      : undefined;
  return { snapshot, autoscaler, publisher };
}

function buildHealth(config: ProxyConfig, fleet: Fleet, log: Logger): HealthChecker {
  return new HealthChecker(
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
}

/** The data port's server on the configured data plane. */
function buildListener(config: ProxyConfig, forwarding: Forwarding, routes: LocalRoutes | undefined): ProxyListener {
  const clientLimits = {
    headersTimeoutMs: config.CLIENT_HEADERS_TIMEOUT_MS,
    requestTimeoutMs: config.CLIENT_REQUEST_TIMEOUT_MS,
    keepAliveTimeoutMs: config.CLIENT_KEEPALIVE_TIMEOUT_MS,
    maxHeaderBytes: config.MAX_HEADER_BYTES,
  };
  // The net data plane checks Node's internal parser here and fails start-up with the reason if it is unusable.
  return config.DATA_PLANE === 'net'
    ? new NetProxyServer(forwarding, clientLimits, routes)
    : httpListener(createProxyServer(forwarding, clientLimits, routes));
}

/**
 * The admin port, built in dependency order when mounted: the scaler (the
 * local one hands the admin port to the servers it starts), the actions that
 * use it, what the extensions add, and only then the routes.
 */
function buildAdmin(
  config: ProxyConfig,
  fleet: Fleet,
  membership: Membership,
  telemetry: Telemetry,
  extensions: readonly ProxyExtension[],
  extras: ProxyExtras,
  scalerHolder: { current?: Scaler },
  log: Logger,
): AdminPart {
  const server = createAdminListener();
  const mount = (adminPort: number) => {
    const scaler = extras.createScaler?.(adminPort);
    scalerHolder.current = scaler;
    const actions = new FleetActions(
      fleet,
      membership.control,
      scaler,
      { maxServers: config.MAX_SERVERS, registerWaitMs: config.REGISTER_WAIT_MS },
      log,
    );
    const added = extensions.map((e) => e.attachAdmin({ actions }));
    const shards = added.find((a) => a.shards !== undefined)?.shards;
    serveAdmin(server, {
      token: config.adminToken,
      actions,
      shards,
      registry: membership.registry,
      snapshot: telemetry.snapshot,
      log,
    });
    return { actions, scaler };
  };
  return { server, mount };
}
