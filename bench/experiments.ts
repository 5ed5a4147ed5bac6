/**
 * `npm run experiments`: the experiments the assignments ran by hand, run
 * against a Ringmaster this script starts itself (MiniStack, or the emulator
 * AWS_ENDPOINT_URL names; proxy and servers on 127.0.0.1), written as SVG
 * figures and one results.json under docs/experiments/.
 *
 *   A1  10,000 requests over N = 3, requests per server
 *   A2  N = 2..6 grown with POST /add, 10,000 requests at each size
 *   A3  a server killed, one added, 1,000 requests per phase
 *   A4  10,000 writes and reads through the records API in three shard layouts
 *
 * Options:
 *   --skip-shards    leave out A4 (the slow part, several minutes)
 *   --no-slow-start  start the proxy with SLOW_START_MS=0. The default keeps the
 *                    proxy's own defaults; with slow start on, a server added 3 s
 *                    before a measurement still has a fraction of its weight, which
 *                    skews A2 and A3. Writes to docs/experiments/no-slow-start/.
 *   --out <dir>      where the figures and results.json go
 *
 * Every experiment has a deadline; on failure, timeout or Ctrl-C the process
 * exits and tools/devkit/spawn.ts kills every process group it started.
 */
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { join, relative, resolve } from 'node:path';
import { useEmulator } from '#devkit/emulator.js';
import {
  type ClusterSettings,
  ExperimentError,
  FAILURE_REQUESTS,
  REQUESTS,
  runA1,
  runA2,
  runA3,
} from './lib/assignment-experiments.js';
import { a1Chart, a2Chart, a3Chart, a4Chart, ICS_4104 } from './lib/experiment-charts.js';
import { ROOT } from './lib/processes.js';
import { runShardLayout, SHARD_LAYOUTS, type ShardLayoutResult } from './lib/shard-bench.js';
import { renderSvg } from './lib/vega-svg.js';

const MINUTE = 60_000;
/** Deadlines, generous on a shared 2-core machine: a run that passes one is stuck, not slow. */
const DEADLINE_MS = { a1: 3 * MINUTE, a2: 8 * MINUTE, a3: 3 * MINUTE, a4PerLayout: 10 * MINUTE } as const;
const SHARD_OPS = 10_000;
const SHARD_CONCURRENCY = 32;
const FIGURES = {
  a1: 'a1-requests-per-server.svg',
  a2: 'a2-scaling.svg',
  a3: 'a3-failure.svg',
  a4: 'a4-shards.svg',
} as const;

interface Options {
  readonly skipShards: boolean;
  readonly noSlowStart: boolean;
  readonly out: string;
}

function parseOptions(argv: readonly string[]): Options {
  const known = new Set(['--skip-shards', '--no-slow-start', '--out']);
  for (const [i, arg] of argv.entries()) {
    if (arg.startsWith('--') && !known.has(arg)) throw new ExperimentError(`unknown option ${arg}`);
    if (arg === '--out' && (argv[i + 1] === undefined || argv[i + 1]?.startsWith('--')))
      throw new ExperimentError('--out needs a directory');
  }
  const noSlowStart = argv.includes('--no-slow-start');
  const outIndex = argv.indexOf('--out');
  const defaultOut = noSlowStart ? 'docs/experiments/no-slow-start' : 'docs/experiments';
  return {
    skipShards: argv.includes('--skip-shards'),
    noSlowStart,
    out: resolve(ROOT, outIndex >= 0 ? (argv[outIndex + 1] as string) : defaultOut),
  };
}

class ExperimentTimeoutError extends ExperimentError {
  constructor(name: string, ms: number) {
    super(`${name} did not finish within ${ms / 1000} s`);
    this.name = 'ExperimentTimeoutError';
  }
}

/** Runs one experiment under a deadline. Whatever it started is killed by the exit path, not here. */
async function timed<T>(name: string, ms: number, work: () => Promise<T>): Promise<T> {
  const started = performance.now();
  progress(`${name}: running`);
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new ExperimentTimeoutError(name, ms)), ms);
  });
  try {
    const result = await Promise.race([work(), deadline]);
    progress(`${name}: done in ${((performance.now() - started) / 1000).toFixed(1)} s`);
    return result;
  } catch (err) {
    throw err instanceof ExperimentError ? err : new ExperimentError(`${name} failed`, { cause: err });
  } finally {
    clearTimeout(timer);
  }
}

const progress = (line: string) => process.stderr.write(`experiments: ${line}\n`);

