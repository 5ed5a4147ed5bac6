import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Server as NetServer } from 'node:net';

/** Starts listening and resolves with the bound port (useful with port 0). */
export function listen(server: NetServer, port: number, host: string): Promise<number> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve((server.address() as AddressInfo).port);
    });
  });
}

/** Stops accepting, closes idle keep-alive sockets, and resolves when every connection is gone. */
export function closeServer(server: Server): Promise<void> {
  return new Promise((resolve) => {
    if (!server.listening) return resolve();
    server.close(() => resolve());
    server.closeIdleConnections();
  });
}

/**
 * Stops accepting connections without http.Server#close's closing of idle
 * keep-alive sockets (Node >= 19 does that), which races with requests the
 * client has already sent on them.
 */
export function stopListening(server: Server): void {
  if (server.listening) NetServer.prototype.close.call(server);
}
