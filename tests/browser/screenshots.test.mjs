// Saves screenshots of the page's main states to docs/screenshots/ (start,
// dots, streaming, answer, refusal, conversations, dark, mobile), checking
// each state is really on screen first. Reduced motion keeps the dots and cursor still so the
// pictures are stable.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import {
  browserSuite, openPage, startSession, ask, waitFinished, lastAnswer, gate, shot,
  STREAM_GLOB,
} from './helpers.mjs';

const ctx = browserSuite(['--pace-ms', '40']);

test('desktop states: start, dots, streaming, answer, refusal', async () => {
  const p = await openPage(ctx.browser, ctx.srv.base, { reducedMotion: 'reduce' });
  const { page } = p;
  await page.locator('#start-view').waitFor();
  await page.fill('#parent-name', 'Sam');
  await shot(page, 'start.png');

  await startSession(page);
  const hold = gate();
  await page.route(STREAM_GLOB, async (route) => { await hold.wait; await route.continue(); }, { times: 1 });
  await ask(page, 'How do I handle bedtime? My 3 year old keeps getting up.');
  const ans = lastAnswer(page);
  await ans.locator('.dots').waitFor();
  await shot(page, 'dots.png');
  hold.open();

  await page.waitForFunction(() => {
    const m = [...document.querySelectorAll('.msg.assistant')].pop();
    return !!m && m.dataset.status === 'streaming' && m.querySelector('.answer').textContent.split(' ').length > 45;
  });
  assert.equal(await ans.locator('.cursor').isVisible(), true);
  await shot(page, 'streaming.png');

  assert.equal(await waitFinished(page), 'complete');
  await ans.evaluate((e) => e.scrollIntoView({ block: 'center' }));
  await ans.locator('a.badge').first().hover();
  await ans.locator('.cite-detail').waitFor();
  await shot(page, 'answer.png');

  await page.mouse.move(0, 0);
  await ask(page, 'my baby is not breathing');
  assert.equal(await waitFinished(page, 2), 'complete');
  const refusal = lastAnswer(page).locator('.refusal.urgent');
  assert.equal(await refusal.count(), 1);
  await page.evaluate(() => window.scrollTo(0, document.documentElement.scrollHeight));
  await refusal.scrollIntoViewIfNeeded();
  await shot(page, 'refusal.png');

  // a new conversation: suggested questions, and the earlier one in the list
  await page.getByRole('button', { name: 'New conversation' }).click();
  await page.waitForFunction(() => !document.querySelector('.msg'));
  assert.equal(await page.getByRole('list', { name: 'Conversations' }).getByRole('link').count(), 1);
  assert.ok((await page.locator('#suggestions button').count()) >= 4);
  await shot(page, 'conversations.png');

  // dark mode, from prefers-color-scheme
  await page.getByRole('list', { name: 'Conversations' }).getByRole('link').first().click();
  await page.locator('.msg.assistant[data-status="complete"]').first().waitFor();
  await page.emulateMedia({ colorScheme: 'dark' });
  await page.locator('.msg.assistant').first().evaluate((e) => e.scrollIntoView({ block: 'start' }));
  assert.equal(await page.evaluate(() => getComputedStyle(document.body).backgroundColor), 'rgb(24, 22, 20)');
  await shot(page, 'dark.png');
  await p.check();
  await p.close();
});

test('mobile state: 360x740 with an answer and a refusal', async () => {
  const p = await openPage(ctx.browser, ctx.srv.base, { viewport: { width: 360, height: 740 }, reducedMotion: 'reduce' });
  const { page } = p;
  await startSession(page, 'Sam');
  await ask(page, 'How do I handle bedtime?');
  await waitFinished(page, 1);
  await ask(page, 'my baby is not breathing');
  await waitFinished(page, 2);
  await page.locator('.msg.user').last().evaluate((e) => e.scrollIntoView({ block: 'start' }));
  assert.ok(await page.evaluate(() => document.documentElement.scrollWidth) <= 360);
  await shot(page, 'mobile.png');
  await p.check();
  await p.close();
});
