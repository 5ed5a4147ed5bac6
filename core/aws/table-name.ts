/**
 * A DynamoDB table name as the service accepts it. Configuration is checked
 * against this at start-up, so a typo fails there rather than at the first
 * call. (Kept apart from tables.ts so config parsing does not load the SDK.)
 */
export const TABLE_NAME_PATTERN = /^[A-Za-z0-9_.-]{3,255}$/;
export const TABLE_NAME_RULE = 'expected a DynamoDB table name (3-255 of A-Z a-z 0-9 _ . -)';
