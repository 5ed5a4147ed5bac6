import { ClusterStore } from '#core/aws/cluster-store.js';
import { ControlVersionStore } from '#core/aws/control-version.js';
import { dynamoDocumentClient } from '#core/aws/dynamo-client.js';
import { parseOrThrow } from '#core/errors/zod-error.js';
import { DynamoMembership } from '../../membership/dynamo-membership.js';
import type { ExtensionHost, ProxyExtension } from '../extension.js';
import { ClusterCache } from './cluster-cache.js';
import { RecordsApi } from './records-api.js';
import { shardAddRequest, shardRemoveRequest } from './scale-requests.js';
import { ShardManager } from './shard-manager.js';
import { shardPlacement } from './shard-placement.js';
import { ShardScaling } from './shard-scaling.js';

/**
 * The sharded records API as a proxy extension, mounted when the records
 * tables are configured (SHARD_TABLE, MAP_TABLE, RECORDS_TABLE): its routes
 * on the data port (either data plane), the shard manager's failover, the
 * placement-aware /add and /rm on the admin port, and the shard placement in
 * the snapshot.
 */
export function recordsExtension(host: ExtensionHost): ProxyExtension {
  const { config, fleet, membership, log } = host;
  // With DynamoDB membership, shape changes bump the cluster version in the Ring table's version item,
  // which membership polls anyway: the cache follows it instead of re-reading ShardT/MapT every second.
  const versioned = membership instanceof DynamoMembership ? membership : undefined;
  const doc = dynamoDocumentClient();
  const store = new ClusterStore(
    doc,
    { shards: config.SHARD_TABLE, map: config.MAP_TABLE },
    versioned && config.RING_TABLE ? new ControlVersionStore(doc, config.RING_TABLE) : undefined,
  );
  const cache = new ClusterCache(
    store,
    config.RING_REFRESH_MS,
    log,
    versioned ? () => versioned.versions()?.cluster : undefined,
  );
  const api = new RecordsApi({
    fleet,
    store,
    cache,
    adminToken: config.adminToken,
    seedCompat: config.SEED_COMPAT,
    maxBodyBytes: config.MAX_BODY_BYTES,
    log,
  });
  const manager = new ShardManager(fleet, membership, store, cache, config.SHARD_MANAGER_INTERVAL_MS, log);
  return {
    name: 'records',
    routes: api,
    start: async () => {
      cache.start();
      manager.start();
    },
    attachAdmin: ({ actions }) => {
      const shards = new ShardScaling(fleet, store, cache, actions, log);
      // The admin API decides from the body's fields that it places shards; the body is validated here.
      const routes = {
        add: (body: unknown) => shards.add(parseOrThrow(shardAddRequest, body)),
        remove: (body: unknown) => shards.remove(parseOrThrow(shardRemoveRequest, body)),
      };
      api.attachAdmin({ scale: { actions, shards: routes }, shards });
      return { shards: routes };
    },
    snapshot: () => ({ shards: shardPlacement(cache.current) }),
    stop: async () => {
      manager.stop();
      cache.stop();
    },
  };
}
