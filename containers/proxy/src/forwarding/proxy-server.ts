import { createServer, type Server } from 'node:http';
import type { Socket } from 'node:net';
import type { RecordsApi } from '../records/records-api.js';
import { Exchange } from './exchange.js';
import type { Forwarding } from './forwarding.js';
import { HttpClientSide, startInOrder } from './http-client-side.js';

export interface ProxyServerLimits {
  readonly headersTimeoutMs: number;
  readonly requestTimeoutMs: number;
  readonly keepAliveTimeoutMs: number;
  readonly maxHeaderBytes: number;
}

/** The client-facing HTTP server. Oversized headers get 431 from Node itself. */
export function createProxyServer(fwd: Forwarding, limits: ProxyServerLimits, records?: RecordsApi): Server {
  const server = createServer(
    {
      headersTimeout: limits.headersTimeoutMs,
      requestTimeout: limits.requestTimeoutMs,
      keepAliveTimeout: limits.keepAliveTimeoutMs,
      maxHeaderSize: limits.maxHeaderBytes,
      noDelay: true,
      // Node checks header/request timeouts on this tick (30 s by default), too coarse for slowloris.
      connectionsCheckingInterval: Math.min(1000, limits.headersTimeoutMs),
    },
    records
      ? (req, res) => {
          if (records.matches(req.url ?? '/')) records.handle(req, res);
          else startInOrder(req, new Exchange(fwd, new HttpClientSide(req, res)));
        }
      : (req, res) => startInOrder(req, new Exchange(fwd, new HttpClientSide(req, res))),
  );
  server.on('clientError', (err: NodeJS.ErrnoException, socket) => {
    // Malformed requests, header overflow and timeouts: answer if the socket still can.
    if (socket.writable && !socket.writableEnded) {
      const status =
        err.code === 'HPE_HEADER_OVERFLOW'
          ? '431 Request Header Fields Too Large'
          : err.code === 'ERR_HTTP_REQUEST_TIMEOUT'
            ? '408 Request Timeout'
            : '400 Bad Request';
      const body = JSON.stringify({ message: status.slice(4), status: 'failure', code: err.code ?? 'BAD_REQUEST' });
      socket.end(
        `HTTP/1.1 ${status}\r\ncontent-type: application/json\r\ncontent-length: ${body.length}\r\nconnection: close\r\n\r\n${body}`,
      );
    } else {
      socket.destroy();
    }
  });
  // CONNECT asks us to become a tunnel, which this proxy does not do: say so instead of resetting.
  server.on('connect', (_req, socket: Socket) => {
    socket.on('error', () => socket.destroy());
    socket.end(METHOD_NOT_ALLOWED);
  });
  return server;
}

const METHOD_NOT_ALLOWED_BODY = JSON.stringify({
  message: 'Method Not Allowed',
  status: 'failure',
  code: 'METHOD_NOT_ALLOWED',
});
const METHOD_NOT_ALLOWED = `HTTP/1.1 405 Method Not Allowed\r\ncontent-type: application/json\r\ncontent-length: ${METHOD_NOT_ALLOWED_BODY.length}\r\nconnection: close\r\n\r\n${METHOD_NOT_ALLOWED_BODY}`;
