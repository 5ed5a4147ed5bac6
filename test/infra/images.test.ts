import { execFileSync } from 'node:child_process';
import {
  cpSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { App, Stack } from 'aws-cdk-lib';
import { describe, expect, it, onTestFinished } from 'vitest';
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

describe("the build (cdk.json's app runs `build.mjs --synth` before every synth)", () => {
  it('stages each context from a clean checkout, and leaves nothing from an earlier build in it', () => {
    // A clean checkout: the sources without anything built, installed or generated, with this checkout's node_modules.
    const clean = mkdtempSync(join(tmpdir(), 'ringmaster-clean-checkout-'));
    const generated = new Set(['.git', 'node_modules', 'dist', 'cdk.out', '.venv', 'coverage', '.bench']);
    for (const entry of readdirSync(root).filter((e) => !generated.has(e))) {
      cpSync(join(root, entry), join(clean, entry), { recursive: true });
    }
    symlinkSync(join(root, 'node_modules'), join(clean, 'node_modules'));
    onTestFinished(() => rmSync(clean, { recursive: true, force: true }));
    const app = (JSON.parse(readFileSync(join(clean, 'cdk.json'), 'utf8')) as { app: string }).app;
    expect(app).toBe('node scripts/build.mjs --synth && node dist/infra/app.js');
    const build = () => execFileSync(process.execPath, ['scripts/build.mjs', '--synth'], { cwd: clean, stdio: 'pipe' });

    build();
    for (const tier of ['proxy', 'server'] as const) {
      const context = imageContextDir(clean, tier);
      expect(readdirSync(context).sort()).toEqual(['Dockerfile', 'package.json', `${tier}.js`, `${tier}.js.map`]);
      expect(() => checkImageContext(context, tier)).not.toThrow();
    }
    expect(existsSync(join(clean, 'dist/infra/app.js'))).toBe(true);

    // A file left over from an earlier build (or put there by hand) is gone after the next one.
    writeFileSync(join(imageContextDir(clean, 'proxy'), 'stale.js'), 'old');
    build();
    expect(readdirSync(imageContextDir(clean, 'proxy'))).not.toContain('stale.js');
  });
});
