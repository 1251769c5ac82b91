// End-to-end test of the `edgelog serve` dashboard in a real (Debian) chromium, driven by playwright-core.
//
//   EDGELOG_URL=http://127.0.0.1:PORT EDGELOG_TOKEN=... EDGELOG_SHOTS=/tmp/shots \
//   EDGELOG_HOSTILE_UA='<img src=x onerror=alert(1)>' EDGELOG_HOSTILE_PATH='/x"><script>...' \
//   node tests/browser/dashboard.mjs
//
// Each failed check prints "dashboard: FAIL <check>: <why>" and exits 1; success prints one JSON line.
import fs from 'node:fs';
import path from 'node:path';
import { chromium } from 'playwright-core';

const BASE = (process.env.EDGELOG_URL || '').replace(/\/+$/, '');
const TOKEN = process.env.EDGELOG_TOKEN || '';
const SHOTS = process.env.EDGELOG_SHOTS || '';
const CHROMIUM = process.env.CHROMIUM || '/usr/bin/chromium';
const HOSTILE_UA = process.env.EDGELOG_HOSTILE_UA || '';
const HOSTILE_PATH = process.env.EDGELOG_HOSTILE_PATH || '';
const WAIT = Number(process.env.EDGELOG_WAIT_MS || 20000);

const checked = [];
const problems = { console: [], pageerror: [], dialog: [], foreign: [] };
const requests = [];
let browser = null;
let expect400 = false;

async function fail(check, why) {
  console.error(`dashboard: FAIL ${check}: ${why}`);
  for (const [k, v] of Object.entries(problems)) if (v.length) console.error(`  ${k}: ${JSON.stringify(v.slice(0, 10))}`);
  if (browser) await browser.close().catch(() => {});
  process.exit(1);
}
async function check(name, fn) {
  try {
    const detail = await fn();
    checked.push(detail === undefined ? name : { [name]: detail });
  } catch (e) {
    await fail(name, e && e.message ? e.message.split('\n')[0] : String(e));
  }
}
function must(cond, why) {
  if (!cond) throw new Error(why);
}
// Every request the page makes must go to the server under test (a same-origin blob: for the CSV is the page's own).
function watch(page) {
  page.on('console', (m) => {
    if (m.type() !== 'error' && m.type() !== 'warning') return;
    const where = (m.location() && m.location().url) || '';
    // The bad query of check 6 is answered 4xx on purpose, and chromium logs every failed fetch.
    if (expect400 && where.startsWith(BASE + '/api/query') && /status of 4\d\d/.test(m.text())) return;
    problems.console.push(`${m.type()}: ${m.text()} (${where})`);
  });
  page.on('pageerror', (e) => problems.pageerror.push(String(e && e.message ? e.message : e)));
  page.on('dialog', (d) => { problems.dialog.push(`${d.type()}: ${d.message()}`); d.dismiss().catch(() => {}); });
  page.on('request', (r) => {
    const u = r.url();
    requests.push(u);
    if (!(u === BASE || u.startsWith(BASE + '/') || u.startsWith(`blob:${BASE}/`))) problems.foreign.push(u);
  });
}
const figure = (page, col) => page.locator(`section.panel[data-panel=overview] .fig[data-col=${col}] .v`).first().textContent();
async function waitFigure(page, col, not) {
  await page.waitForFunction(([c, old]) => {
    const e = document.querySelector(`section.panel[data-panel=overview] .fig[data-col=${c}] .v`);
    return e && e.textContent.trim() !== '' && e.textContent !== old && !document.getElementById('panels').classList.contains('loading');
  }, [col, not ?? null], { timeout: WAIT });
  return figure(page, col);
}
const LAUNCH_ARGS = ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking',
  '--disable-component-update', '--disable-sync'];

if (!BASE.startsWith('http')) await fail('setup', 'EDGELOG_URL is not set (e.g. http://127.0.0.1:8080)');
if (SHOTS) fs.mkdirSync(SHOTS, { recursive: true });
try {
  browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: LAUNCH_ARGS });
} catch (e) {
  await fail('launch', `cannot start ${CHROMIUM}: ${e.message.split('\n')[0]}`);
}
const context = await browser.newContext({ viewport: { width: 1280, height: 900 }, acceptDownloads: true });
const page = await context.newPage();
page.setDefaultTimeout(WAIT);
watch(page);

