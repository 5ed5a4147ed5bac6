/**
 * A fleet of stand-in servers in one process, driven by its parent over IPC
 * (see lease-fleet.ts): each server is a real HTTP listener on its own
 * loopback port that answers every request with its id, and keeps a real
 * lease in the Ring table through the server's own RingLease (the
 * conditional UpdateItem and version bump that a server container makes).
 * One process holds hundreds of them cheaply; the parent tells it which
 * servers join, stop heartbeating (a lapse), leave (deregister) and close.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { dynamoDocumentClient } from '#core/aws/dynamo-client.js';
import { RingStore } from '#core/aws/ring-store.js';
import { RingLease } from '#server/ring-lease.js';
import type { FleetCommand, FleetReply } from './lease-fleet.js';

interface StandIn {
  readonly server: Server;
  readonly address: string;
  readonly lease: RingLease;
  timer: NodeJS.Timeout | undefined;
  served: number;
}

const ring = new RingStore(dynamoDocumentClient(), process.env.RING_TABLE ?? '');
const heartbeatMs = Number(process.env.HEARTBEAT_INTERVAL_MS);
const leaseMs = Number(process.env.LEASE_MS);
/** Registrations in flight at once while a batch joins (each is a write and a version bump). */
const JOIN_CONCURRENCY = 25;
const fleet = new Map<string, StandIn>();
let heartbeatErrors = 0;
let leaveErrors = 0;

async function listen(id: string): Promise<{ server: Server; address: string }> {
  const body = Buffer.from(id);
  const server = createServer((req, res) => {
    const standIn = fleet.get(id);
    if (standIn) standIn.served++;
    req.resume();
    res.writeHead(200, { 'content-type': 'text/plain', 'content-length': body.length });
    res.end(body);
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', resolve);
  });
  return { server, address: `http://127.0.0.1:${(server.address() as AddressInfo).port}` };
}

/**
 * Listens first, then registers, then beats on: the server's Registration. As there, a failed first
 * beat does not stop the server (the next one registers it), so a loaded emulator delays a join.
 */
async function join(id: string): Promise<string> {
  if (fleet.has(id)) throw new Error(`server "${id}" already joined`);
  const { server, address } = await listen(id);
  const lease = new RingLease(ring, id, address, 1, leaseMs);
  const standIn: StandIn = { server, address, lease, timer: undefined, served: 0 };
  fleet.set(id, standIn);
  const beat = () =>
    lease.beat().then(
      () => {},
      () => {
        heartbeatErrors++;
      },
    );
  await beat();
  // A random phase, so a batch that joined together does not beat together ever after.
  standIn.timer = setTimeout(() => {
    void beat();
    standIn.timer = setInterval(() => void beat(), heartbeatMs);
  }, Math.random() * heartbeatMs);
  return address;
}

function standIn(id: string): StandIn {
  const s = fleet.get(id);
  if (!s) throw new Error(`no server "${id}" in this fleet`);
  return s;
}

async function close(id: string): Promise<void> {
  const s = standIn(id);
  clearTimeout(s.timer);
  fleet.delete(id);
  await new Promise<void>((resolve) => {
    s.server.close(() => resolve());
    s.server.closeAllConnections();
  });
}

async function handle(command: FleetCommand): Promise<FleetReply['result']> {
  switch (command.op) {
    case 'join': {
      const addresses: Record<string, string> = {};
      for (let i = 0; i < command.ids.length; i += JOIN_CONCURRENCY) {
        const batch = command.ids.slice(i, i + JOIN_CONCURRENCY);
        const joined = await Promise.all(batch.map(join));
        batch.forEach((id, j) => {
          addresses[id] = joined[j] as string;
        });
      }
      return { addresses };
    }
    case 'lapse':
      // Heartbeats stop; the listener stays (a server cut off from DynamoDB, or one whose beats hang).
      for (const id of command.ids) clearTimeout(standIn(id).timer);
      return {};
    case 'leave':
      // What a server's clean shutdown does first: stop beating and delete its lease, still serving. Like
      // the server's Registration, a failed delete is not retried: the lease lapses instead.
      for (const id of command.ids) clearTimeout(standIn(id).timer);
      await Promise.all(
        command.ids.map((id) =>
          standIn(id)
            .lease.leave()
            .catch(() => {
              leaveErrors++;
            }),
        ),
      );
      return {};
    case 'close':
      await Promise.all(command.ids.map(close));
      return {};
    case 'stats':
      return { heartbeatErrors, leaveErrors, served: Object.fromEntries([...fleet].map(([id, s]) => [id, s.served])) };
    case 'exit':
      await Promise.all([...fleet.keys()].map(close));
      return {};
  }
}

process.on('message', (command: FleetCommand) => {
  handle(command).then(
    (result) => {
      process.send?.({ seq: command.seq, result } satisfies FleetReply);
      if (command.op === 'exit') process.disconnect();
    },
    (err: unknown) =>
      process.send?.({
        seq: command.seq,
        error: err instanceof Error ? err.message : String(err),
      } satisfies FleetReply),
  );
});
process.send?.({ seq: 0, result: {} } satisfies FleetReply);
