// Shared helpers for the browser tests: a headless Chromium (Debian's
// /usr/bin/chromium driven by playwright-core), the real coachd started by
// tests/e2e/lib.mjs, and small page actions. playwright-core has no
// `expect`, so waiting is done with locator.waitFor / page.waitForFunction
// and checks with node:assert.
import assert from 'node:assert/strict';
import { mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { before, after } from 'node:test';
import { chromium } from 'playwright-core';
import { startServer, api, ROOT } from '../e2e/lib.mjs';

export { startServer, api, ROOT };

export const SHOTS = join(ROOT, 'docs', 'screenshots');
export const AXE_PATH = join(ROOT, 'node_modules', 'axe-core', 'axe.min.js');
export const STREAM_GLOB = '**/api/coach/sessions/*/messages/*/stream*';

// Registers before/after hooks for a test file: coachd started with args
// and one Chromium, both stopped at the end. Returns an object whose srv and
// browser are set once the before hook has run.
export function browserSuite(args = []) {
  const ctx = { srv: null, browser: null };
  before(async () => {
    ctx.srv = await startServer(args);
    ctx.browser = await launch();
  });
  after(async () => {
    await ctx.browser?.close();
    await ctx.srv?.stop();
    ctx.srv?.cleanup();
  });
  return ctx;
}

export function launch() {
  return chromium.launch({
    executablePath: process.env.CHROMIUM_BIN || '/usr/bin/chromium',
    args: ['--headless=new', '--no-sandbox', '--disable-gpu', '--no-first-run',
      '--disable-background-networking', '--disable-component-update', '--disable-sync',
      '--disable-quic'],
  });
}

// A fresh context (own localStorage) and page. It records page errors,
// dialogs and CSP violations; check() asserts there were none.
export async function openPage(browser, base, opts = {}) {
  const ctx = await browser.newContext({
    viewport: opts.viewport || { width: 1000, height: 800 },
    bypassCSP: !!opts.bypassCSP,
    reducedMotion: opts.reducedMotion || 'no-preference',
    colorScheme: opts.colorScheme || 'light',
    permissions: opts.permissions || [],
    hasTouch: !!opts.hasTouch,
    isMobile: !!opts.isMobile,
  });
  await ctx.addInitScript(() => {
    window.__csp = [];
    document.addEventListener('securitypolicyviolation', (e) => {
      window.__csp.push(e.violatedDirective + ' ' + e.blockedURI);
    });
  });
  const page = await ctx.newPage();
  const errors = [];
  const dialogs = [];
  const requests = [];
  page.on('pageerror', (e) => errors.push(String(e)));
  page.on('request', (r) => requests.push(r.url()));
  page.on('dialog', (d) => { dialogs.push(d.type() + ': ' + d.message()); d.dismiss().catch(() => {}); });
  if (opts.goto !== false) await page.goto(base + '/');
  return {
    ctx, page, errors, dialogs, requests,
    async check() {
      const csp = await page.evaluate(() => window.__csp).catch(() => []);
      assert.deepEqual(csp, [], 'no CSP violations');
      assert.deepEqual(errors, [], 'no uncaught page errors');
    },
    async close() { await ctx.close(); },
  };
}

export async function startSession(page, name = '') {
  await page.locator('#start-view').waitFor();
  if (name) await page.fill('#parent-name', name);
  await page.click('#start-btn');
  await page.locator('#chat-view').waitFor();
}

export async function ask(page, question) {
  await page.fill('#question', question);
  await page.press('#question', 'Enter');
}

export const lastAnswer = (page) => page.locator('.msg.assistant').last();

// Waits until the newest answer is finished (complete, stopped or
// incomplete) and returns its data-status.
export async function waitFinished(page, count) {
  await page.waitForFunction((n) => {
    const all = document.querySelectorAll('.msg.assistant');
    if (n && all.length < n) return false;
    const m = all[all.length - 1];
    return m && m.dataset.status && !['waiting', 'streaming'].includes(m.dataset.status);
  }, count || 0);
  return lastAnswer(page).getAttribute('data-status');
}

export async function answerText(locator) {
  return (await locator.locator('.answer').innerText()).replace(/▮/g, '').trim();
}

// The answer's text with each rendered citation mark written back as the
// "[n]" the saved markdown has, so a saved line can be found in it. The
// marks render as links whose screen-reader label ("source ") is absolutely
// positioned, which innerText breaks onto lines of its own.
export async function answerWithMarks(locator) {
  return (await locator.locator('.answer').evaluate((el) => {
    const c = el.cloneNode(true);
    for (const s of c.querySelectorAll('sup.ref')) s.replaceWith(' [' + s.textContent.replace(/\D/g, '') + ']');
    return c.textContent;
  })).replace(/▮/g, '').replace(/ +\[/g, ' [').trim();
}

export const sessionIdOf = (page) => page.evaluate(() => localStorage.getItem('coach.session'));

// The saved session as the API returns it.
export async function savedSession(base, page) {
  const id = await sessionIdOf(page);
  const r = await api(base, 'GET', '/api/coach/sessions/' + id);
  assert.equal(r.status, 200, r.text);
  return r.json;
}

// A promise with its resolver, to hold an intercepted request.
export function gate() {
  let open;
  const p = new Promise((r) => { open = r; });
  return { wait: p, open };
}

// An SSE body like coachd's: retry line, then one id'd frame per event.
export function sseBody(mid, events, { retry = 2000 } = {}) {
  let out = retry ? `retry: ${retry}\n\n` : '';
  events.forEach((e, i) => { out += `id: ${mid}:${i + 1}\ndata: ${JSON.stringify(e)}\n\n`; });
  return out;
}

export const midOfStreamUrl = (url) => /\/messages\/([^/]+)\/stream/.exec(url)[1];

export async function axeScan(page) {
  await page.evaluate(readFileSync(AXE_PATH, 'utf8'));
  const res = await page.evaluate(() => window.axe.run(document, { resultTypes: ['violations'] }));
  return res.violations
    .filter((v) => v.impact === 'serious' || v.impact === 'critical')
    .map((v) => `${v.impact} ${v.id}: ${v.help} -> ${v.nodes.map((n) => n.target.join(' ')).join(', ')}`);
}

export function shot(page, name, opts = {}) {
  mkdirSync(SHOTS, { recursive: true });
  return page.screenshot({ path: join(SHOTS, name), ...opts });
}

export const noHorizontalScroll = (page) =>
  page.evaluate(() => document.documentElement.scrollWidth);
