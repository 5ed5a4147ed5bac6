import type { IncomingMessage, Server } from 'node:http';
import type { Duplex } from 'node:stream';
import type { Logger } from 'pino';
import { type RawData, type WebSocket, WebSocketServer } from 'ws';

/** The one path that accepts a WebSocket; every other upgrade is answered 404 and closed. */
export const WEBSOCKET_PATH = '/ws';

/**
 * Echoes queued for a client past this many bytes pause reading from it until
 * they have gone out: a client that sends without reading then fills its own
 * TCP window instead of this server's memory.
 */
export const ECHO_HIGH_WATER_BYTES = 1024 * 1024;

/** After the close frame sent at shutdown, how long a client gets to answer before its socket is cut. */
export const CLOSE_HANDSHAKE_GRACE_MS = 1000;

/** Longest path echoed back in a 404 (as app.ts's): enough to recognise it, never a megabyte of someone's URL. */
const NOT_FOUND_PATH_MAX = 200;
/** WebSocket close code 1001: the server is going away (RFC 6455 section 7.4.1). */
const CLOSE_GOING_AWAY = 1001;
const NEWLINE = Buffer.from([0x0a]);

export interface WebSocketEcho {
  /** Open WebSockets right now. */
  readonly open: () => number;
  /** Sends every open WebSocket a 1001 close and cuts whoever has not answered after the grace; resolves when all are gone. */
  readonly closeAll: () => Promise<void>;
}

/**
 * The server's WebSocket echo on the existing node:http server's 'upgrade'
 * event (the `ws` package in noServer mode), so the tests and the demo can
 * see which server a key's socket landed on.
 *
 * - text message m: text reply `{"server":"<id>","message":m}`;
 * - binary message: binary reply, the id's UTF-8 bytes, one 0x0A byte, then
 *   the message's bytes (no JSON, so the benchmark's echo costs little);
 * - a message over `maxMessageBytes`: ws closes the socket with 1009;
 * - an upgrade on any other path: 404 with the server's JSON error shape, then close.
 */
export function attachWebSocketEcho(server: Server, id: string, maxMessageBytes: number, log: Logger): WebSocketEcho {
  const wss = new WebSocketServer({ noServer: true, maxPayload: maxMessageBytes, perMessageDeflate: false });
  const idPrefix = Buffer.concat([Buffer.from(id, 'utf8'), NEWLINE]);

  const onConnection = (ws: WebSocket) => {
    // Without a listener, a protocol error (a frame too big, bad UTF-8) would throw; ws closes the socket itself.
    ws.on('error', (err) => log.debug({ err }, 'websocket error'));
    const resumeWhenFlushed = () => {
      if (ws.isPaused && ws.bufferedAmount < ECHO_HIGH_WATER_BYTES) ws.resume();
    };
    ws.on('message', (data: RawData, isBinary: boolean) => {
      // binaryType stays 'nodebuffer', so a message (fragmented or not) arrives as one Buffer.
      const bytes = data as Buffer;
      if (isBinary) ws.send(Buffer.concat([idPrefix, bytes]), { binary: true }, resumeWhenFlushed);
      else
        ws.send(JSON.stringify({ server: id, message: bytes.toString('utf8') }), { binary: false }, resumeWhenFlushed);
      if (ws.bufferedAmount >= ECHO_HIGH_WATER_BYTES) ws.pause();
    });
  };

  server.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => {
    const q = req.url?.indexOf('?') ?? -1;
    const path = q < 0 ? req.url : req.url?.slice(0, q);
    if (path === WEBSOCKET_PATH) {
      // ws answers a bad handshake itself: 405 for a method other than GET, 400 for a missing or wrong key.
      wss.handleUpgrade(req, socket, head, onConnection);
      return;
    }
    // Node takes its own listeners off an upgraded socket: without this, a reset would crash the process.
    socket.on('error', () => socket.destroy());
    const body = upgradeNotFoundBody(path);
    const head404 = `HTTP/1.1 404 Not Found\r\ncontent-type: application/json\r\ncontent-length: ${body.length}\r\nconnection: close\r\n\r\n`;
    socket.end(Buffer.concat([Buffer.from(head404, 'latin1'), body]));
  });

  return {
    open: () => wss.clients.size,
    closeAll: async () => {
      const closing = [...wss.clients].map(
        (ws) =>
          new Promise<void>((resolve) => {
            if (ws.readyState === ws.CLOSED) return resolve();
            ws.once('close', () => resolve());
            ws.close(CLOSE_GOING_AWAY, 'server shutting down');
            setTimeout(() => ws.terminate(), CLOSE_HANDSHAKE_GRACE_MS).unref();
          }),
      );
      await Promise.all(closing);
    },
  };
}

/** The server's JSON error shape, saying where WebSockets go. */
function upgradeNotFoundBody(path: string | undefined): Buffer {
  const shown = (path ?? '').slice(0, NOT_FOUND_PATH_MAX);
  return Buffer.from(
    JSON.stringify({
      message: `${shown} takes no upgrade: WebSockets connect to ${WEBSOCKET_PATH}`,
      status: 'failure',
    }),
  );
}