async function main(): Promise<void> {
  const options = parseOptions(process.argv.slice(2));
  const slowStart = options.noSlowStart ? 'off (SLOW_START_MS=0, --no-slow-start)' : "the proxy's default";
  const label = options.noSlowStart ? 'slow start off' : 'proxy defaults';
  const emulator = await useEmulator(ROOT);
  try {
    const settings: ClusterSettings = { endpoint: emulator.endpoint, noSlowStart: options.noSlowStart };
    const a1 = await timed('A1 (N = 3)', DEADLINE_MS.a1, () => runA1(settings));
    const a2 = await timed('A2 (N = 2..6)', DEADLINE_MS.a2, () => runA2(settings));
    const a3 = await timed('A3 (failure)', DEADLINE_MS.a3, () => runA3(settings));
    const a4: ShardLayoutResult[] = [];
    if (!options.skipShards) {
      for (const layout of SHARD_LAYOUTS) {
        a4.push(
          await timed(`A4 (${layout.name})`, DEADLINE_MS.a4PerLayout, () =>
            runShardLayout(layout, emulator.endpoint, {
              ops: SHARD_OPS,
              concurrency: SHARD_CONCURRENCY,
              direct: false,
            }),
          ),
        );
      }
    }

    mkdirSync(options.out, { recursive: true });
    const write = async (file: string, svg: Promise<string>) => writeFileSync(join(options.out, file), await svg);
    await write(FIGURES.a1, renderSvg(a1Chart(a1, label)));
    await write(FIGURES.a2, renderSvg(a2Chart(a2, label)));
    await write(FIGURES.a3, renderSvg(a3Chart(a3, label)));
    // The directory always shows one run: a fast run removes the previous run's shard figure.
    if (options.skipShards) rmSync(join(options.out, FIGURES.a4), { force: true });
    else await write(FIGURES.a4, renderSvg(a4Chart(a4)));

    const results = {
      generatedAt: new Date().toISOString(),
      machine: { node: process.version, cpus: cpus().length },
      emulator: emulator.owned ? 'MiniStack (started for this run)' : `AWS_ENDPOINT_URL=${emulator.endpoint}`,
      proxy: { strategy: a1.strategy, slowStart },
      requests: { perMeasurement: REQUESTS, perFailurePhase: FAILURE_REQUESTS, shardOps: SHARD_OPS },
      assignment: { ics4104: ICS_4104 },
      a1,
      a2,
      a3,
      a4: options.skipShards ? null : a4,
      skipped: options.skipShards ? ['A4'] : [],
      figures: Object.values(FIGURES).filter((f) => f !== FIGURES.a4 || !options.skipShards),
    };
    writeFileSync(join(options.out, 'results.json'), `${JSON.stringify(results, null, 2)}\n`);
    process.stdout.write(`${summary(results)}\nwritten to ${relative(ROOT, options.out) || '.'}/\n`);
  } finally {
    await emulator.stop();
  }
}

function summary(r: {
  a1: { counts: Record<string, number>; maxOverMean: number; failed: number };
  a2: readonly { n: number; maxOverMean: number; failed: number }[];
  a3: {
    method: string;
    duringFailure: { counts: Record<string, number>; failed: number };
    afterAdd: { counts: Record<string, number>; failed: number };
  };
  a4: readonly ShardLayoutResult[] | null;
}): string {
  const lines = [
    `A1  N = 3: ${JSON.stringify(r.a1.counts)}  max/mean ${r.a1.maxOverMean}  failed ${r.a1.failed}`,
    `A2  max/mean by N: ${r.a2.map((x) => `${x.n}: ${x.maxOverMean}`).join(', ')}  failed ${r.a2.reduce((a, x) => a + x.failed, 0)}`,
    `A3  ${r.a3.method}: ${JSON.stringify(r.a3.duringFailure.counts)} failed ${r.a3.duringFailure.failed}; after /add: ${JSON.stringify(r.a3.afterAdd.counts)} failed ${r.a3.afterAdd.failed}`,
  ];
  for (const s of r.a4 ?? []) {
    lines.push(
      `A4  ${s.layout}: ${s.proxy.writesPerSec} writes/s, ${s.proxy.readsPerSec} reads/s, errors ${s.proxy.errors}`,
    );
  }
  return lines.join('\n');
}

// Ctrl-C or a kill: exit through the 'exit' hook, which kills every process group this run started.
for (const [signal, code] of [
  ['SIGINT', 130],
  ['SIGTERM', 143],
] as const) {
  process.once(signal, () => process.exit(code));
}

main().catch((err: unknown) => {
  const cause =
    err instanceof Error && err.cause
      ? `\ncaused by: ${err.cause instanceof Error ? (err.cause.stack ?? err.cause.message) : String(err.cause)}`
      : '';
  process.stderr.write(
    `experiments failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}${cause}\n`,
  );
  process.exit(1);
});