// 1. sign in (and the page is closed without the cookie)
if (TOKEN) {
  await check('login', async () => {
    await page.goto(BASE + '/login');
    await page.fill('input[name=token]', TOKEN);
    await Promise.all([
      page.waitForURL((u) => u.href === BASE + '/' || u.href.startsWith(BASE + '/#'), { timeout: WAIT }),
      page.locator('input[name=token]').press('Enter'),
    ]);
  });
  await check('no cookie -> 401', async () => {
    const other = await browser.newContext();
    const p = await other.newPage();
    const r = await p.goto(BASE + '/');
    const status = r ? r.status() : 0;
    const api = await other.request.get(BASE + '/api/info');
    await other.close();
    must(status === 401, `GET / without the cookie answered ${status}, expected 401`);
    must(api.status() === 401, `GET /api/info without the cookie answered ${api.status()}, expected 401`);
    return { page: status, api: api.status() };
  });
} else {
  await page.goto(BASE + '/');
}

// 3. the dashboard loads with its default range
let first = '';
await check('dashboard loads', async () => {
  first = await waitFigure(page, 'requests');
  const range = await page.locator('#range').inputValue();
  const panels = await page.locator('section.panel[data-panel]').evaluateAll((s) => s.map((e) => e.dataset.panel));
  must(panels.length >= 1 && panels[0] === 'overview', `panels: ${panels.join(',')}`);
  must(/\S/.test(await page.locator('#scan').textContent()), '#scan is empty');
  must(/\S/.test(await page.locator('#updated').textContent()), '#updated is empty');
  return { range, requests: first, panels: panels.length };
});

// 4. range "all": a report without `last`, and another requests figure
await check('range all', async () => {
  if ((await page.locator('#range').inputValue()) === 'all') {
    await page.selectOption('#range', '24h');
    first = await waitFigure(page, 'requests', first);
  }
  const req = page.waitForRequest((r) => {
    const u = new URL(r.url());
    return u.pathname === '/api/report' && !u.searchParams.has('last') && !u.searchParams.has('since');
  }, { timeout: WAIT });
  await page.selectOption('#range', 'all');
  await req;
  const all = await waitFigure(page, 'requests', first);
  must(all !== first, `the requests figure stayed ${first}`);
  must(await page.locator('#compare').isDisabled(), '#compare is not disabled for "all"');
  return { before: first, all };
});

// 5. SQL
await check('sql', async () => {
  await page.fill('#sql', 'SELECT status, count(*) AS n FROM logs GROUP BY status ORDER BY status');
  await page.click('#run');
  await page.waitForFunction(() => {
    const t = document.querySelector('#result table');
    if (!t) return false;
    const head = [...t.querySelectorAll('thead th')].map((th) => th.textContent.trim());
    return head.includes('status') && t.querySelectorAll('tbody tr').length >= 2;
  }, null, { timeout: WAIT });
  const rows = await page.locator('#result table tbody tr').count();
  must(await page.locator('#result-error').isHidden(), '#result-error is shown after a good query');
  return { rows };
});

// 5b. CSV download of the same query
await check('csv', async () => {
  const [dl] = await Promise.all([page.waitForEvent('download', { timeout: WAIT }), page.click('#csv')]);
  const file = await dl.path();
  const text = fs.readFileSync(file, 'utf8');
  must(dl.suggestedFilename() === 'edgelog-query.csv', `file name ${dl.suggestedFilename()}`);
  must(/^\W?status,n\b/.test(text) && text.trim().split('\n').length >= 3, `CSV starts ${JSON.stringify(text.slice(0, 40))}`);
  return { lines: text.trim().split('\n').length };
});

// 6. a bad query shows its error, and the page lives on
await check('sql error', async () => {
  await page.fill('#sql', 'SELEC nonsense');
  expect400 = true;
  await page.click('#run');
  await page.waitForFunction(() => {
    const e = document.getElementById('result-error');
    return e && !e.hidden && e.textContent.trim().length > 0;
  }, null, { timeout: WAIT });
  expect400 = false;
  const msg = (await page.locator('#result-error').textContent()).trim();
  must(await page.evaluate(() => 1 + 1) === 2, 'the page does not answer');
  must(await page.locator('section.panel[data-panel=overview]').count() === 1, 'the panels went away');
  return msg.slice(0, 80);
});

