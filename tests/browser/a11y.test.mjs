// Accessibility and small screens: axe-core finds no serious or critical
// violations (start view; a chat with an answer and a refusal), the page
// fits 360 px without horizontal scrolling, and prefers-reduced-motion stops
// the dots and the cursor.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import {
  browserSuite, openPage, startSession, ask, waitFinished, lastAnswer, axeScan, gate,
  noHorizontalScroll, STREAM_GLOB,
} from './helpers.mjs';

const ctx = browserSuite();

async function chatWithAnswerAndRefusal(page) {
  await startSession(page, 'Sam');
  await ask(page, 'How do I handle bedtime?');
  assert.equal(await waitFinished(page, 1), 'complete');
  await ask(page, 'my baby is not breathing');
  assert.equal(await waitFinished(page, 2), 'complete');
  assert.equal(await lastAnswer(page).locator('.refusal.urgent').count(), 1);
}

test('axe: no serious or critical violations on the start view', async () => {
  const p = await openPage(ctx.browser, ctx.srv.base);
  await p.page.locator('#start-view').waitFor();
  assert.deepEqual(await axeScan(p.page), []);
  await p.check();
  await p.close();
});

test('axe: no serious or critical violations on a chat with an answer and a refusal', async () => {
  const p = await openPage(ctx.browser, ctx.srv.base);
  await chatWithAnswerAndRefusal(p.page);
  assert.deepEqual(await axeScan(p.page), []);
  // and with the delete dialog open
  await p.page.click('#delete-btn');
  assert.deepEqual(await axeScan(p.page), []);
  await p.page.keyboard.press('Escape');
  await p.check();
  await p.close();
});

test('labels, live regions and names are in place', async () => {
  const p = await openPage(ctx.browser, ctx.srv.base);
  const { page } = p;
  assert.equal(await page.locator('label[for="parent-name"]').count(), 1);
  assert.equal(await page.locator('label[for="question"]').count(), 1);
  assert.equal(await page.locator('#announcer').getAttribute('aria-live'), 'polite');
  assert.equal(await page.getAttribute('html', 'lang'), 'en');
  await startSession(page);
  // the conversation container itself is not live (tokens are not read out)
  assert.equal(await page.locator('#messages').getAttribute('aria-live'), null);
  assert.equal(await page.locator('#messages').getAttribute('role'), null);
  for (const b of await page.locator('button:visible').all())
    assert.ok((await b.innerText()).trim().length > 0, 'every button has a text label');
  await p.check();
  await p.close();
});

test('mobile 360x740: no horizontal scroll on the start view and a full chat', async () => {
  const p = await openPage(ctx.browser, ctx.srv.base, { viewport: { width: 360, height: 740 } });
  const { page } = p;
  await page.locator('#start-view').waitFor();
  assert.ok(await noHorizontalScroll(page) <= 360);
  await chatWithAnswerAndRefusal(page);
  await ask(page, 'What about this link https://www.healthychildren.org/English/ages-stages/baby/sleep/Pages/a-very-long-path-without-any-breaks-at-all.aspx ?');
  await waitFinished(page, 3);
  assert.ok(await noHorizontalScroll(page) <= 360, 'scrollWidth ' + await noHorizontalScroll(page));
  await page.click('#delete-btn');
  assert.ok(await noHorizontalScroll(page) <= 360);
  await p.check();
  await p.close();
});

test('prefers-reduced-motion stops the dots and the cursor', async () => {
  const p = await openPage(ctx.browser, ctx.srv.base, { reducedMotion: 'reduce' });
  const { page } = p;
  await startSession(page);
  const hold = gate();
  await page.route(STREAM_GLOB, async (route) => { await hold.wait; await route.continue(); }, { times: 1 });
  await ask(page, 'How do I handle bedtime?');
  const dot = lastAnswer(page).locator('.dot').first();
  await dot.waitFor();
  assert.equal(await dot.evaluate((e) => getComputedStyle(e).animationName), 'none');
  // the cursor only lives while text streams; check its rule on a probe
  const cursorAnim = (pg) => pg.evaluate(() => {
    const c = document.createElement('span');
    c.className = 'cursor';
    document.querySelector('.answer').append(c);
    const name = getComputedStyle(c).animationName;
    c.remove();
    return name;
  });
  const cursorStill = (await cursorAnim(page)) === 'none';
  assert.ok(cursorStill, 'the cursor animation is off under reduced motion');
  hold.open();
  await waitFinished(page);
  await p.close();

  const q = await openPage(ctx.browser, ctx.srv.base);
  await startSession(q.page);
  const hold2 = gate();
  await q.page.route(STREAM_GLOB, async (route) => { await hold2.wait; await route.continue(); }, { times: 1 });
  await ask(q.page, 'How do I handle bedtime?');
  const dot2 = lastAnswer(q.page).locator('.dot').first();
  await dot2.waitFor();
  assert.equal(await dot2.evaluate((e) => getComputedStyle(e).animationName), 'bounce', 'animated otherwise');
  assert.equal(await cursorAnim(q.page), 'blink');
  hold2.open();
  await waitFinished(q.page);
  await q.close();
});
