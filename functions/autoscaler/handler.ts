/**
 * The autoscaler Lambda, invoked by an EventBridge schedule (every minute by
 * default). Thin on purpose: everything that can be checked without AWS is
 * in the pure policy (policy.ts) and the tick (tick.ts); this file builds the
 * AWS clients and the ports once per cold start and runs one tick per event.
 *
 * Logs go through Powertools' Logger. Decision metrics go through the
 * MetricsSink port: on AWS as Powertools Metrics' embedded-metric log lines
 * (no API call, no PutMetricData permission); on an emulator, which turns no
 * log lines into metrics, through PutMetricData (METRICS_OUTPUT), so they can
 * be read back there. Either way they are the same metrics, with the same
 * names and dimensions.
 */
import { Logger } from '@aws-lambda-powertools/logger';
import { Metrics } from '@aws-lambda-powertools/metrics';
import { AutoscalerStateStore } from '#core/aws/autoscaler-state-store.js';
import { cloudWatchClient } from '#core/aws/cloudwatch-client.js';
import { CloudWatchSink } from '#core/aws/cloudwatch-sink.js';
import { dynamoDocumentClient } from '#core/aws/dynamo-client.js';
import { ecsClient } from '#core/aws/ecs-client.js';
import { EcsService } from '#core/aws/ecs-service.js';
import { parseDeploymentConfig } from '#core/config/deployment.js';
import { CloudWatchLoadReader } from './adapters/cloudwatch-load.js';
import { EmfMetricsSink } from './adapters/emf-metrics-sink.js';
import { readAutoscalerEnvironment } from './environment.js';
import type { TickLog, TickPorts } from './ports.js';
import { settingsFromDeployment } from './settings-from-deployment.js';
import { runTick } from './tick.js';

const env = readAutoscalerEnvironment(process.env);
const config = parseDeploymentConfig(JSON.parse(env.RINGMASTER_CONFIG));
const settings = settingsFromDeployment(config);
const logger = new Logger({ serviceName: 'ringmaster-autoscaler' });
const log: TickLog = {
  info: (message, extra) => logger.info(message, extra ?? {}),
  warn: (message, extra) => logger.warn(message, extra ?? {}),
  error: (message, extra) => logger.error(message, extra ?? {}),
};
const ecs = ecsClient();
const cloudWatch = cloudWatchClient();
const ports: TickPorts = {
  load: new CloudWatchLoadReader(cloudWatch, {
    namespace: env.METRICS_NAMESPACE,
    environment: env.ENV_NAME,
    cluster: env.CLUSTER_NAME,
    serviceNames: { proxy: env.PROXY_SERVICE_NAME, servers: env.SERVER_SERVICE_NAME },
  }),
  services: {
    proxy: new EcsService(ecs, env.CLUSTER_NAME, env.PROXY_SERVICE_NAME),
    servers: new EcsService(ecs, env.CLUSTER_NAME, env.SERVER_SERVICE_NAME),
  },
  state: new AutoscalerStateStore(dynamoDocumentClient(), env.STATE_TABLE),
  metrics:
    env.METRICS_OUTPUT === 'emf'
      ? new EmfMetricsSink(new Metrics({ namespace: env.METRICS_NAMESPACE, serviceName: 'ringmaster-autoscaler' }))
      : new CloudWatchSink(cloudWatch, env.METRICS_NAMESPACE),
};

/** One tick. Failures are logged and counted in the Errors metric; the next tick tries again. */
export async function handler(): Promise<{ outcome: string; desired?: Record<string, number> }> {
  const outcome = await runTick(ports, settings, env.ENV_NAME, log, Date.now());
  if (outcome.kind !== 'applied') return { outcome: outcome.kind };
  const { proxy, servers } = outcome.decision.services;
  return { outcome: outcome.kind, desired: { proxy: proxy.desiredCount, servers: servers.desiredCount } };
}
