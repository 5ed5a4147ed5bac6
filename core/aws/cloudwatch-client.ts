import { CloudWatchClient } from '@aws-sdk/client-cloudwatch';

/** A CloudWatch call slower than this has failed; publishers retry on their own schedule. */
export const CLOUDWATCH_REQUEST_TIMEOUT_MS = 5000;
export const CLOUDWATCH_CONNECT_TIMEOUT_MS = 2000;
const CLOUDWATCH_MAX_ATTEMPTS = 3;

let shared: CloudWatchClient | undefined;

/** The process's one CloudWatch client; endpoint, region and credentials come from the SDK's environment lookup. */
export function cloudWatchClient(): CloudWatchClient {
  shared ??= new CloudWatchClient({
    maxAttempts: CLOUDWATCH_MAX_ATTEMPTS,
    requestHandler: { requestTimeout: CLOUDWATCH_REQUEST_TIMEOUT_MS, connectionTimeout: CLOUDWATCH_CONNECT_TIMEOUT_MS },
  });
  return shared;
}
