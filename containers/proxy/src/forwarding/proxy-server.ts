import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import type { LocalRoutes } from '#core/ports/local-routes.js';
import { Exchange } from './exchange.js';
import type { Forwarding } from './forwarding.js';
import { answerInOrder, HttpClientSide, startInOrder } from './http-client-side.js';
import { closingReply } from './http1/framing.js';
import { sweepIntervalMs } from './http1/sweep.js';
import { LocalExchange } from './local-exchange.js';
import { UpgradeClientSide } from './tunnel/upgrade-client-side.js';
import { tunnelUpgrade } from './tunnel/upgrade-request.js';

export interface ProxyServerLimits {
  readonly headersTimeoutMs: number;
  readonly requestTimeoutMs: number;
  readonly keepAliveTimeoutMs: number;
  readonly maxHeaderBytes: number;
}

const kDeclinedUpgrade = Symbol('ringmaster.declinedUpgrade');
type DeclinedUpgrade = IncomingMessage & { [kDeclinedUpgrade]?: true };

/**
 * An upgrade request served as plain HTTP is its connection's last: its
 * answer closes the connection, as on the net plane. Left alone, node:http
 * keeps the connection and reads on as HTTP, dropping the rest of the read
 * that held the upgrade request and parsing later reads as requests, which
 * a strict reader (llhttp stops at an upgrade) never sees as requests: the
 * fuzzer's finding, a request pipelined behind a declined upgrade forwarded.
 * startInOrder never starts what node:http parses after an answer that closes.
 */
function closeAfterDeclinedUpgrade(req: IncomingMessage, res: ServerResponse): void {
  if ((req as DeclinedUpgrade)[kDeclinedUpgrade] === true) res.shouldKeepAlive = false;
}

/**
 * The client-facing HTTP server. Oversized headers get 431 from Node itself.
 * Requests `routes` claims are answered by them (in order with the others); the rest are forwarded.
 */
export function createProxyServer(fwd: Forwarding, limits: ProxyServerLimits, routes?: LocalRoutes): Server {
  const onRequest = routes
    ? (req: IncomingMessage, res: ServerResponse) => {
        closeAfterDeclinedUpgrade(req, res);
        const client = new HttpClientSide(req, res);
        if (routes.claims(req.method ?? 'GET', req.url ?? '/'))
          startInOrder(req, new LocalExchange(routes, client, fwd.traffic, fwd.log));
        else startInOrder(req, new Exchange(fwd, client));
      }
    : (req: IncomingMessage, res: ServerResponse) => {
        closeAfterDeclinedUpgrade(req, res);
        startInOrder(req, new Exchange(fwd, new HttpClientSide(req, res)));
      };
  const server = createServer(
    {
      headersTimeout: limits.headersTimeoutMs,
      requestTimeout: limits.requestTimeoutMs,
      keepAliveTimeout: limits.keepAliveTimeoutMs,
      maxHeaderSize: limits.maxHeaderBytes,
      noDelay: true,
      // Node checks header/request timeouts on this tick (30 s by default), too coarse for slowloris.
      connectionsCheckingInterval: sweepIntervalMs(limits.headersTimeoutMs),
      // The Exchange refuses a missing Host itself, in order with the requests before it: node:http's own
      // 400 bypasses that order, and a parse error after it would add a second answer after a close.
      requireHostHeader: false,
      // Only an upgrade request the proxy tunnels reaches 'upgrade'; any other (h2c, HEAD, one with a
      // body, one for a local route) is a plain request, its Upgrade dropped, as on the net plane.
      // node:http asks this only of a request llhttp flagged as an upgrade.
      shouldUpgradeCallback: (req: IncomingMessage) => {
        const tunnel =
          tunnelUpgrade(req.method ?? 'GET', req.rawHeaders) !== null &&
          !routes?.claims(req.method ?? 'GET', req.url ?? '/');
        if (!tunnel) (req as DeclinedUpgrade)[kDeclinedUpgrade] = true;
        return tunnel;
      },
    },
    onRequest,
  );
  server.on('upgrade', (req: IncomingMessage, socket: Socket, head: Buffer) => {
    socket.on('error', () => socket.destroy());
    // The socket node:http hands over is the request's own (req.socket), which the client side takes.
    const client = new UpgradeClientSide(req, head, tunnelUpgrade(req.method ?? 'GET', req.rawHeaders) as string);
    const exchange = new Exchange(fwd, client);
    // After the answers still owed to requests pipelined before it, like any request.
    if (!answerInOrder(socket, () => exchange.start())) exchange.start();
  });
  // An Expect other than 100-continue: forwarded without it, as the net plane does. Left to node:http, it
  // is a 417 with no framing on a kept-alive connection, which a strict client reads up to the close.
  server.on('checkExpectation', onRequest);
  server.on('clientError', (err: NodeJS.ErrnoException, socket) => {
    // Malformed requests, header overflow and timeouts: answer if the socket still can, after the
    // answers still owed to the requests before it (a raw write now would overtake them).
    if (answerInOrder(socket, () => refuse(err, socket))) return;
    refuse(err, socket);
  });
  // CONNECT asks us to become a tunnel, which this proxy does not do: say so instead of resetting.
  server.on('connect', (_req, socket: Socket) => {
    socket.on('error', () => socket.destroy());
    // After the answers still owed to requests pipelined before it (fuzzer finding: it overtook them).
    const refuseConnect = () => socket.end(METHOD_NOT_ALLOWED);
    if (!answerInOrder(socket, refuseConnect)) refuseConnect();
  });
  return server;
}

/** The canned answer to a request node:http could not parse (or that timed out), then the close. */
function refuse(err: NodeJS.ErrnoException, socket: Duplex): void {
  if (socket.writable && !socket.writableEnded) {
    const code = err.code ?? 'BAD_REQUEST';
    // A HEAD whose head was read (its body timed out) gets the head only, as every answer to a HEAD. A head
    // not read to its end is no request yet, so its method cannot be honoured: the JSON goes before the close.
    const headOnly = answersHead(socket);
    if (code === 'HPE_HEADER_OVERFLOW')
      socket.end(closingReply(431, 'Request Header Fields Too Large', code, headOnly));
    else if (code === 'ERR_HTTP_REQUEST_TIMEOUT') socket.end(closingReply(408, 'Request Timeout', code, headOnly));
    else socket.end(closingReply(400, 'Bad Request', code, headOnly));
  } else {
    socket.destroy();
  }
}

/**
 * Whether the message node:http is reading on this socket is a HEAD whose head it has read. node:http keeps
 * the message being read on the socket's parser (`incoming`); once complete, the bytes being read belong to
 * a later head not yet parsed, whose method is unknown.
 */
function answersHead(socket: Duplex): boolean {
  const incoming = (socket as { parser?: { incoming?: IncomingMessage | null } | null }).parser?.incoming;
  return incoming != null && !incoming.complete && incoming.method === 'HEAD';
}

const METHOD_NOT_ALLOWED = closingReply(405, 'Method Not Allowed', 'METHOD_NOT_ALLOWED');
