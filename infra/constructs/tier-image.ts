import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import type { AssetStaging } from 'aws-cdk-lib';
import { DockerImageAsset, Platform } from 'aws-cdk-lib/aws-ecr-assets';
import { ContainerImage } from 'aws-cdk-lib/aws-ecs';
import type { Construct } from 'constructs';
import type { DeploymentConfig } from '#core/config/deployment.js';
import { copiedSources, parseDockerfile } from '../dockerfile.js';

/** The tiers that ship an image built from this repository. */
export type ImageTier = 'proxy' | 'server';

/**
 * Where scripts/build.mjs stages each image's build context: the tier's
 * Dockerfile next to exactly the files it copies (the bundle, its source map,
 * a package.json marking it an ES module). It is emptied and refilled on
 * every build, and cdk.json's `app` builds before every synth, so an image
 * can hold neither a missing nor a stale bundle.
 */
export function imageContextDir(root: string, tier: ImageTier): string {
  return join(root, 'dist', 'images', tier);
}

/** A build context that cannot make the image its Dockerfile describes. */
export class ImageContextError extends Error {
  override readonly name = 'ImageContextError';
}

const HOW_TO_BUILD =
  'Run `npm run build` (or `node scripts/build.mjs --synth`, which cdk.json\'s "app" runs before every synth and deploy).';

/**
 * Checks a build context against its Dockerfile: every COPY source is
 * there. Throws naming the Dockerfile, the missing files and the fix.
 */
export function checkImageContext(context: string, label: string): void {
  const dockerfilePath = join(context, 'Dockerfile');
  if (!existsSync(dockerfilePath)) {
    throw new ImageContextError(`${label}: no build context at ${context} (no Dockerfile there). ${HOW_TO_BUILD}`);
  }
  const dockerfile = parseDockerfile(readFileSync(dockerfilePath, 'utf8'), `${label} Dockerfile`);
  const present = new Set(listFiles(context));
  const missing = copiedSources(dockerfile).filter((source) => !present.has(source));
  if (missing.length > 0) {
    throw new ImageContextError(
      `${label}: the Dockerfile copies ${missing.join(', ')}, missing from its staged build context ${context}. ${HOW_TO_BUILD}`,
    );
  }
}

/**
 * The configured image, or one built from the tier's staged context at
 * deploy time. Synth fails, naming what is missing, when the context as the
 * CDK staged it into the cloud assembly lacks a file its Dockerfile copies.
 */
export function tierImage(
  scope: Construct,
  id: string,
  root: string,
  tier: { readonly image?: string | undefined; readonly architecture: DeploymentConfig['proxy']['architecture'] },
  name: ImageTier,
): ContainerImage {
  if (tier.image !== undefined) return ContainerImage.fromRegistry(tier.image);
  const source = imageContextDir(root, name);
  // Before the asset, whose own error for a missing directory says nothing of how to make it.
  checkImageContext(source, `image ${name}`);
  const asset = new DockerImageAsset(scope, id, {
    directory: source,
    platform: tier.architecture === 'arm64' ? Platform.LINUX_ARM64 : Platform.LINUX_AMD64,
  });
  const staged = (asset.node.findChild('Staging') as AssetStaging).absoluteStagedPath;
  checkImageContext(staged, `image ${name} (staged)`);
  return ContainerImage.fromDockerImageAsset(asset);
}

/** Files under `dir`, as paths relative to it with forward slashes. */
function listFiles(dir: string): string[] {
  return readdirSync(dir, { recursive: true, withFileTypes: true })
    .filter((entry) => entry.isFile())
    .map((entry) => relative(dir, join(entry.parentPath, entry.name)).split('\\').join('/'));
}