// 7. hostile strings from the logs are text, never markup
await check('hostile strings', async () => {
  must(await page.locator('#range').inputValue() === 'all', 'range is not "all"');
  await page.waitForSelector('section.panel[data-panel=agents] table', { timeout: WAIT });
  for (const p of ['paths', 'errors']) must(await page.locator(`section.panel[data-panel=${p}] table`).count() > 0, `no table in the ${p} panel`);
  const r = await page.evaluate(([ua, path]) => ({
    imgs: [...document.querySelectorAll('img')].map((i) => i.getAttribute('src')),
    scripts: [...document.querySelectorAll('script')].map((s) => s.getAttribute('src')),
    pwned: typeof window.__pwned,
    ua: ua ? document.body.innerText.includes(ua) : null,
    path: path ? document.body.innerText.includes(path) : null,
    styled: document.querySelectorAll('[style]').length - document.querySelectorAll('.bar .fill[style]').length,
  }), [HOSTILE_UA, HOSTILE_PATH]);
  must(r.imgs.length === 0, `the page has <img> elements: ${JSON.stringify(r.imgs)}`);
  must(r.scripts.length === 1 && r.scripts[0] === '/assets/app.js', `scripts: ${JSON.stringify(r.scripts)}`);
  must(r.pwned === 'undefined', 'window.__pwned is set');
  must(r.ua !== false, `the hostile user agent ${JSON.stringify(HOSTILE_UA)} is not shown as text`);
  must(r.path !== false, `the hostile path ${JSON.stringify(HOSTILE_PATH)} is not shown as text`);
  must(r.styled === 0, `${r.styled} elements carry a style attribute besides the bars`);
  return { ua: r.ua, path: r.path };
});

// 8. screenshots at desktop and phone width; no page-level horizontal scroll
const noSideScroll = (p) => p.evaluate(() => ({ sw: document.documentElement.scrollWidth, iw: window.innerWidth }));
await check('desktop screenshot', async () => {
  await page.setViewportSize({ width: 1280, height: 900 });
  await page.waitForFunction(() => document.querySelectorAll('.chart svg').length > 0, null, { timeout: WAIT });
  await page.waitForTimeout(300); // the charts redraw 150 ms after a resize
  const { sw, iw } = await noSideScroll(page);
  must(sw <= iw + 1, `page scrolls sideways at 1280 px: scrollWidth ${sw} > ${iw}`);
  if (SHOTS) await page.screenshot({ path: path.join(SHOTS, 'dashboard-desktop.png'), fullPage: true });
  return { scrollWidth: sw };
});
await check('phone screenshot', async () => {
  const phone = await browser.newContext({
    viewport: { width: 390, height: 844 }, isMobile: true, hasTouch: true, deviceScaleFactor: 2,
    storageState: await context.storageState(),
  });
  const p = await phone.newPage();
  p.setDefaultTimeout(WAIT);
  watch(p);
  await p.goto(BASE + '/');
  await waitFigure(p, 'requests');
  // The test data may be older than the default range: show all of it.
  await p.selectOption('#range', 'all');
  await p.waitForFunction(() => document.querySelectorAll('.chart svg').length > 0, null, { timeout: WAIT });
  const { sw, iw } = await noSideScroll(p);
  if (SHOTS) await p.screenshot({ path: path.join(SHOTS, 'dashboard-phone.png'), fullPage: true });
  await phone.close();
  must(sw <= iw + 1, `page scrolls sideways at 390 px: scrollWidth ${sw} > innerWidth ${iw}`);
  return { scrollWidth: sw, innerWidth: iw };
});

// 2. no console errors or warnings, no page errors, no dialogs, no request elsewhere
await check('clean console and requests', async () => {
  must(problems.pageerror.length === 0, `page errors: ${problems.pageerror.join(' | ')}`);
  must(problems.console.length === 0, `console: ${problems.console.join(' | ')}`);
  must(problems.dialog.length === 0, `dialogs: ${problems.dialog.join(' | ')}`);
  must(problems.foreign.length === 0, `requests elsewhere than ${BASE}: ${problems.foreign.join(' ')}`);
  return { requests: requests.length };
});

await browser.close();
console.log(JSON.stringify({ ok: true, url: BASE, login: Boolean(TOKEN), shots: SHOTS || null, checked }));
