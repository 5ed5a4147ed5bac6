// The balance page's files, inlined into the proxy bundle as text by esbuild
// (`with { type: 'text' }`), so dist/proxy.js and the Docker image need no
// other file and the page has no build step of its own: what is in ui/ is what
// the browser gets. uPlot comes from node_modules at build time, never a CDN.

import uplotJs from 'uplot/dist/uPlot.iife.min.js' with { type: 'text' };
import uplotCss from 'uplot/dist/uPlot.min.css' with { type: 'text' };
import pageCss from './ui/balance-page.css' with { type: 'text' };
import pageJs from './ui/balance-page.mjs' with { type: 'text' };
import chartsJs from './ui/charts.mjs' with { type: 'text' };
import domJs from './ui/dom.mjs' with { type: 'text' };
import indexHtml from './ui/index.html' with { type: 'text' };
import ratesJs from './ui/rates.mjs' with { type: 'text' };
import renderJs from './ui/render.mjs' with { type: 'text' };
import streamJs from './ui/snapshot-stream.mjs' with { type: 'text' };

export interface PageAsset {
  readonly contentType: string;
  readonly body: string;
}

const HTML = 'text/html; charset=utf-8';
const CSS = 'text/css; charset=utf-8';
const JS = 'text/javascript; charset=utf-8';

const page: PageAsset = { contentType: HTML, body: indexHtml };

/** Path → file. The page answers at / and /ui; everything it loads is under /ui/. */
export const PAGE_ASSETS: ReadonlyMap<string, PageAsset> = new Map([
  ['/', page],
  ['/ui', page],
  ['/ui/', page],
  ['/ui/balance-page.css', { contentType: CSS, body: pageCss }],
  ['/ui/balance-page.mjs', { contentType: JS, body: pageJs }],
  ['/ui/charts.mjs', { contentType: JS, body: chartsJs }],
  ['/ui/dom.mjs', { contentType: JS, body: domJs }],
  ['/ui/rates.mjs', { contentType: JS, body: ratesJs }],
  ['/ui/render.mjs', { contentType: JS, body: renderJs }],
  ['/ui/snapshot-stream.mjs', { contentType: JS, body: streamJs }],
  ['/ui/uplot.js', { contentType: JS, body: uplotJs }],
  ['/ui/uplot.css', { contentType: CSS, body: uplotCss }],
]);
