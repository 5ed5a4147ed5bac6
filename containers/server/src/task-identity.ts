import { request } from 'undici';
import { SERVER_ID_PATTERN } from '#core/membership/server-id.js';

/** The metadata endpoint answers from the local agent; anything slower means it is not there. */
const METADATA_TIMEOUT_MS = 2000;

/** The server could not learn its ECS task id although ECS said where to ask. */
export class TaskIdentityError extends Error {
  override readonly name = 'TaskIdentityError';
}

/**
 * On ECS a server registers under its task id, so the admin API's /rm can
 * name exactly the task to stop (core/aws/ecs-service.ts). The id comes from
 * the task metadata endpoint v4 that ECS announces in
 * ECS_CONTAINER_METADATA_URI_V4. Elsewhere (no such variable) there is none.
 */
export async function ecsTaskId(env: Record<string, string | undefined>): Promise<string | undefined> {
  const base = env.ECS_CONTAINER_METADATA_URI_V4;
  if (!base) return undefined;
  let arn: unknown;
  try {
    const res = await request(`${base}/task`, { signal: AbortSignal.timeout(METADATA_TIMEOUT_MS) });
    const body = (await res.body.json()) as { TaskARN?: unknown };
    if (res.statusCode !== 200) throw new Error(`status ${res.statusCode}`);
    arn = body.TaskARN;
  } catch (cause) {
    throw new TaskIdentityError(`ECS_CONTAINER_METADATA_URI_V4: cannot read the task metadata at ${base}/task`, {
      cause,
    });
  }
  const id = typeof arn === 'string' ? arn.slice(arn.lastIndexOf('/') + 1) : '';
  if (!SERVER_ID_PATTERN.test(id)) {
    throw new TaskIdentityError(`ECS task metadata: TaskARN ${JSON.stringify(arn)} has no usable task id`);
  }
  return id;
}
