/**
 * `npm run fuzz:http -- --streams N --seed S [--first F] [--concurrency C]`:
 * the differential HTTP/1.1 fuzzer (differential.ts) over a longer range than
 * `npm test` runs. Prints one JSON line per finding, `{"finding": …, "bytes": …}`
 * with the client's bytes as base64 (latin1), then one summary line; exits 1
 * if it found anything, 2 on bad arguments.
 */
import { ANSWER_MODES, COMBOS, fuzz } from './differential.js';
import type { RecordedRequest } from './recording-server.js';

function arg(name: string, fallback: number): number {
  const i = process.argv.indexOf(`--${name}`);
  if (i < 0) return fallback;
  const value = Number(process.argv[i + 1]);
  if (!Number.isSafeInteger(value) || value < 0) {
    process.stderr.write(`--${name}: expected a whole number, got ${JSON.stringify(process.argv[i + 1])}\n`);
    process.exit(2);
  }
  return value;
}

/** For --show: what a server read after an upgrade request, and whether it switched. */
function tunnelOf(r: RecordedRequest): string {
  if (r.afterUpgrade === undefined) return '';
  const bytes = r.afterUpgrade.bytes.reduce((n, b) => n + b.length, 0);
  return ` ${r.afterUpgrade.switched ? 'switched' : 'declined'}, ${bytes} bytes after`;
}

const streams = arg('streams', 1000);
const seed = arg('seed', Date.now() % 1_000_000);
// --without MODE[,MODE]: leave answer modes out (to find which one a finding needs).
const without = process.argv.includes('--without')
  ? (process.argv[process.argv.indexOf('--without') + 1] ?? '').split(',')
  : [];
// --client llhttp|undici: one upstream client only.
const only = process.argv.includes('--client') ? process.argv[process.argv.indexOf('--client') + 1] : undefined;
const summary = await fuzz({
  answerModes: ANSWER_MODES.filter((m) => !without.includes(m)),
  combos: COMBOS.filter((c) => only === undefined || c.client === only),
  seed,
  streams,
  first: arg('first', 0),
  concurrency: arg('concurrency', 32),
  onFinding: (f) => process.stdout.write(`${JSON.stringify(f)}\n`),
  // --show: every stream's bytes, what the client received and what the server read (with --streams 1 --first N).
  onChecked: process.argv.includes('--show')
    ? (combo, run, records) => {
        const text = (b: Buffer) => JSON.stringify(b.toString('latin1'));
        process.stderr.write(
          `--- ${combo} stream ${run.stream.stream}\nsent ${text(run.stream.bytes)}\n` +
            `strict reading: ${JSON.stringify(run.reference.requests.map((r) => `${r.method} ${r.url} ${r.body.length}`))} error ${run.reference.error}` +
            ` tunnel ${run.reference.tunnel} (${run.reference.afterUpgrade.length} bytes after the upgrade)\n` +
            `received ${text(run.conversation.bytes)} closed=${run.conversation.closedByProxy}\n` +
            `server read ${JSON.stringify(records.map((r) => `${r.method} ${r.url} ${r.body.length} ${JSON.stringify(r.headers)}${tunnelOf(r)}`))}\n`,
        );
      }
    : undefined,
  onProgress: (done) => {
    process.stderr.write(`fuzz: ${done}/${streams} streams\n`);
  },
});
process.stdout.write(`${JSON.stringify({ summary })}\n`);
process.exit(summary.findings > 0 ? 1 : 0);
