import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';

/** A DynamoDB call that takes longer than this has failed; callers retry on their own schedule. */
export const DYNAMO_REQUEST_TIMEOUT_MS = 2000;
export const DYNAMO_CONNECT_TIMEOUT_MS = 1000;
/** SDK attempts per call (it backs off and retries throttling itself). */
export const DYNAMO_MAX_ATTEMPTS = 3;

let shared: DynamoDBDocumentClient | undefined;

/**
 * The process's one DynamoDB document client. Endpoint, region and
 * credentials come from the SDK's own environment lookup (AWS_ENDPOINT_URL
 * points it at an emulator); nothing else differs between AWS and LocalStack.
 */
export function dynamoDocumentClient(): DynamoDBDocumentClient {
  shared ??= DynamoDBDocumentClient.from(
    new DynamoDBClient({
      maxAttempts: DYNAMO_MAX_ATTEMPTS,
      requestHandler: { requestTimeout: DYNAMO_REQUEST_TIMEOUT_MS, connectionTimeout: DYNAMO_CONNECT_TIMEOUT_MS },
    }),
    { marshallOptions: { removeUndefinedValues: true } },
  );
  return shared;
}
