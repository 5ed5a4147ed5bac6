/**
 * AWS's CloudFormation linter (cfn-lint, pinned in
 * scripts/emulator-requirements.txt, installed into .venv with MiniStack) over
 * every synthesized template: the shipped settings, a variant with NAT, HTTPS
 * and x86 (the other branches of the templates), and the emulator variant. It
 * checks every property against the real resource schemas, which the emulator
 * accepts or drops silently. Zero errors; every warning acknowledged, with its
 * reason, in infra/cfn-lint-acknowledged.json.
 */
import { execFile } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { beforeAll, describe, expect, it } from 'vitest';
import { ensureCfnLint } from '#devkit/emulator.js';
import { root, shippedConfig, synthesize } from './synth.js';

const run = promisify(execFile);
const LINT_TIMEOUT_MS = 120_000;

interface Finding {
  readonly Rule: { readonly Id: string };
  readonly Message: string;
  readonly Filename: string;
  readonly Location: { readonly Path: (string | number)[] };
}
interface Acknowledgement {
  readonly rule: string;
  readonly resource: string;
  readonly message: string;
  readonly reason: string;
}

const acknowledged = (
  JSON.parse(readFileSync(join(root, 'infra/cfn-lint-acknowledged.json'), 'utf8')) as {
    acknowledged: Acknowledgement[];
  }
).acknowledged;

const variants: Record<string, string> = {};

beforeAll(() => {
  variants.shipped = synthesize().app.outdir;
  const config = shippedConfig();
  config.envName = 'lintnat';
  config.natGateways = 1;
  config.proxy.architecture = 'x86_64';
  config.certificateArn = 'arn:aws:acm:us-east-1:123456789012:certificate/0a1b2c3d-4e5f-6789-abcd-ef0123456789';
  variants.natHttps = synthesize({ config }).app.outdir;
  variants.emulator = synthesize({ emulator: true }).app.outdir;
}, 180_000);

/** cfn-lint's findings over every template in an assembly directory (exit code 0, 2, 4, 6 or 8: findings, not failure). */
async function lint(outdir: string): Promise<Finding[]> {
  const templates = readdirSync(outdir)
    .filter((f) => f.endsWith('.template.json'))
    .map((f) => join(outdir, f));
  expect(templates).toHaveLength(3);
  const args = ['--format', 'json', '--', ...templates];
  try {
    const { stdout } = await run(ensureCfnLint(root), args, { timeout: LINT_TIMEOUT_MS, maxBuffer: 16 << 20 });
    return JSON.parse(stdout) as Finding[];
  } catch (err) {
    const { code, stdout, stderr } = err as { code?: number; stdout?: string; stderr?: string };
    // cfn-lint's exit code is a bit mask of the levels found (2 errors, 4 warnings, 8 informational); 1 is a crash.
    if (typeof code === 'number' && code > 1 && code < 16 && stdout) return JSON.parse(stdout) as Finding[];
    throw new Error(`cfn-lint failed (${code}): ${stderr}`, { cause: err });
  }
}

const resourceOf = (f: Finding) => (f.Location.Path[0] === 'Resources' ? String(f.Location.Path[1]) : '');
const matches = (a: Acknowledgement, f: Finding) =>
  f.Rule.Id === a.rule && new RegExp(a.resource).test(resourceOf(f)) && new RegExp(a.message).test(f.Message);
const describeFinding = (f: Finding) =>
  `${f.Rule.Id} ${resourceOf(f) || f.Location.Path.join('/')}: ${f.Message} (${f.Filename.split('/').pop()})`;

describe('cfn-lint over every synthesized template', () => {
  const seen = new Set<Acknowledgement>();

  it.each(['shipped', 'natHttps', 'emulator'])(
    '%s: no error, and no warning without an acknowledged reason',
    async (variant) => {
      const findings = await lint(variants[variant] as string);
      const errors = findings.filter((f) => f.Rule.Id.startsWith('E'));
      expect(errors.map(describeFinding)).toEqual([]);
      const unexplained = findings.filter((f) => {
        const ack = acknowledged.find((a) => matches(a, f));
        if (ack !== undefined) seen.add(ack);
        return ack === undefined;
      });
      expect(unexplained.map(describeFinding)).toEqual([]);
    },
    LINT_TIMEOUT_MS,
  );

  it('keeps no stale acknowledgement, and each says why', () => {
    for (const a of acknowledged) {
      expect(seen.has(a), `${a.rule} ${a.resource}: matched no finding`).toBe(true);
      expect(a.reason.length, `${a.rule} ${a.resource}`).toBeGreaterThan(40);
    }
  });
});
