import type { Server as HttpServer } from 'node:http';
import type { Server } from 'node:net';
import { closeServer, stopListening } from '#core/http/listen.js';

/** What start-up and graceful shutdown need from a data plane's listening server. */
export interface ProxyListener {
  readonly server: Server;
  /** Stop accepting; established connections carry on. */
  stopListening(): void;
  /** Stop accepting, close idle connections, resolve when every connection has closed. */
  close(): Promise<void>;
  /** Shutdown's deadline passed: cut whatever is left. */
  closeAllConnections(): void;
}

/** The node:http data plane's server as a ProxyListener. */
export function httpListener(server: HttpServer): ProxyListener {
  return {
    server,
    stopListening: () => stopListening(server),
    close: () => closeServer(server),
    closeAllConnections: () => server.closeAllConnections(),
  };
}
