import { AutoscalerStateStore } from '#core/aws/autoscaler-state-store.js';
import { BudgetGate } from '#core/aws/budget-gate.js';
import { dynamoDocumentClient } from '#core/aws/dynamo-client.js';
import { ecsClient } from '#core/aws/ecs-client.js';
import { EcsScaler, EcsService } from '#core/aws/ecs-service.js';
import { exitOnStartFailure, serveProxy } from './serve.js';

/**
 * Entry point of the proxy container (its CMD runs `node proxy.js` in /app) and of `dist/proxy.js`.
 * It holds only the product: SCALER=ecs (what the CDK app sets) or none. Local server processes are
 * the development entry point's (scripts/local/dev-proxy.ts, `dist/dev-proxy.js`).
 */
serveProxy(process.env, (config) => ({
  createScaler: () => {
    if (config.SCALER === 'none') return undefined;
    // /add goes through the autoscaler's budget (BudgetGate) wherever the autoscaler's state is readable.
    return new EcsScaler(
      new EcsService(ecsClient(), config.ECS_CLUSTER, config.ECS_SERVER_SERVICE),
      config.AUTOSCALER_STATE_TABLE
        ? new BudgetGate(new AutoscalerStateStore(dynamoDocumentClient(), config.AUTOSCALER_STATE_TABLE), 'servers')
        : undefined,
    );
  },
})).catch(exitOnStartFailure);
