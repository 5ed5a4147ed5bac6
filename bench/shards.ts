/**
 * `npm run bench:shards -- --json`: the sharded records API against the
 * emulator. For each layout it writes N single-row records and reads N
 * single ids at random through the proxy, then performs the same operations
 * through a direct DynamoDB client, all in one run, and prints rates and
 * ratios (see bench/lib/shard-bench.ts).
 *
 * Layouts: the student database's default of 6 servers with 4 shards × 3 replicas, 4 shards ×
 * 7 replicas (on 7 servers), and 10 servers with 6 shards × 8 replicas.
 */
import { useEmulator } from '#devkit/emulator.js';
import { ROOT } from './lib/processes.js';
import { runShardLayout, SHARD_LAYOUTS, type ShardLayoutResult } from './lib/shard-bench.js';

const json = process.argv.includes('--json');
const argValue = (name: string, fallback: number) => {
  const i = process.argv.indexOf(name);
  return i >= 0 ? Number(process.argv[i + 1]) : fallback;
};
const OPS = argValue('--ops', 10_000);
const CONCURRENCY = argValue('--concurrency', 32);

async function main(): Promise<void> {
  const emulator = await useEmulator(ROOT);
  try {
    const results: ShardLayoutResult[] = [];
    for (const layout of SHARD_LAYOUTS) {
      results.push(
        await runShardLayout(layout, emulator.endpoint, { ops: OPS, concurrency: CONCURRENCY, direct: true }),
      );
    }
    const report = {
      emulator: emulator.owned ? 'MiniStack (started for this run)' : `AWS_ENDPOINT_URL=${emulator.endpoint}`,
      concurrency: CONCURRENCY,
      note: 'proxyOverhead = direct rate / proxy rate (above 1: the proxy path is slower). Direct reads use Query, as a server without its cache would; getItemReadsPerSec is the cheapest possible single-id read.',
      results,
    };
    process.stdout.write(json ? `${JSON.stringify(report)}\n` : `${JSON.stringify(report, null, 2)}\n`);
  } finally {
    await emulator.stop();
  }
}

main().catch((err: unknown) => {
  process.stderr.write(`bench:shards failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
  process.exit(1);
});
