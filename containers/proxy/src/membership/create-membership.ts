import type { Logger } from 'pino';
import { dynamoDocumentClient } from '#core/aws/dynamo-client.js';
import { RingStore } from '#core/aws/ring-store.js';
import type { MembershipControl, MembershipSource } from '#core/ports/membership.js';
import type { ProxyConfig } from '../config.js';
import { DynamoMembership } from './dynamo-membership.js';
import { LeaseRegistry } from './lease-registry.js';
import { StaticMembership } from './static-membership.js';

export interface Membership {
  /** What routing reads. */
  readonly source: MembershipSource;
  /** What /add and /rm act through (the same object, seen through its operator interface). */
  readonly control: MembershipControl;
  /** The lease registry, when servers register with this proxy (its admin routes need it). */
  readonly registry: LeaseRegistry | undefined;
}

/** The configured membership source. */
export function createMembership(config: ProxyConfig, log: Logger): Membership {
  switch (config.MEMBERSHIP) {
    case 'registry': {
      const registry = new LeaseRegistry(config.LEASE_MS, config.MAX_SERVERS);
      return { source: registry, control: registry, registry };
    }
    case 'static': {
      const membership = new StaticMembership(config.staticServers);
      return { source: membership, control: membership, registry: undefined };
    }
    case 'dynamodb': {
      const membership = new DynamoMembership(
        new RingStore(dynamoDocumentClient(), config.RING_TABLE),
        config.RING_REFRESH_MS,
        log,
      );
      return { source: membership, control: membership, registry: undefined };
    }
  }
}
