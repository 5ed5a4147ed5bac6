/**
 * The failsafe Lambda (infra/constructs/autoscaler-failsafe.ts): invoked by
 * the alarm on the autoscaler's Ticks metric when it enters ALARM. Reads
 * only its environment and ECS; see failsafe.ts for why.
 */
import { Logger } from '@aws-lambda-powertools/logger';
import { z } from 'zod';
import { ecsClient } from '#core/aws/ecs-client.js';
import { EcsService } from '#core/aws/ecs-service.js';
import { parseEnv } from '#core/config/env.js';
import { type FailsafeResult, lowerToMinimum } from './failsafe.js';
import type { TickLog } from './ports.js';

const count = z.coerce.number({ error: 'expected a whole number' }).int().min(0);
const env = parseEnv(
  z.object({
    CLUSTER_NAME: z.string().min(1, { error: 'required: the ECS cluster' }),
    PROXY_SERVICE_NAME: z.string().min(1, { error: 'required: the proxy ECS service' }),
    SERVER_SERVICE_NAME: z.string().min(1, { error: 'required: the servers ECS service' }),
    PROXY_MIN_COUNT: count,
    SERVER_MIN_COUNT: count,
  }),
  process.env,
  'autoscaler failsafe',
);
const logger = new Logger({ serviceName: 'ringmaster-autoscaler-failsafe' });
const log: TickLog = {
  info: (message, extra) => logger.info(message, extra ?? {}),
  warn: (message, extra) => logger.warn(message, extra ?? {}),
  error: (message, extra) => logger.error(message, extra ?? {}),
};
const ecs = ecsClient();
const tiers = {
  proxy: { service: new EcsService(ecs, env.CLUSTER_NAME, env.PROXY_SERVICE_NAME), minCount: env.PROXY_MIN_COUNT },
  servers: { service: new EcsService(ecs, env.CLUSTER_NAME, env.SERVER_SERVICE_NAME), minCount: env.SERVER_MIN_COUNT },
};

/** The part of CloudWatch's alarm-action event this reads (absent on a direct invocation). */
interface AlarmEvent {
  readonly alarmData?: { readonly alarmName?: string; readonly state?: { readonly value?: string } };
}

/**
 * Acts on the alarm's ALARM state, or on a direct invocation (an operator's
 * `aws lambda invoke`); any other state change is logged and ignored. Throws
 * when a tier could not be lowered, so the asynchronous invocation is retried.
 */
export async function handler(event: AlarmEvent = {}): Promise<FailsafeResult | { skipped: string }> {
  const state = event.alarmData?.state?.value;
  if (state !== undefined && state !== 'ALARM') {
    log.info('failsafe alarm left ALARM; nothing to do', { state, alarm: event.alarmData?.alarmName });
    return { skipped: state };
  }
  const result = await lowerToMinimum(tiers, log);
  if (result.failed.length > 0) throw new Error(`failsafe could not lower: ${result.failed.join(', ')}`);
  return result;
}
