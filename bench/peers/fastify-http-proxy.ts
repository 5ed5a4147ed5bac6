/**
 * The benchmark's @fastify/http-proxy peer at its documented settings:
 * fastify without logging, reply-from's undici client (keep-alive by
 * default) sized like Ringmaster's pools, the backend chosen per request
 * through `replyOptions.getUpstream`.
 */
import proxy from '@fastify/http-proxy';
import Fastify from 'fastify';
import { peerEnv, pickUpstream } from './pick-upstream.js';

/** Same upstream connection ceiling as Ringmaster's UPSTREAM_CONNECTIONS default. */
const UPSTREAM_CONNECTIONS = 256;

const { upstreams, port } = peerEnv();
const app = Fastify({ logger: false });
await app.register(proxy, {
  upstream: upstreams[0] as string,
  undici: { connections: UPSTREAM_CONNECTIONS, pipelining: 1 },
  replyOptions: { getUpstream: (req) => pickUpstream(req.url, upstreams) },
});
await app.listen({ port, host: '127.0.0.1' });
