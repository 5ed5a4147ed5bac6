import { existsSync, mkdirSync } from 'node:fs';
import { type ClientRequest, get, type IncomingMessage } from 'node:http';
import { join } from 'node:path';
import { type Browser, chromium, type Page } from 'playwright-core';
import { request } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MAX_EVENT_STREAMS } from '#proxy/admin/event-stream.js';
import { ROOT, startTestProxy, startTestServer, type TestProxy, waitFor } from '../helpers/processes.js';

/** Debian's package; Playwright's own browser download does not work on these machines. */
const CHROMIUM = '/usr/bin/chromium';
const HAS_CHROMIUM = existsSync(CHROMIUM);
const ARTIFACTS = join(ROOT, 'dist/artifacts');
const LAPTOP = { width: 1280, height: 800 };
const PHONE = { width: 375, height: 812 };
/** Health checks run every second and two failures mark a server unhealthy. */
const UNHEALTHY_WITHIN_MS = 8000;

if (!HAS_CHROMIUM) {
  console.warn(`balance page browser tests skipped: no Chromium at ${CHROMIUM} (apt-get install chromium)`);
}

describe('balance page', () => {
  let proxy: TestProxy;
  let browser: Browser | undefined;
  let load: { stop(): Promise<void> } | undefined;
  const problems: string[] = [];

  beforeAll(async () => {
    proxy = await startTestProxy({ SCALER: 'local', INITIAL_SERVERS: '3' });
    if (HAS_CHROMIUM) {
      mkdirSync(ARTIFACTS, { recursive: true });
      browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: ['--no-sandbox'] });
    }
  });
  afterAll(async () => {
    await load?.stop();
    await browser?.close();
    expect(await proxy?.stop()).toBe(0);
  });

  describe('routes', () => {
    it('serves the page and its files without a token, with security headers', async () => {
      for (const [path, type] of [
        ['/', 'text/html'],
        ['/ui', 'text/html'],
        ['/ui/balance-page.mjs', 'text/javascript'],
        ['/ui/balance-page.css', 'text/css'],
        ['/ui/uplot.js', 'text/javascript'],
        ['/ui/uplot.css', 'text/css'],
      ] as const) {
        const res = await request(`${proxy.adminUrl}${path}`);
        const body = await res.body.text();
        expect(res.statusCode, path).toBe(200);
        expect(res.headers['content-type'], path).toContain(type);
        expect(res.headers['content-security-policy'], path).toContain("script-src 'self'");
        expect(res.headers['content-security-policy'], path).not.toContain('unsafe-inline');
        expect(res.headers['x-content-type-options'], path).toBe('nosniff');
        expect(res.headers['referrer-policy'], path).toBe('no-referrer');
        expect(body.length, path).toBeGreaterThan(0);
      }
      const again = await request(`${proxy.adminUrl}/`);
      await again.body.text();
      const cached = await request(`${proxy.adminUrl}/`, { headers: { 'if-none-match': String(again.headers.etag) } });
      await cached.body.text();
      expect(cached.statusCode).toBe(304);
    });

    it('needs the token for the data: /events and /status', async () => {
      expect((await proxy.admin('GET', '/events', undefined, null)).status).toBe(401);
      expect((await proxy.admin('GET', '/events', undefined, 'wrong-token')).status).toBe(401);
      expect((await proxy.admin('GET', '/status', undefined, null)).status).toBe(401);
      expect((await proxy.admin('POST', '/events')).status).toBe(405);
    });

    it('streams the /status snapshot as server-sent events, with a retry hint', async () => {
      const stream = await openStream(proxy);
      try {
        expect(stream.response.headers['content-type']).toContain('text/event-stream');
        const text = await stream.readUntil((t) => (t.match(/^event: snapshot$/gm) ?? []).length >= 2, 5000);
        expect(text.startsWith('retry: ')).toBe(true);
        const data = /^event: snapshot\ndata: (.*)$/m.exec(text)?.[1] ?? '';
        const message = JSON.parse(data).message;
        expect(message.servers.map((s: { id: string }) => s.id)).toEqual(['s1', 's2', 's3']);
        expect(message.hashSpace.algorithm).toBe('maglev');
        const shares = message.hashSpace.shares.map((s: { share: number }) => s.share);
        expect(shares.reduce((a: number, b: number) => a + b, 0)).toBeCloseTo(1, 9);
        expect(message.hashSpace.lastChange.joined.length).toBeGreaterThan(0);
        expect(message).not.toHaveProperty('shards'); // records API off
        expect(message).not.toHaveProperty('autoscaler'); // not wired in yet
      } finally {
        stream.close();
      }
    });

    it(`serves at most ${MAX_EVENT_STREAMS} streams at once and frees a slot when one closes`, async () => {
      const streams = await Promise.all(Array.from({ length: MAX_EVENT_STREAMS }, () => openStream(proxy)));
      try {
        expect(streams.every((s) => s.response.statusCode === 200)).toBe(true);
        const refused = await proxy.admin('GET', '/events');
        expect(refused.status).toBe(503);
        expect(refused.body.message).toContain(`${MAX_EVENT_STREAMS} event streams are open`);
        streams.pop()?.close();
        await waitFor(
          async () => {
            const next = await openStream(proxy);
            next.close();
            return next.response.statusCode === 200;
          },
          5000,
          'a freed event stream slot',
        );
      } finally {
        for (const s of streams) s.close();
      }
    });
  });

  describe.skipIf(!HAS_CHROMIUM)(`in Chromium (${CHROMIUM})`, () => {
    /** A page that records console errors, page errors and any request leaving the admin origin. */
    async function openPage(viewport: { width: number; height: number }): Promise<Page> {
      if (!browser) throw new Error('Chromium was not launched');
      const page = await browser.newPage({ viewport });
      page.on('console', (m) => {
        if (m.type() === 'error') problems.push(`console: ${m.text()}`);
      });
      page.on('pageerror', (err) => problems.push(`page error: ${err.message}`));
      page.on('request', (req) => {
        const url = req.url();
        if (!url.startsWith(`${proxy.adminUrl}/`) && !url.startsWith('data:'))
          problems.push(`external request: ${url}`);
      });
      await page.goto(`${proxy.adminUrl}/`);
      return page;
    }

    async function enterToken(page: Page, token: string): Promise<void> {
      await page.getByLabel('Token').fill(token);
      await page.getByRole('button', { name: 'Open the page' }).click();
    }

    const row = (page: Page, id: string, health?: string) =>
      page.locator(
        health ? `#servers tr[data-server="${id}"][data-health="${health}"]` : `#servers tr[data-server="${id}"]`,
      );

    it('asks for the token once, then shows the servers live; a wrong token is refused', async () => {
      const wrong = await openPage(LAPTOP);
      await enterToken(wrong, 'not-the-token');
      await expectText(wrong, '#token-error', /refused/);
      await wrong.close();
      problems.length = 0; // the 401 above is logged by Chromium as a failed resource load

      const page = await openPage(LAPTOP);
      await expect(page.locator('#token-form').isVisible()).resolves.toBe(true);
      await enterToken(page, proxy.token);
      for (const id of ['s1', 's2', 's3']) await row(page, id, 'healthy').waitFor({ timeout: 10_000 });
      await expectText(page, '#connection', /^Live/);
      await expectText(page, '#autoscaler', /Autoscaler not configured/);
      await expectText(page, '#shards', /records API is off/);
      await expectText(page, '#hash-space', /of the key space moved/);

      // Kept for the session: a reload goes straight to the data.
      await page.reload();
      await row(page, 's1').waitFor({ timeout: 10_000 });
      expect(await page.locator('#token-form').isVisible()).toBe(false);
      await page.close();
    });

    it('renders an autoscaler report once the snapshot carries one', async () => {
      // The proxy does not report an autoscaler yet; this drives the page's renderer with a sample
      // in the snapshot's AutoscalerStatus shape, so the section works the day it does.
      const page = await openPage(LAPTOP);
      const text = await page.evaluate(`import('/ui/render.mjs').then(({ renderAutoscaler }) => {
        const el = document.createElement('div');
        renderAutoscaler(el, {
          services: [{ name: 'servers', desired: 5, running: 4, pending: 1 }],
          decisions: [{ at: Date.now() - 60000, service: 'servers', from: 4, to: 5, reason: 'cpu 81% over target 60%', budgetLimited: true }],
          budget: { budgetUsd: 50, spendUsd: 12.5, remainingUsd: 37.5, projectedSpendUsd: 44 },
        }, Date.now());
        return el.textContent;
      })`);
      expect(text).toContain('servers541'); // name, desired, running, pending
      expect(text).toContain('$12.50 spent of $50.00 · $37.50 left · projected $44.00');
      expect(text).toContain('4 → 5cpu 81% over target 60%budget-limited');
      await page.close();
    });

    it('shows a killed server turn unhealthy and an added one appear, and saves screenshots', async () => {
      load = keepSendingRequests(proxy);
      const page = await openPage(LAPTOP);
      await enterToken(page, proxy.token);
      const doomed = await startTestServer('x1', proxy);
      await row(page, 'x1', 'healthy').waitFor({ timeout: 10_000 });

      doomed.kill();
      const killedAt = Date.now();
      await row(page, 'x1', 'unhealthy').waitFor({ timeout: UNHEALTHY_WITHIN_MS });
      console.info(`x1 shown unhealthy ${Date.now() - killedAt} ms after SIGKILL`);

      const added = await proxy.admin('POST', '/add', { n: 1 });
      expect(added.status).toBe(200);
      const newcomer = (added.body.message.replicas as string[]).find((id) => !['s1', 's2', 's3', 'x1'].includes(id));
      expect(newcomer).toBeDefined();
      await row(page, String(newcomer), 'healthy').waitFor({ timeout: 10_000 });
      await page.locator(`#hash-space tr[data-server="${newcomer}"]`).waitFor({ timeout: 5000 });
      await expectText(page, '#last-change', /(joined|left) · \d+(\.\d)?% of the key space moved/);

      // Rates need two snapshots with traffic in between.
      await waitFor(
        async () => /^[1-9]/.test((await row(page, 's1').locator('td[data-label="Req/s"]').textContent()) ?? ''),
        10_000,
        'a request rate for s1',
      );
      await page.screenshot({ path: join(ARTIFACTS, 'balance-page.png'), fullPage: true });

      const phone = await openPage(PHONE);
      await enterToken(phone, proxy.token);
      await row(phone, String(newcomer)).waitFor({ timeout: 10_000 });
      await phone.waitForTimeout(2500); // a few snapshots, so the rate chart has a line
      // Nothing wider than the phone: no sideways scrolling.
      expect(await phone.evaluate('document.documentElement.scrollWidth')).toBeLessThanOrEqual(PHONE.width);
      await phone.screenshot({ path: join(ARTIFACTS, 'balance-page-phone.png'), fullPage: true });
      await phone.close();
      await page.close();

      expect(problems).toEqual([]);
    });
  });
});

