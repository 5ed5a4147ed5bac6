import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { Logger } from 'pino';
import type { RecordsStore } from '#core/aws/records-store.js';
import type { ServerConfig } from './config.js';
import type { LoadSampler } from './load-sampler.js';
import { ShardReadCache } from './shard-read-cache.js';
import { isShardRoute, shardRoutes } from './shard-routes.js';
import { attachWebSocketEcho, WEBSOCKET_PATH, type WebSocketEcho } from './websocket-echo.js';

export interface ServerState {
  inflight: number;
}

/** Longest path echoed back in a 404: enough to recognise it, never a megabyte of someone's URL. */
const NOT_FOUND_PATH_MAX = 200;

/**
 * The backend's HTTP surface: /home (the seed's servers' greeting; also served
 * as /request, the path the ICS 4104 client scripts call), /heartbeat
 * (health plus load), /echo (streams a body back, for proxy tests) and /ws
 * (a WebSocket echo, see websocket-echo.ts).
 * Replies are precomputed where they can be: this server is the reference
 * the proxy is benchmarked against, so it should cost as little as possible.
 */
export function createBackendServer(
  config: ServerConfig,
  load: LoadSampler,
  state: ServerState,
  records: RecordsStore | undefined,
  log: Logger,
): { server: Server; webSockets: WebSocketEcho } {
  // Reads are cached per shard, keyed by valid_idx; see ShardReadCache.
  const readCache = records ? new ShardReadCache(records) : undefined;
  const handleShard = shardRoutes(config.id, records, readCache, log);
  const home = Buffer.from(JSON.stringify({ message: `Hello from Server: ${config.id}`, status: 'successful' }));
  const homeStatus = config.SERVER_FAIL_STATUS || 200;

  const sendHome = (res: ServerResponse) => {
    res.writeHead(homeStatus, ['content-type', 'application/json', 'content-length', String(home.length)]);
    res.end(home);
  };

  const requestClosed = () => {
    state.inflight--;
  };
  const server = createServer({ keepAliveTimeout: config.KEEPALIVE_TIMEOUT_MS }, (req, res) => {
    state.inflight++;
    res.once('close', requestClosed);
    const q = req.url?.indexOf('?') ?? -1;
    const path = q < 0 ? req.url : req.url?.slice(0, q);
    if ((path === '/home' || path === '/request') && (req.method === 'GET' || req.method === 'HEAD')) {
      if (config.SERVER_WORK_CPU_MS > 0) burnCpu(config.SERVER_WORK_CPU_MS);
      if (config.SERVER_WORK_LATENCY_MS > 0) setTimeout(sendHome, config.SERVER_WORK_LATENCY_MS, res);
      else sendHome(res);
    } else if (path === '/heartbeat') {
      const body = JSON.stringify({
        status: 'successful',
        server: config.id,
        load: { inflight: state.inflight - 1, cpu: load.cpu, memory: load.memory },
      });
      res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) });
      res.end(body);
    } else if (path === '/echo' && req.method === 'POST') {
      echo(req, res, config.id);
    } else if (path === WEBSOCKET_PATH) {
      // Only an upgrade reaches the WebSocket (the 'upgrade' event); a plain request is told what to send.
      upgradeRequired(res);
    } else if (path !== undefined && isShardRoute(path)) {
      handleShard(req, res);
    } else {
      notFound(res, req.method, path);
    }
  });
  const webSockets = attachWebSocketEcho(server, config.id, config.WS_MAX_MESSAGE_BYTES, log);
  return { server, webSockets };
}

/**
 * The seed's error shape, naming what was asked for: a client script
 * calling the wrong path should learn which path, not just "not found".
 * Off the hot path, so it is built per request.
 */
function notFound(res: ServerResponse, method: string | undefined, path: string | undefined): void {
  const shown = (path ?? '').slice(0, NOT_FOUND_PATH_MAX);
  const body = Buffer.from(
    JSON.stringify({
      message: `${shown} not found for ${method ?? 'GET'}: this server serves GET /home and GET /request`,
      status: 'failure',
    }),
  );
  res.writeHead(404, ['content-type', 'application/json', 'content-length', String(body.length)]);
  res.end(body);
}

/** 426 for /ws without an upgrade, with the `Upgrade` header RFC 9110 section 15.5.22 asks for. */
function upgradeRequired(res: ServerResponse): void {
  const body = Buffer.from(
    JSON.stringify({ message: `${WEBSOCKET_PATH} speaks WebSocket only: send an upgrade`, status: 'failure' }),
  );
  res.writeHead(426, [
    'content-type',
    'application/json',
    'content-length',
    String(body.length),
    'upgrade',
    'websocket',
    'connection',
    'upgrade',
  ]);
  res.end(body);
}

/** Streams the request body straight back, so tests see bytes flow both ways. */
function echo(req: IncomingMessage, res: ServerResponse, id: string): void {
  const headers: Record<string, string> = {
    'content-type': req.headers['content-type'] ?? 'application/octet-stream',
    'x-server-id': id,
    'x-seen-forwarded-for': String(req.headers['x-forwarded-for'] ?? ''),
    'x-seen-request-id': String(req.headers['x-request-id'] ?? ''),
    'x-seen-hop': String(req.headers['x-hop'] ?? ''),
  };
  if (req.headers['content-length']) headers['content-length'] = req.headers['content-length'];
  res.writeHead(200, headers);
  req.pipe(res);
}

function burnCpu(ms: number): void {
  const until = performance.now() + ms;
  while (performance.now() < until) {
    // Deliberate busy work: the benchmark's stand-in for real request handling.
  }
}
