/**
 * The CDK side of the deployment settings: reads the `ringmaster` context
 * from cdk.json and validates it with the schema in core, which the
 * autoscaler Lambda also uses. A bad value fails `cdk synth` naming the key.
 */
import type { Node } from 'constructs';
import { type DeploymentConfig, deploymentConfig, parseDeploymentConfig } from '#core/config/deployment.js';

export type RingmasterConfig = DeploymentConfig;
export const ringmasterConfig = deploymentConfig;
export const parseRingmasterConfig = parseDeploymentConfig;

/** Context key of the committed settings. */
export const CONFIG_CONTEXT_KEY = 'ringmaster';
/** Context flag (`-c emulator=true`) for deployments to MiniStack or LocalStack; never committed. */
export const EMULATOR_CONTEXT_KEY = 'emulator';

/** What the app is asked to build: the settings, and whether the target is an emulator. */
export interface AppSettings {
  readonly config: RingmasterConfig;
  readonly emulator: boolean;
}

/**
 * Reads the settings from an app's context. `-c ringmaster.envName=x`-style
 * overrides are not supported by the CDK for nested keys, so tests and the
 * emulator deploy pass a whole `ringmaster` object (JSON) when they override.
 */
export function readAppSettings(node: Node): AppSettings {
  const raw: unknown = node.tryGetContext(CONFIG_CONTEXT_KEY);
  const config = parseRingmasterConfig(typeof raw === 'string' ? parseJsonContext(raw) : raw);
  const flag: unknown = node.tryGetContext(EMULATOR_CONTEXT_KEY);
  if (flag !== undefined && flag !== true && flag !== false && flag !== 'true' && flag !== 'false') {
    throw new Error(`context ${EMULATOR_CONTEXT_KEY}: expected true or false, got ${JSON.stringify(flag)}`);
  }
  return { config, emulator: flag === true || flag === 'true' };
}

function parseJsonContext(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch (cause) {
    throw new Error(`context ${CONFIG_CONTEXT_KEY}: expected a JSON object`, { cause });
  }
}
