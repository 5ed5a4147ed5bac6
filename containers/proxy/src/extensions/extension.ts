import type { Logger } from 'pino';
import type { LocalRoutes } from '#core/ports/local-routes.js';
import type { MembershipSource } from '#core/ports/membership.js';
import type { FleetActions } from '../admin/fleet-actions.js';
import type { ShardScaleRoutes } from '../admin/scale-routes.js';
import type { ProxyConfig } from '../config.js';
import type { Fleet } from '../fleet/fleet.js';
import type { ProxySnapshot } from '../telemetry/snapshot.js';

/**
 * What the proxy lends an extension when it is built. An extension reads the
 * fleet (who is up, how to reach them) and membership; it never sees the
 * forwarding path.
 */
export interface ExtensionHost {
  readonly config: ProxyConfig;
  readonly fleet: Fleet;
  readonly membership: MembershipSource;
  readonly log: Logger;
}

/** What the admin side lends an extension once it exists (it is built after the data port's listener). */
export interface ExtensionAdmin {
  readonly actions: FleetActions;
}

/** What an extension adds to the admin API. */
export interface ExtensionAdminRoutes {
  /** /add and /rm bodies that place shards as well as servers. */
  readonly shards?: ShardScaleRoutes;
}

/**
 * The one seam between the proxy and an optional feature (today the records
 * API). The composition root builds extensions from the configuration; the
 * lifecycle starts them after membership and before the listeners open, and
 * stops them after the data port has drained.
 */
export interface ProxyExtension {
  readonly name: string;
  /** Requests on the data port this extension answers itself, on either data plane. */
  readonly routes?: LocalRoutes;
  /** Starts its background work. */
  start(): Promise<void>;
  /** Receives the admin actions; returns what it adds to the admin API. */
  attachAdmin(admin: ExtensionAdmin): ExtensionAdminRoutes;
  /** Its part of the proxy's snapshot. */
  snapshot?(): Pick<ProxySnapshot, 'shards'>;
  stop(): Promise<void>;
}
