import { execFileSync, spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { describe, expect, it, onTestFinished } from 'vitest';
import { minimumVersion, satisfies, tooOldMessage } from '../../scripts/require-node.mjs';
import { ROOT } from '../helpers/processes.js';

const CHECK = join(ROOT, 'scripts/require-node.mjs');
const packageJson = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as {
  engines: { node: string };
  scripts: Record<string, string>;
};
const pinned = readFileSync(join(ROOT, '.nvmrc'), 'utf8').trim();
/** Makes every Node process started with it report this version, as an old Node would (no hook in the script). */
const FAKE_OLD_NODE =
  '--import=data:text/javascript,Object.defineProperty(process.versions,%22node%22,{value:%2220.20.2%22})';
/** The check answers before anything else runs: well under the seconds lint or the build would take. */
const STOPS_WITHIN_MS = 10_000;

/** Runs a command with the fake old Node, from the repository root; its exit code and output. */
function runOnOldNode(command: string, args: string[]) {
  const started = performance.now();
  const run = spawnSync(command, args, {
    cwd: ROOT,
    encoding: 'utf8',
    env: { ...process.env, NODE_OPTIONS: FAKE_OLD_NODE },
    timeout: 60_000,
  });
  return { status: run.status, output: `${run.stdout}${run.stderr}`, ms: performance.now() - started };
}

describe('the Node version check (scripts/require-node.mjs)', () => {
  it('reads the minimum from engines, and understands only ">=X.Y.Z"', () => {
    expect(minimumVersion(packageJson.engines.node)).toEqual([24, 11, 0]);
    expect(() => minimumVersion('^24.0.0')).toThrow(/engines\.node: expected ">=X\.Y\.Z", got "\^24\.0\.0"/);
    expect(() => minimumVersion(undefined)).toThrow(/engines\.node/);
  });

  it('compares versions part by part', () => {
    const min: [number, number, number] = [24, 11, 0];
    expect(['v24.11.0', '24.21.0', '25.0.0', '24.11.1'].map((v) => satisfies(v, min))).toEqual([
      true,
      true,
      true,
      true,
    ]);
    expect(['v20.20.2', '24.10.9', '22.23.0', '4.11.0'].map((v) => satisfies(v, min))).toEqual([
      false,
      false,
      false,
      false,
    ]);
  });

  it('says which version to install and how', () => {
    const text = tooOldMessage('20.20.2', '/usr/bin/node', [24, 11, 0], '24.21.0');
    expect(text).toContain('needs Node.js 24.11.0 or later');
    expect(text).toContain('this is Node 20.20.2 (/usr/bin/node)');
    expect(text).toContain('nvm install');
    expect(text).toContain('npm i --prefix ~/node24 node@24.21.0');
  });

  it('passes on this Node, and .nvmrc (what CI installs) satisfies engines and names the Dockerfiles’ version', () => {
    expect(execFileSync(process.execPath, [CHECK], { encoding: 'utf8' })).toBe('');
    expect(satisfies(pinned, minimumVersion(packageJson.engines.node))).toBe(true);
    for (const tier of ['proxy', 'server']) {
      const from = /^FROM \S+:(\S+)$/m.exec(readFileSync(join(ROOT, `containers/${tier}/Dockerfile`), 'utf8'))?.[1];
      expect(from, tier).toMatch(new RegExp(`^${pinned.replaceAll('.', '\\.')}-`));
    }
  });

  it('stops `npm test` and `npm start` at once on an old Node, before lint or the build', () => {
    for (const script of ['test', 'start']) {
      const run = runOnOldNode('npm', [script]);
      expect({ script, status: run.status }).toEqual({ script, status: 1 });
      expect(run.output).toContain('Ringmaster needs Node.js 24.11.0 or later (Node 24 LTS); this is Node 20.20.2');
      expect(run.output).not.toMatch(/biome|Checked \d+ files|tsc/);
      expect(run.ms).toBeLessThan(STOPS_WITHIN_MS);
    }
  });

  it('guards every npm script that runs project code, and the CDK app', () => {
    // Either the script runs the check itself, or it starts with the build (whose first import is the check),
    // or a pre-script runs the check first.
    const build = readFileSync(join(ROOT, 'scripts/build.mjs'), 'utf8');
    expect(/^import .*$/m.exec(build)?.[0]).toBe("import './require-node.mjs';");
    const runsProjectCode = (cmd: string) => /\bnode\b|vitest|\bcdk\b/.test(cmd);
    const guarded = (name: string, cmd: string) =>
      /^node scripts\/(build|require-node)\.mjs\b/.test(cmd) ||
      packageJson.scripts[`pre${name}`] === 'node scripts/require-node.mjs' ||
      /^cdk\b/.test(cmd);
    const unguarded = Object.entries(packageJson.scripts)
      .filter(([name, cmd]) => runsProjectCode(cmd) && !guarded(name, cmd))
      .map(([name]) => name);
    expect(unguarded).toEqual([]);
    // `cdk synth` / `cdk deploy` run cdk.json's app, which starts with the build.
    const app = (JSON.parse(readFileSync(join(ROOT, 'cdk.json'), 'utf8')) as { app: string }).app;
    expect(app).toMatch(/^node scripts\/build\.mjs\b/);
  });

  // On .nvmrc's exact version (CI's): a prefix holding it is reused, so the test downloads nothing.
  it.skipIf(process.versions.node !== pinned)(
    'CI (.ci/use-node.sh) puts .nvmrc’s Node first on PATH over an older one, and npm runs on it',
    () => {
      // A prefix that already holds .nvmrc's version (this Node, when the tests run on it), so nothing is
      // downloaded; an older Node first on PATH, as on these machines.
      const old = oldNodeOnPath();
      const prefix = mkdtempSync(join(tmpdir(), 'ringmaster-ci-node-'));
      onTestFinished(() => rmSync(prefix, { recursive: true, force: true }));
      mkdirSync(join(prefix, 'node_modules/.bin'), { recursive: true });
      symlinkSync(process.execPath, join(prefix, 'node_modules/.bin/node'));
      const fakeOld = mkdtempSync(join(tmpdir(), 'ringmaster-old-node-'));
      onTestFinished(() => rmSync(fakeOld, { recursive: true, force: true }));
      // Without a real old Node on PATH, a `node` that reports 20.20.2 stands in for the machine's.
      if (old === undefined) {
        writeFileSync(join(fakeOld, 'node'), `#!/bin/sh\nexec "${process.execPath}" ${FAKE_OLD_NODE} "$@"\n`, {
          mode: 0o755,
        });
      }
      const PATH = [old === undefined ? fakeOld : dirname(old), process.env.PATH ?? ''].join(':');
      const out = execFileSync('bash', ['-c', 'source .ci/use-node.sh && node --version && npm --version'], {
        cwd: ROOT,
        encoding: 'utf8',
        env: { ...process.env, PATH, RINGMASTER_NODE_PREFIX: prefix },
      });
      expect(out.split('\n')[0]).toBe(`v${pinned}`);
      expect(out.split('\n')[1]).toMatch(/^\d+\.\d+\.\d+$/);
    },
  );

  it.skipIf(oldNodeOnPath() === undefined)('stops on a real older Node found on PATH (the machine’s own)', () => {
    const old = oldNodeOnPath() as string;
    const run = spawnSync(old, [CHECK], { encoding: 'utf8' });
    expect(run.status).toBe(1);
    expect(run.stderr).toMatch(/^Ringmaster needs Node\.js 24\.11\.0 or later \(Node 24 LTS\); this is Node 2[0-3]\./);
  });
});

/** A `node` on PATH older than 24 (these machines ship Node 20 at /usr/bin/node), if any. */
function oldNodeOnPath(): string | undefined {
  for (const dir of (process.env.PATH ?? '').split(':')) {
    const candidate = join(dir, 'node');
    const version = spawnSync(candidate, ['-p', 'process.versions.node'], { encoding: 'utf8' }).stdout?.trim();
    if (version && Number(version.split('.')[0]) < 24) return candidate;
  }
  return undefined;
}
