// The two charts, drawn with uPlot (served by the proxy at /ui/uplot.js, no
// CDN). Each chart's numbers are also in the servers table, which is the
// accessible version; the chart containers carry a text summary as their label.
import { count, h, rate } from './dom.mjs';
import { HISTORY_SECONDS } from './rates.mjs';

const CHART_HEIGHT = 220;
const MIN_WIDTH = 200;

/** The uPlot global, or undefined if its script did not load (the tables still work). */
function uPlotLibrary(el) {
  const library = globalThis.uPlot;
  if (!library)
    el.replaceChildren(h('p', { class: 'note' }, 'The charting library did not load; the tables have the numbers.'));
  return library;
}

const clock = new Intl.DateTimeFormat(undefined, {
  hour: '2-digit',
  minute: '2-digit',
  second: '2-digit',
  hourCycle: 'h23',
});

/** Epoch seconds as the local time of day. */
function clockTime(seconds) {
  return clock.format(new Date(seconds * 1000));
}

function widthOf(el) {
  return Math.max(MIN_WIDTH, Math.floor(el.clientWidth));
}

/** Keeps `plot` as wide as its container (panels reflow between laptop and phone layouts). */
function followWidth(el, getPlot) {
  new ResizeObserver(() => {
    const plot = getPlot();
    if (plot && plot.width !== widthOf(el)) plot.setSize({ width: widthOf(el), height: CHART_HEIGHT });
  }).observe(el);
}

/** Bars: requests served per server, like the seed's figures. */
export class RequestsChart {
  #el;
  #plot;
  #ids = [];
  #colours = [];

  constructor(el) {
    this.#el = el;
    const uPlot = uPlotLibrary(el);
    if (!uPlot) return;
    const bars = uPlot.paths.bars({ size: [0.7, 90], disp: { fill: { unit: 3, values: () => this.#colours } } });
    this.#plot = new uPlot(
      {
        width: widthOf(el),
        height: CHART_HEIGHT,
        legend: { show: false },
        cursor: { show: false },
        scales: {
          x: { time: false, range: () => [-0.5, Math.max(1, this.#ids.length) - 0.5] },
          y: { range: (_u, _min, max) => [0, max > 0 ? max * 1.15 : 1] },
        },
        axes: [
          {
            splits: () => this.#ids.map((_, i) => i),
            values: (_u, splits) => splits.map((i) => this.#ids[i] ?? ''),
            grid: { show: false },
          },
          { size: 64, values: (_u, splits) => splits.map((v) => count(v)) },
        ],
        series: [{}, { label: 'Requests', width: 0, fill: '#4e79a7', paths: bars, points: { show: false } }],
      },
      [[], []],
      el,
    );
    followWidth(el, () => this.#plot);
  }

  update(servers, colourOf) {
    this.#ids = servers.map((s) => s.id);
    this.#colours = servers.map((s) => colourOf(s.id));
    this.#plot?.setData([this.#ids.map((_, i) => i), servers.map((s) => s.requests)]);
    this.#el.setAttribute(
      'aria-label',
      `Requests per server: ${servers.map((s) => `${s.id} ${count(s.requests)}`).join(', ')}`,
    );
  }
}

/** Lines: requests per second per server over the last minute. */
export class RateChart {
  #el;
  #plot;
  #key = '';

  constructor(el) {
    this.#el = el;
    followWidth(el, () => this.#plot);
  }

  update(history, ids, colourOf) {
    const uPlot = globalThis.uPlot;
    if (!uPlot) return void uPlotLibrary(this.#el);
    // uPlot's series are fixed at creation: a new set of servers gets a new chart.
    const key = ids.join('\u0000');
    if (key !== this.#key || !this.#plot) {
      this.#plot?.destroy();
      this.#key = key;
      this.#plot = new uPlot(
        {
          width: widthOf(this.#el),
          height: CHART_HEIGHT,
          cursor: { drag: { x: false, y: false } },
          // Room on the right for half of the last time label.
          padding: [8, 28, 0, 0],
          // Values on hover only would say nothing on a phone; the table has them.
          legend: { live: false },
          scales: {
            // Always the last minute, so the time axis does not jump while history fills up.
            x: { range: (_u, min, max) => (max === null ? [min, max] : [max - HISTORY_SECONDS, max]) },
            y: { range: (_u, _min, max) => [0, max > 0 ? max * 1.15 : 1] },
          },
          axes: [
            // One line per label (uPlot's default adds the date below), short enough for a phone.
            { space: 70, values: (_u, splits) => splits.map((t) => clockTime(t)) },
            { size: 56, values: (_u, splits) => splits.map((v) => rate(v)) },
          ],
          series: [{}, ...ids.map((id) => ({ label: id, stroke: colourOf(id), width: 2, value: (_u, v) => rate(v) }))],
        },
        [[], ...ids.map(() => [])],
        this.#el,
      );
    }
    this.#plot.setData([history.map((p) => p.at), ...ids.map((id) => history.map((p) => p.byServer.get(id) ?? null))]);
    const latest = history.at(-1);
    if (latest) {
      const summary = ids.map((id) => `${id} ${rate(latest.byServer.get(id))}`).join(', ');
      this.#el.setAttribute('aria-label', `Requests per second now: ${summary}`);
    }
  }
}
