/**
 * A reader for Ringmaster's own Dockerfiles: synth checks each image's
 * build context against it, and the container contract test
 * (test/e2e/container-contract.test.ts) reproduces the image from it. The
 * images hold a base image and files copied in, nothing built inside: so
 * only the instructions that describe such an image are accepted, and any
 * other (RUN, ADD, ENTRYPOINT, …) is refused by name, because what it would
 * do could not be checked without a Docker engine.
 */

/** A Dockerfile this reader cannot take, with the file and line at fault. */
export class DockerfileError extends Error {
  override readonly name = 'DockerfileError';
}

export interface DockerfileCopy {
  /** Paths in the build context. */
  readonly sources: readonly string[];
  /** Destination in the image, relative to WORKDIR unless absolute. */
  readonly destination: string;
}

export interface Dockerfile {
  /** The base image, e.g. public.ecr.aws/docker/library/node:24.21.0-alpine3.24. */
  readonly from: string;
  readonly env: Readonly<Record<string, string>>;
  readonly workdir: string;
  readonly copies: readonly DockerfileCopy[];
  readonly user: string | undefined;
  readonly expose: readonly number[];
  /** The exec-form CMD, as an argv array. */
  readonly cmd: readonly string[];
  /** The exec-form HEALTHCHECK command, when there is one. */
  readonly healthcheck: readonly string[] | undefined;
}

const ACCEPTED = ['FROM', 'ENV', 'WORKDIR', 'COPY', 'USER', 'EXPOSE', 'CMD', 'HEALTHCHECK', 'LABEL'] as const;

/** Parses `text` (named `file` in errors). */
export function parseDockerfile(text: string, file: string): Dockerfile {
  let from: string | undefined;
  let workdir = '/';
  let user: string | undefined;
  let cmd: string[] | undefined;
  let healthcheck: string[] | undefined;
  const env: Record<string, string> = {};
  const copies: DockerfileCopy[] = [];
  const expose: number[] = [];
  text.split('\n').forEach((raw, index) => {
    const line = raw.trim();
    if (line === '' || line.startsWith('#')) return;
    const where = `${file}:${index + 1}`;
    const [keyword = '', ...rest] = line.split(/\s+/);
    const instruction = keyword.toUpperCase();
    const args = line.slice(keyword.length).trim();
    if (line.endsWith('\\')) throw new DockerfileError(`${where}: line continuations are not supported`);
    if (!(ACCEPTED as readonly string[]).includes(instruction)) {
      throw new DockerfileError(
        `${where}: ${instruction} is not supported: an image holds a base image and copied files only (${ACCEPTED.join(', ')})`,
      );
    }
    switch (instruction) {
      case 'FROM':
        if (from !== undefined) throw new DockerfileError(`${where}: one FROM only (no multi-stage builds)`);
        if (rest.length !== 1) throw new DockerfileError(`${where}: FROM takes one image reference`);
        from = args;
        break;
      case 'ENV': {
        const match = /^([A-Za-z_][A-Za-z0-9_]*)=(\S*)$/.exec(args);
        if (!match) throw new DockerfileError(`${where}: ENV must be one NAME=value`);
        env[match[1] as string] = match[2] as string;
        break;
      }
      case 'WORKDIR':
        if (!args.startsWith('/')) throw new DockerfileError(`${where}: WORKDIR must be absolute`);
        workdir = args;
        break;
      case 'COPY': {
        if (rest.some((r) => r.startsWith('--'))) throw new DockerfileError(`${where}: COPY flags are not supported`);
        if (rest.length < 2) throw new DockerfileError(`${where}: COPY needs sources and a destination`);
        const sources = rest.slice(0, -1);
        const bad = sources.find((s) => /[*?[]/.test(s) || s.startsWith('/') || s.split('/').includes('..'));
        if (bad !== undefined) {
          throw new DockerfileError(`${where}: COPY source "${bad}" must be a plain path inside the context`);
        }
        copies.push({ sources, destination: rest[rest.length - 1] as string });
        break;
      }
      case 'USER':
        user = args;
        break;
      case 'EXPOSE':
        for (const port of rest) {
          if (!/^\d{1,5}$/.test(port)) throw new DockerfileError(`${where}: EXPOSE takes port numbers, got "${port}"`);
          expose.push(Number(port));
        }
        break;
      case 'CMD':
        cmd = execForm(args, `${where}: CMD`);
        break;
      case 'HEALTHCHECK': {
        const command = /\bCMD\s+(\[.*\])$/.exec(args)?.[1];
        if (command === undefined) throw new DockerfileError(`${where}: HEALTHCHECK must end in an exec-form CMD`);
        healthcheck = execForm(command, `${where}: HEALTHCHECK`);
        break;
      }
    }
  });
  if (from === undefined) throw new DockerfileError(`${file}: no FROM`);
  if (cmd === undefined) throw new DockerfileError(`${file}: no CMD`);
  return { from, env, workdir, copies, user, expose, cmd, healthcheck };
}

/** Every file the COPY instructions take from the build context. */
export function copiedSources(dockerfile: Dockerfile): string[] {
  return dockerfile.copies.flatMap((c) => c.sources);
}

function execForm(json: string, what: string): string[] {
  let parsed: unknown;
  try {
    parsed = JSON.parse(json);
  } catch (cause) {
    throw new DockerfileError(`${what} must be the exec form, a JSON array of strings`, { cause });
  }
  if (!Array.isArray(parsed) || parsed.length === 0 || !parsed.every((a) => typeof a === 'string')) {
    throw new DockerfileError(`${what} must be the exec form, a JSON array of strings`);
  }
  return parsed;
}