async function expectText(page: Page, selector: string, pattern: RegExp): Promise<void> {
  await waitFor(
    async () => pattern.test((await page.locator(selector).textContent()) ?? ''),
    10_000,
    `${selector} to match ${pattern}`,
  );
}

interface OpenStream {
  readonly response: IncomingMessage;
  readUntil(done: (text: string) => boolean, timeoutMs: number): Promise<string>;
  close(): void;
}

/** GET /events on its own connection (no pooling, so closing it closes the stream). */
function openStream(proxy: TestProxy): Promise<OpenStream> {
  return new Promise((resolve, reject) => {
    let text = '';
    const req: ClientRequest = get(
      `${proxy.adminUrl}/events`,
      { agent: false, headers: { authorization: `Bearer ${proxy.token}` } },
      (response) => {
        response.setEncoding('utf8');
        response.on('data', (chunk: string) => {
          text += chunk;
        });
        response.on('error', () => {});
        resolve({
          response,
          readUntil: (done, timeoutMs) => waitFor(() => done(text), timeoutMs, 'server-sent events').then(() => text),
          close: () => req.destroy(),
        });
      },
    );
    req.on('error', reject);
  });
}

/** Sends a few requests at a time to the proxy until stopped, so the page has rates to show. */
function keepSendingRequests(proxy: TestProxy): { stop(): Promise<void> } {
  const CONCURRENCY = 4;
  let running = true;
  let n = 0;
  const worker = async () => {
    while (running) {
      try {
        const res = await request(`${proxy.url}/home?request_id=${n++}`);
        await res.body.dump();
      } catch {
        // a server being killed: the page shows it, the load goes on
      }
      await new Promise((r) => setTimeout(r, 5));
    }
  };
  const workers = Array.from({ length: CONCURRENCY }, worker);
  return {
    stop: async () => {
      running = false;
      await Promise.all(workers);
    },
  };
}
