// The stats dashboard in a real browser (Debian's chromium driven by playwright-core): it asks for
// authentication (401 without credentials), renders three servers UP with credentials, and shows
// one DOWN after its backend is killed, by refreshing itself (`stats refresh 1s` → Refresh header,
// no reload from the test). A screenshot is saved to test-artifacts/dashboard.png.
// Skips loudly when chromium or playwright-core is missing.
import { existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import test from 'ava';
import { freePorts, startLb, writeConfig } from '../proxy/run/harness.ts';
import { backend } from '../integration/helpers.ts';

const CHROMIUM = '/usr/bin/chromium';
const ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'];
const ARTIFACTS = join(import.meta.dirname, '../../test-artifacts');

type Pw = typeof import('playwright-core');
type Ctx = import('playwright-core').BrowserContext;
type Page = import('playwright-core').Page;

async function loadPlaywright(): Promise<Pw | string> {
  if (!existsSync(CHROMIUM)) return `${CHROMIUM} is missing (apt-get install -y chromium)`;
  try {
    return await import('playwright-core');
  } catch {
    return 'playwright-core is not installed (npm install --save-dev playwright-core)';
  }
}

test.serial('dashboard: 401 without credentials, three servers UP, one DOWN after a kill and a self-refresh; screenshot', async (t) => {
  const pw = await loadPlaywright();
  if (typeof pw === 'string') {
    t.log(`SKIPPED (browser test): ${pw}`);
    console.warn(`[browser test SKIPPED] ${pw}`);
    t.pass();
    return;
  }
  const [fe, st, p1, p2, p3] = await freePorts(5);
  const bes = [backend(p1!), backend(p2!), backend(p3!)];
  for (const b of bes) await b.start();
  const cfg = writeConfig(`
defaults
    mode http
    timeout connect 1s
    timeout client 5s
    timeout server 5s
    timeout check 2s   # a loaded CI machine may answer a check later than inter (200 ms)
frontend web_frontend
    bind 127.0.0.1:${fe}
    default_backend web_backend
backend web_backend
    option httpchk GET /health
    server backend1 127.0.0.1:${p1} check inter 200 fall 2 rise 2
    server backend2 127.0.0.1:${p2} check inter 200 fall 2 rise 2
    server backend3 127.0.0.1:${p3} check inter 200 fall 2 rise 2
listen stats
    bind 127.0.0.1:${st}
    stats enable
    stats uri /stats
    stats refresh 1s
    stats auth admin:haproxy123
`);
  const lb = await startLb(cfg, fe);
  const dirs: string[] = [];
  const contexts: Ctx[] = [];
  const open = async (creds: boolean): Promise<Page> => {
    const dir = mkdtempSync(join(tmpdir(), 'lb-chromium-'));
    dirs.push(dir);
    const ctx = await pw.chromium.launchPersistentContext(dir, {
      executablePath: CHROMIUM,
      headless: true,
      args: ARGS,
      viewport: { width: 1400, height: 900 },
      ...(creds ? { httpCredentials: { username: 'admin', password: 'haproxy123' } } : {}),
    });
    contexts.push(ctx);
    return ctx.newPage();
  };
  t.teardown(async () => {
    for (const c of contexts) await c.close();
    for (const d of dirs) rmSync(d, { recursive: true, force: true });
    await lb.stop();
    for (const b of bes) await b.kill();
  });
  const url = `http://127.0.0.1:${st}/stats`;

  // A navigation without credentials is aborted by chromium on the challenge
  // (ERR_INVALID_AUTH_CREDENTIALS): read the answer through the browser's request API instead.
  const anon = await open(false);
  const r0 = await anon.request.get(url);
  t.is(r0.status(), 401, 'the dashboard asks for credentials');
  t.is(r0.headers()['www-authenticate'], 'Basic realm="HAProxy Statistics"');

  const page = await open(true);
  let navigations = 0;
  page.on('framenavigated', () => {
    navigations++;
  });
  // One snapshot of the rendered page at a time: the row classes are read together, so a refresh
  // landing between two reads cannot mix two pages (or destroy the context under a second read).
  const rows = async (): Promise<{ up: string[]; down: string[] } | undefined> => {
    try {
      // A string runs in the page (this project's types have no DOM lib).
      return await page.evaluate<{ up: string[]; down: string[] }>(`(() => {
        const names = (cls) => [...document.querySelectorAll('tr.' + cls + ' > td:nth-child(2)')].map((td) => (td.textContent || '').trim()).sort();
        return { up: names('active_up'), down: names('active_down') };
      })()`);
    } catch {
      return undefined; // the page is navigating (self-refresh)
    }
  };
  /** Snapshots until `done` holds (at most `ms`); the last one. */
  const until = async (done: (r: { up: string[]; down: string[] }) => boolean, ms: number): Promise<{ up: string[]; down: string[] } | undefined> => {
    let seen: { up: string[]; down: string[] } | undefined;
    for (const end = Date.now() + ms; Date.now() < end; await page.waitForTimeout(100)) {
      seen = await rows();
      if (seen !== undefined && done(seen)) break;
    }
    return seen;
  };
  const r1 = await page.goto(url);
  t.is(r1?.status(), 200);
  const first = await until((r) => r.up.length === 3, 5000);
  t.deepEqual(first, { up: ['backend1', 'backend2', 'backend3'], down: [] }, 'three servers UP (green rows)');

  await bes[1]!.kill();
  const before = navigations;
  const seen = await until((r) => r.down.length === 1 && r.up.length === 2, 8000);
  t.deepEqual(seen, { up: ['backend1', 'backend3'], down: ['backend2'] }, 'backend2 DOWN (red row), the other two UP, after the page refreshed itself');
  t.true(navigations > before, 'the page reloaded by itself (Refresh header)');
  mkdirSync(ARTIFACTS, { recursive: true });
  await page.screenshot({ path: join(ARTIFACTS, 'dashboard.png'), fullPage: true });
  t.true(existsSync(join(ARTIFACTS, 'dashboard.png')));
});
