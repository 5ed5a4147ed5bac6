import { ECSClient } from '@aws-sdk/client-ecs';

/** An ECS call slower than this has failed; callers retry on their own schedule. */
export const ECS_REQUEST_TIMEOUT_MS = 5000;
const ECS_CONNECT_TIMEOUT_MS = 2000;
const ECS_MAX_ATTEMPTS = 3;

let shared: ECSClient | undefined;

/** The process's one ECS client; endpoint, region and credentials come from the SDK's environment lookup. */
export function ecsClient(): ECSClient {
  shared ??= new ECSClient({
    maxAttempts: ECS_MAX_ATTEMPTS,
    requestHandler: { requestTimeout: ECS_REQUEST_TIMEOUT_MS, connectionTimeout: ECS_CONNECT_TIMEOUT_MS },
  });
  return shared;
}
