/**
 * The development entry point (`dist/dev-proxy.js`): the production proxy
 * (containers/proxy/src, the same startProxy and settings) with backend
 * servers run as local processes, injected through startProxy's scaler hook.
 * `npm start`, the end-to-end tests and the benchmarks run it with
 * SCALER=local or local-ecs; the container image never contains it.
 *
 * Its own settings are in dev-config.ts; every other variable is the proxy's.
 */
import { loadOrExit } from '#core/config/load-or-exit.js';
import type { FleetActions } from '#proxy/admin/fleet-actions.js';
import { exitOnStartFailure, serveProxy } from '#proxy/serve.js';
import { loadDevConfig } from './dev-config.js';
import type { EcsMirroredScaler } from './ecs-mirrored-scaler.js';
import { localEcsTasks, localProcesses } from './local-scalers.js';

const dev = loadOrExit('ringmaster dev proxy', () => loadDevConfig(process.env));
// SCALER=local and local-ecs are this entry point's; the proxy's own SCALER stays none.
const { SCALER: _ownedHere, ...proxyEnv } = process.env;

serveProxy(proxyEnv, (config, log) => {
  let mirrored: EcsMirroredScaler | undefined;
  let actions: FleetActions | undefined;
  let stopFollowing: (() => Promise<void>) | undefined;
  let stopping = false;
  return {
    createScaler: (adminPort) => {
      const processes = localProcesses(dev, config, adminPort, process.env, log);
      if (dev.SCALER === 'local') return processes;
      mirrored = localEcsTasks(dev, config, processes, log);
      return mirrored;
    },
    onActions: (fleetActions) => {
      actions = fleetActions;
      return async () => {
        stopping = true;
        await stopFollowing?.();
      };
    },
    // The initial servers register before the ready line, so a caller that sees it can send traffic.
    beforeReady: async () => {
      if (!actions) throw new Error('the proxy did not hand over its admin actions');
      if (dev.INITIAL_SERVERS > 0) await actions.add({ n: dev.INITIAL_SERVERS });
      if (mirrored && !stopping) stopFollowing = mirrored.follow(actions);
    },
  };
}).catch(exitOnStartFailure);
