import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { App, Stack } from 'aws-cdk-lib';
import { describe, expect, it } from 'vitest';
import { checkImageContext, ImageContextError, imageContextDir, tierImage } from '#infra/constructs/tier-image.js';
import { DockerfileError, parseDockerfile } from '#infra/dockerfile.js';
import { root } from './synth.js';

const PROXY_DOCKERFILE = readFileSync(join(root, 'containers/proxy/Dockerfile'), 'utf8');

/** A repository root holding only dist/images/proxy/ with the given files (name → content). */
function fakeRoot(files: Record<string, string>): string {
  const dir = mkdtempSync(join(tmpdir(), 'ringmaster-images-'));
  const context = imageContextDir(dir, 'proxy');
  mkdirSync(context, { recursive: true });
  for (const [name, content] of Object.entries(files)) writeFileSync(join(context, name), content);
  return dir;
}

const complete = {
  Dockerfile: PROXY_DOCKERFILE,
  'package.json': '{"type":"module"}',
  'proxy.js': 'x',
  'proxy.js.map': '{}',
};

function synthImage(projectRoot: string) {
  const app = new App({ outdir: mkdtempSync(join(tmpdir(), 'ringmaster-images-out-')) });
  const stack = new Stack(app, 'S');
  return tierImage(stack, 'ProxyImage', projectRoot, { architecture: 'arm64' }, 'proxy');
}

describe('the Dockerfiles', () => {
  it('parse to a base image, copied files and an exec-form CMD', () => {
    expect(parseDockerfile(PROXY_DOCKERFILE, 'proxy')).toEqual({
      from: 'public.ecr.aws/docker/library/node:24.21.0-alpine3.24',
      env: { NODE_ENV: 'production' },
      workdir: '/app',
      copies: [{ sources: ['package.json', 'proxy.js', 'proxy.js.map'], destination: './' }],
      user: 'node',
      expose: [8080, 8081],
      cmd: ['node', '--enable-source-maps', 'proxy.js'],
      healthcheck: undefined,
    });
  });

  it('refuse what cannot be checked without a Docker engine, naming the line', () => {
    const base = 'FROM node:24\nCMD ["node", "a.js"]\n';
    const refused: [string, RegExp][] = [
      ['RUN npm ci', /x:3: RUN is not supported: an image holds a base image and copied files only/],
      ['ADD https://example.com/a.tgz /', /x:3: ADD is not supported/],
      ['FROM node:22', /x:3: one FROM only/],
      ['COPY *.js ./', /x:3: COPY source "\*\.js" must be a plain path inside the context/],
      ['COPY ../secret ./', /x:3: COPY source "\.\.\/secret"/],
      ['COPY --chown=node a.js ./', /x:3: COPY flags are not supported/],
      ['EXPOSE 8080/udp', /x:3: EXPOSE takes port numbers, got "8080\/udp"/],
      ['WORKDIR app', /x:3: WORKDIR must be absolute/],
    ];
    for (const [line, error] of refused) {
      expect(() => parseDockerfile(`${base}${line}\n`, 'x'), line).toThrow(error);
    }
    expect(() => parseDockerfile('FROM node:24\nCMD node a.js\n', 'x')).toThrow(DockerfileError);
    expect(() => parseDockerfile('FROM node:24\n', 'x')).toThrow(/x: no CMD/);
  });
});

describe('image build contexts at synth', () => {
  it('stages a complete context, and the image is an asset built at deploy time', () => {
    expect(() => synthImage(fakeRoot(complete))).not.toThrow();
  });

  it('fails synth naming the Dockerfile’s COPY sources missing from the context, and how to build them', () => {
    const { 'proxy.js': _bundle, 'proxy.js.map': _map, ...withoutBundle } = complete;
    const projectRoot = fakeRoot(withoutBundle);
    expect(() => synthImage(projectRoot)).toThrow(ImageContextError);
    expect(() => synthImage(projectRoot)).toThrow(
      /^image proxy: the Dockerfile copies proxy\.js, proxy\.js\.map, missing from its staged build context .*dist\/images\/proxy\. Run `npm run build`/,
    );
  });

  it('fails synth on a clean checkout (no dist/), saying how to build', () => {
    const clean = mkdtempSync(join(tmpdir(), 'ringmaster-images-clean-'));
    expect(() => synthImage(clean)).toThrow(/^image proxy: no build context at .*dist\/images\/proxy.*npm run build/);
  });

  it('checks the context as the CDK staged it, not only the source directory', () => {
    // A .dockerignore the CDK honours when staging drops a file the Dockerfile copies.
    const projectRoot = fakeRoot({ ...complete, '.dockerignore': 'proxy.js.map\n' });
    expect(() => checkImageContext(imageContextDir(projectRoot, 'proxy'), 'source')).not.toThrow();
    expect(() => synthImage(projectRoot)).toThrow(
      /^image proxy \(staged\): the Dockerfile copies proxy\.js\.map, missing/,
    );
  });
});
