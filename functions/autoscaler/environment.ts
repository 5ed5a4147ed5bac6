import { z } from 'zod';
import { parseEnv } from '#core/config/env.js';

/** What the CDK app hands the function (infra/constructs/autoscaler-function.ts sets each of these). */
const schema = z.object({
  /** The validated deployment config as JSON; parsed again here with the same schema. */
  RINGMASTER_CONFIG: z.string().min(2, { error: 'required: the deployment config as JSON' }),
  STATE_TABLE: z.string().min(3, { error: 'required: the autoscaler state table' }),
  CLUSTER_NAME: z.string().min(1, { error: 'required: the ECS cluster' }),
  PROXY_SERVICE_NAME: z.string().min(1, { error: 'required: the proxy ECS service' }),
  SERVER_SERVICE_NAME: z.string().min(1, { error: 'required: the servers ECS service' }),
  METRICS_NAMESPACE: z.string().min(1, { error: 'required: the CloudWatch namespace' }),
  ENV_NAME: z.string().min(1, { error: 'required: the deployment name' }),
  /**
   * How the decision metrics leave: embedded-metric log lines through
   * Powertools Metrics (on AWS), or PutMetricData (emulators, which turn no
   * log lines into metrics; infra/emulator.ts and the local run set it).
   */
  METRICS_OUTPUT: z.enum(['emf', 'put-metric-data']).default('emf'),
});

export type AutoscalerEnvironment = z.infer<typeof schema>;

/** Fails fast at cold start, naming every missing or bad variable. */
export function readAutoscalerEnvironment(env: Record<string, string | undefined>): AutoscalerEnvironment {
  return parseEnv(schema, env, 'autoscaler');
}
