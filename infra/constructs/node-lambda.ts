import { join } from 'node:path';
import { Architecture, Runtime } from 'aws-cdk-lib/aws-lambda';
import { type NodejsFunctionProps, OutputFormat } from 'aws-cdk-lib/aws-lambda-nodejs';

/**
 * What every Ringmaster Lambda shares (the autoscaler and its failsafe): the
 * one Node, the architecture, and a bundle that carries its own AWS SDK.
 * One place, so the two cannot drift apart on runtime or bundle target.
 */
export function nodeLambdaDefaults(
  projectRoot: string,
  entry: string,
): Pick<
  NodejsFunctionProps,
  'entry' | 'handler' | 'projectRoot' | 'depsLockFilePath' | 'runtime' | 'architecture' | 'bundling'
> {
  return {
    entry: join(projectRoot, entry),
    handler: 'handler',
    projectRoot,
    depsLockFilePath: join(projectRoot, 'package-lock.json'),
    // One Node (24 LTS) for the Lambdas, the images and CI. It is the newest runtime aws-cdk-lib knows, so
    // cdk-nag's AwsSolutions-L1 passes; when a newer one appears, L1 fails synth and the move is a
    // deliberate one across all three (.nvmrc, the Dockerfiles, this line and the bundle target).
    runtime: Runtime.NODEJS_24_X,
    architecture: Architecture.ARM_64,
    bundling: {
      // Bundle the SDK: the runtime's copy moves under us, and emulators substitute stubs for a missing one.
      externalModules: [],
      format: OutputFormat.ESM,
      target: 'node24',
      minify: true,
      sourceMap: true,
      banner:
        "import { createRequire as __rmCreateRequire } from 'node:module'; const require = __rmCreateRequire(import.meta.url);",
    },
  };
}
