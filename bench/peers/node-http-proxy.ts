/**
 * The benchmark's node-http-proxy peer (`http-proxy`), at the settings its
 * README recommends for a reverse proxy: a keep-alive agent upstream, one
 * node:http server in front, X-Forwarded-* on.
 */
import { Agent, createServer } from 'node:http';
import httpProxy from 'http-proxy';
import { peerEnv, pickUpstream } from './pick-upstream.js';

/** Same upstream connection ceiling as Ringmaster's UPSTREAM_CONNECTIONS default. */
const MAX_UPSTREAM_SOCKETS = 256;

const { upstreams, port } = peerEnv();
const agent = new Agent({ keepAlive: true, maxSockets: MAX_UPSTREAM_SOCKETS, maxFreeSockets: MAX_UPSTREAM_SOCKETS });
const proxy = httpProxy.createProxyServer({ agent, xfwd: true });
proxy.on('error', (_err, _req, res) => {
  if ('writeHead' in res && !res.headersSent) res.writeHead(502);
  res.end();
});
createServer((req, res) => proxy.web(req, res, { target: pickUpstream(req.url ?? '/', upstreams) })).listen(
  port,
  '127.0.0.1',
);
