import type { Logger } from 'pino';
import { dynamoDocumentClient } from '#core/aws/dynamo-client.js';
import { RingStore } from '#core/aws/ring-store.js';
import type { MembershipSource } from '#core/ports/membership.js';
import type { ProxyConfig } from '../config.js';
import { DynamoMembership } from './dynamo-membership.js';
import { LeaseRegistry } from './lease-registry.js';
import { StaticMembership } from './static-membership.js';

/** The configured membership source; the lease registry is also returned for its admin routes. */
export function createMembership(
  config: ProxyConfig,
  log: Logger,
): { membership: MembershipSource; registry: LeaseRegistry | undefined } {
  switch (config.MEMBERSHIP) {
    case 'registry': {
      const registry = new LeaseRegistry(config.LEASE_MS, config.MAX_SERVERS);
      return { membership: registry, registry };
    }
    case 'static':
      return { membership: new StaticMembership(config.staticServers), registry: undefined };
    case 'dynamodb':
      return {
        membership: new DynamoMembership(
          new RingStore(dynamoDocumentClient(), config.RING_TABLE),
          config.RING_REFRESH_MS,
          log,
        ),
        registry: undefined,
      };
  }
}
