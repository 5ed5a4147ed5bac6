// The live balance page: asks for the admin token once, then renders every
// snapshot the proxy streams from /events.
//
// The token is kept in sessionStorage: it survives reloads of this tab but not
// closing it, and is not shared with other tabs. It is sent only as an
// Authorization header from this same-origin script (the Content-Security-Policy
// allows no other script), never in a URL or a cookie, so other sites cannot
// make the browser send it and it does not end up in logs or history.
import { RateChart, RequestsChart } from './charts.mjs';
import { createPalette } from './dom.mjs';
import { RateTracker } from './rates.mjs';
import { renderAutoscaler, renderHashSpace, renderServers, renderShards, renderSummary } from './render.mjs';
import { openSnapshotStream } from './snapshot-stream.mjs';

const TOKEN_KEY = 'ringmaster.adminToken';
/** Snapshots come every second; after this long without one, say the page is stale. */
const STALE_AFTER_MS = 3500;
const WATCHDOG_MS = 1000;

const byId = (id) => {
  const el = document.getElementById(id);
  if (!el) throw new Error(`the page has no #${id}`);
  return el;
};

const ui = {
  connection: byId('connection'),
  forget: byId('forget-token'),
  form: byId('token-form'),
  tokenInput: byId('token'),
  tokenError: byId('token-error'),
  dashboard: byId('dashboard'),
  summary: byId('summary'),
  servers: byId('servers').tBodies[0],
  serversEmpty: byId('servers-empty'),
  hashSpace: byId('hash-space'),
  shards: byId('shards'),
  autoscaler: byId('autoscaler'),
};

let closeStream;
let lastSnapshotAt = 0;
let live = false;
let rates = new RateTracker();
let charts;
const colourOf = createPalette();

function setConnection(text, isLive) {
  live = isLive;
  ui.connection.textContent = text;
  ui.connection.classList.toggle('live', isLive);
  ui.connection.classList.toggle('down', !isLive);
}

function askForToken(error = '') {
  closeStream?.();
  closeStream = undefined;
  ui.dashboard.hidden = true;
  ui.forget.hidden = true;
  ui.form.hidden = false;
  ui.tokenError.textContent = error;
  setConnection('Waiting for the admin token', false);
  ui.tokenInput.focus();
}

function open(token) {
  ui.form.hidden = true;
  ui.dashboard.hidden = false;
  ui.forget.hidden = false;
  charts ??= { requests: new RequestsChart(byId('requests-chart')), rate: new RateChart(byId('rate-chart')) };
  rates = new RateTracker();
  setConnection('Connecting…', false);
  closeStream = openSnapshotStream({
    token,
    onSnapshot: render,
    onState: setConnection,
    onUnauthorized: () => {
      sessionStorage.removeItem(TOKEN_KEY);
      askForToken('The proxy refused that token. Check it and try again.');
    },
  });
}

function render(report) {
  const status = report.message;
  rates.update(status);
  lastSnapshotAt = Date.now();
  setConnection(`Live · updated ${new Date(status.takenAt).toLocaleTimeString()}`, true);
  renderSummary(ui.summary, status, rates);
  renderServers(ui.servers, ui.serversEmpty, status, rates, colourOf);
  charts.requests.update(status.servers, colourOf);
  charts.rate.update(
    rates.history,
    status.servers.map((s) => s.id),
    colourOf,
  );
  renderHashSpace(ui.hashSpace, status, colourOf, status.takenAt);
  renderShards(ui.shards, status.shards);
  renderAutoscaler(ui.autoscaler, status.autoscaler, status.takenAt);
}

ui.form.addEventListener('submit', (event) => {
  event.preventDefault();
  const token = ui.tokenInput.value.trim();
  if (token === '') return;
  sessionStorage.setItem(TOKEN_KEY, token);
  ui.tokenInput.value = '';
  open(token);
});

ui.forget.addEventListener('click', () => {
  sessionStorage.removeItem(TOKEN_KEY);
  askForToken();
});

setInterval(() => {
  if (live && lastSnapshotAt > 0 && Date.now() - lastSnapshotAt > STALE_AFTER_MS) {
    const seconds = Math.round((Date.now() - lastSnapshotAt) / 1000);
    setConnection(`No update for ${seconds} s; the numbers below are stale`, false);
  }
}, WATCHDOG_MS);

const saved = sessionStorage.getItem(TOKEN_KEY);
if (saved) open(saved);
else askForToken();
