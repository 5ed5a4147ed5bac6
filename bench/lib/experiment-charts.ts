/**
 * The experiments' figures as Vega-Lite specs: pure functions from results to
 * specs, rendered elsewhere (vega-svg.ts). The assignments' own published
 * figures are drawn beside Ringmaster's where they exist.
 */
import type { TopLevelSpec } from 'vega-lite';
import type { FailureRun, Spread } from './assignment-experiments.js';
import type { ShardLayoutResult } from './shard-bench.js';

/** What ICS 4104's report measured: 10,000 requests over N = 3, and max/mean at N = 3 and N = 6. */
export const ICS_4104 = {
  n3Counts: [3596, 3362, 2893],
  maxOverMean: [
    { n: 3, maxOverMean: 1.1 },
    { n: 6, maxOverMean: 1.07 },
  ],
} as const;

const RINGMASTER = 'Ringmaster';
const ASSIGNMENT = 'ICS 4104 (assignment)';
const WIDTH = 420;
const HEIGHT = 260;
const sourceColor = {
  scale: { domain: [RINGMASTER, ASSIGNMENT], range: ['#4c78a8', '#bab0ac'] },
  legend: { labelLimit: 240 },
};

/** A1: requests per server at N = 3, Ringmaster beside the assignment. */
export function a1Chart(a1: Spread, label: string): TopLevelSpec {
  const ours = Object.values(a1.counts).map((count, i) => ({ server: `server ${i + 1}`, source: RINGMASTER, count }));
  const theirs = ICS_4104.n3Counts.map((count, i) => ({ server: `server ${i + 1}`, source: ASSIGNMENT, count }));
  return {
    title: {
      text: 'A1: 10,000 requests over N = 3',
      subtitle: `Ringmaster max/mean ${a1.maxOverMean} (${label}); ICS 4104 max/mean 1.10`,
    },
    width: WIDTH,
    height: HEIGHT,
    data: { values: [...ours, ...theirs] },
    layer: [
      {
        mark: 'bar',
        encoding: {
          x: { field: 'server', type: 'nominal', title: null, axis: { labelAngle: 0 } },
          xOffset: { field: 'source', type: 'nominal', sort: [RINGMASTER, ASSIGNMENT] },
          y: { field: 'count', type: 'quantitative', title: 'requests' },
          color: { field: 'source', type: 'nominal', title: null, ...sourceColor },
        },
      },
      {
        mark: { type: 'rule', strokeDash: [4, 4], color: '#444' },
        encoding: { y: { datum: 10_000 / 3 } },
      },
    ],
  };
}

/** A2: mean with the min-max band per N, and max/mean per N beside the assignment's two points. */
export function a2Chart(a2: readonly Spread[], label: string): TopLevelSpec {
  const rows = a2.map((r) => ({ n: r.n, mean: r.mean, min: r.min, max: r.max, maxOverMean: r.maxOverMean }));
  const ratio = [
    ...rows.map((r) => ({ n: r.n, maxOverMean: r.maxOverMean, source: RINGMASTER })),
    ...ICS_4104.maxOverMean.map((r) => ({ ...r, source: ASSIGNMENT })),
  ];
  const n = { field: 'n', type: 'quantitative', title: 'N (servers)', axis: { tickMinStep: 1 } } as const;
  return {
    title: { text: 'A2: 10,000 requests at N = 2..6, grown with POST /add', subtitle: label },
    hconcat: [
      {
        width: WIDTH / 1.4,
        height: HEIGHT,
        title: 'requests per server: mean, min-max',
        data: { values: rows },
        layer: [
          {
            mark: { type: 'area', opacity: 0.25 },
            encoding: {
              x: n,
              y: { field: 'min', type: 'quantitative', title: 'requests per server' },
              y2: { field: 'max' },
            },
          },
          { mark: { type: 'line', point: true }, encoding: { x: n, y: { field: 'mean', type: 'quantitative' } } },
        ],
      },
      {
        width: WIDTH / 1.4,
        height: HEIGHT,
        title: 'max / mean',
        data: { values: ratio },
        encoding: {
          x: n,
          y: { field: 'maxOverMean', type: 'quantitative', title: 'max / mean', scale: { zero: false } },
          color: { field: 'source', type: 'nominal', title: null, ...sourceColor },
        },
        // The assignment reported two sizes only: points, not a line implying the sizes between.
        layer: [
          {
            mark: { type: 'line', point: { size: 60 } },
            transform: [{ filter: { field: 'source', equal: RINGMASTER } }],
          },
          {
            mark: { type: 'point', filled: true, size: 90 },
            transform: [{ filter: { field: 'source', equal: ASSIGNMENT } }],
          },
        ],
      },
    ],
  };
}

/** A3: requests per server right after a failure, and after one server was added. */
export function a3Chart(a3: FailureRun, label: string): TopLevelSpec {
  const during = `after ${a3.method} of ${a3.killed}`;
  const after = 'after POST /add';
  const values = [
    ...Object.entries(a3.duringFailure.counts).map(([server, count]) => ({ server, phase: during, count })),
    ...Object.entries(a3.afterAdd.counts).map(([server, count]) => ({ server, phase: after, count })),
  ];
  return {
    title: {
      text: `A3: failure test, ${a3.duringFailure.requests.toLocaleString('en')} requests per phase`,
      subtitle: `failed: ${a3.duringFailure.failed} right after the failure, ${a3.afterAdd.failed} after the add (${label})`,
    },
    width: WIDTH,
    height: HEIGHT,
    data: { values },
    mark: 'bar',
    encoding: {
      x: { field: 'server', type: 'nominal', title: null, axis: { labelAngle: 0 } },
      xOffset: { field: 'phase', type: 'nominal', sort: [during, after] },
      y: { field: 'count', type: 'quantitative', title: 'requests' },
      color: { field: 'phase', type: 'nominal', title: null, sort: [during, after], legend: { labelLimit: 240 } },
    },
  };
}

/** A4: proxy write and read rates for each shard layout. */
export function a4Chart(a4: readonly ShardLayoutResult[]): TopLevelSpec {
  const short = (r: ShardLayoutResult) => `${r.servers} servers, ${r.shards} × ${r.replicas}`;
  const values = a4.flatMap((r) => [
    { layout: short(r), operation: 'writes/s', rate: r.proxy.writesPerSec },
    { layout: short(r), operation: 'reads/s', rate: r.proxy.readsPerSec },
  ]);
  const count = (n: number | undefined) => (n ?? 0).toLocaleString('en');
  return {
    title: {
      text: 'A4: sharded records through the proxy',
      subtitle: `${count(a4[0]?.operations.writes)} single-row writes, then ${count(a4[0]?.operations.reads)} single-id reads, per layout (shards × replicas; MiniStack)`,
    },
    width: WIDTH,
    height: HEIGHT,
    data: { values },
    mark: 'bar',
    encoding: {
      x: { field: 'layout', type: 'nominal', title: null, sort: a4.map(short), axis: { labelAngle: 0 } },
      xOffset: { field: 'operation', type: 'nominal', sort: ['writes/s', 'reads/s'] },
      y: { field: 'rate', type: 'quantitative', title: 'operations per second' },
      color: { field: 'operation', type: 'nominal', title: null, sort: ['writes/s', 'reads/s'] },
    },
  };
}
