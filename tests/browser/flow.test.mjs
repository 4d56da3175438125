// The parent's main path in real Chromium against the real coachd (grounded
// engine, paced at 40 ms a word so streaming can be watched): start a
// session, watch an answer stream, stop one, reload, delete, and do it all
// with the keyboard only.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import {
  browserSuite, api, openPage, startSession, ask, waitFinished, lastAnswer, answerText, answerWithMarks,
  sessionIdOf, savedSession, gate, STREAM_GLOB,
} from './helpers.mjs';

const ctx = browserSuite(['--pace-ms', '40']);

test('start session: the welcome view, then the chat, remembered by id', async () => {
  const p = await openPage(ctx.browser, ctx.srv.base);
  const { page } = p;
  await page.locator('#start-view').waitFor();
  assert.equal(await page.locator('#chat-view').isVisible(), false);
  assert.equal(await page.locator('#delete-btn').isVisible(), false);
  assert.match(await page.locator('footer').innerText(),
    /General guidance, not medical advice\. In an emergency, call your local emergency number\./);
  assert.equal(await sessionIdOf(page), null);

  await startSession(page, 'Robin');
  assert.match(await page.locator('#chat-title').innerText(), /Hi, Robin\./);
  const id = await sessionIdOf(page);
  assert.match(id, /^[A-Za-z0-9_-]{16,}$/);
  const s = await api(ctx.srv.base, 'GET', '/api/coach/sessions/' + id);
  assert.equal(s.status, 200);
  assert.equal(s.json.parent_name, 'Robin');
  assert.equal(await page.evaluate(() => document.activeElement.id), 'question');
  assert.equal(await page.locator('#delete-btn').isVisible(), false, 'nothing to delete yet');
  await ask(page, 'How do I handle bedtime?');
  await waitFinished(page);
  assert.equal(await page.locator('#delete-btn').isVisible(), true);
  await p.check();
  await p.close();
});

test('bedtime answer: dots, then growing text with a cursor, then a cited answer', async () => {
  const p = await openPage(ctx.browser, ctx.srv.base);
  const { page } = p;
  await startSession(page);
  const hold = gate();
  await page.route(STREAM_GLOB, async (route) => { await hold.wait; await route.continue(); });

  await ask(page, 'How do I handle bedtime?');
  const ans = lastAnswer(page);
  await ans.locator('.dots').waitFor();
  assert.equal(await ans.getAttribute('data-status'), 'waiting');
  assert.equal(await page.locator('#question').isDisabled(), false, 'the box stays usable while answering');
  assert.equal(await page.locator('#stop-btn').isVisible(), true);
  assert.equal(await page.locator('.msg.user .user-text').last().innerText(), 'How do I handle bedtime?');
  hold.open();

  await ans.locator('.answer .cursor').waitFor();
  await page.waitForFunction(() => {
    const m = [...document.querySelectorAll('.msg.assistant')].pop();
    return !!m && m.dataset.status === 'streaming' && m.querySelector('.answer').textContent.split(' ').length > 8;
  });
  const partial = await answerText(ans);
  assert.ok(partial.length > 0);
  assert.equal(await ans.locator('.dots').count(), 0, 'dots gone after the first chunk');
  assert.equal(await ans.getAttribute('aria-busy'), 'true');

  assert.equal(await waitFinished(page), 'complete');
  const final = await answerText(ans);
  assert.ok(final.length > partial.length, 'the text grew');
  assert.ok(final.startsWith(partial.split('\n')[0]), 'the partial text was the start of the answer');
  assert.equal(await ans.locator('.cursor').count(), 0, 'no cursor when done');
  assert.equal(await page.locator('#question').isDisabled(), false);
  assert.equal(await page.locator('#stop-btn').isVisible(), false);

  const saved = await savedSession(ctx.srv.base, page);
  const msg = saved.messages.at(-1);
  assert.equal(msg.status, 'complete');
  assert.ok(msg.citations.length >= 1);
  const badges = ans.locator('a.badge');
  assert.equal(await badges.count(), msg.citations.length);
  const c1 = msg.citations[0];
  const b1 = badges.first();
  assert.equal(await b1.getAttribute('href'), c1.url);
  assert.equal(await b1.getAttribute('target'), '_blank');
  assert.equal(await b1.getAttribute('rel'), 'noopener noreferrer');
  assert.equal(await b1.getAttribute('title'), `${c1.source}: ${c1.title}`);
  assert.match(await b1.locator('.badge-text').innerText(), new RegExp(`^\\[${c1.id}\\] ${c1.source}$`));
  assert.equal(await b1.evaluate((e) => getComputedStyle(e).backgroundColor), 'rgb(29, 78, 216)',
    'badges are blue');
  // [n] markers are superscript links to their badge
  const ref = ans.locator('sup.ref a').first();
  const target = (await ref.getAttribute('href')).slice(1);
  assert.equal(await ans.locator(`[id="${target}"]`).getAttribute('href'), c1.url);
  // Markdown became a list and bold text, with no literal ** left
  assert.equal(await ans.locator('.answer ol li').count(), 3);
  assert.ok(await ans.locator('.answer strong').count() >= 1);
  assert.ok(!final.includes('**'));
  // hover shows source and title
  await b1.hover();
  assert.equal(await ans.locator('.cite-detail').innerText(), `${c1.source} — ${c1.title}`);
  // the screen-reader region got whole sentences, not tokens
  const spoken = await page.locator('#announcer span').allInnerTexts();
  assert.ok(spoken.length >= 3);
  assert.ok(spoken.every((s) => /[.!?:]\s*$/.test(s.trim()) || s === spoken.at(-1)), spoken.join('|'));
  assert.ok(!spoken.join(' ').includes('[1]'));
  await p.check();
  await p.close();
});

test('stop mid-answer: stopped status, partial text kept (live, saved and after reload)', async () => {
  const p = await openPage(ctx.browser, ctx.srv.base);
  const { page } = p;
  await startSession(page);
  await ask(page, 'My toddler has tantrums every day, what can I do?');
  const ans = lastAnswer(page);
  await page.waitForFunction(() => {
    const m = [...document.querySelectorAll('.msg.assistant')].pop();
    /* the assistant bubble may not exist yet at the first poll */
    return !!m && m.dataset.status === 'streaming' && m.querySelector('.answer').textContent.split(' ').length > 5;
  });
  await page.click('#stop-btn');
  assert.equal(await waitFinished(page), 'stopped');
  const kept = await answerText(ans);
  assert.ok(kept.length > 0, 'partial text kept');
  assert.match(await ans.locator('.note').innerText(), /Stopped/);
  assert.equal(await page.locator('#question').isDisabled(), false);

  const saved = (await savedSession(ctx.srv.base, page)).messages.at(-1);
  assert.equal(saved.status, 'stopped');
  assert.ok(saved.content.length > 0);

  await page.reload();
  await page.locator('#chat-view').waitFor();
  const again = lastAnswer(page);
  assert.equal(await again.getAttribute('data-status'), 'stopped');
  assert.match(await again.locator('.note').innerText(), /Stopped/);
  assert.equal(await answerText(again), kept);
  await p.check();
  await p.close();
});

test('reload restores the conversation from the server', async () => {
  const p = await openPage(ctx.browser, ctx.srv.base);
  const { page } = p;
  await startSession(page, 'Alex');
  await ask(page, 'How many naps does a toddler need?');
  assert.equal(await waitFinished(page), 'complete');
  const before = await answerText(lastAnswer(page));
  const nBadges = await lastAnswer(page).locator('a.badge').count();
  assert.ok(nBadges >= 1);
  const id = await sessionIdOf(page);

  await page.reload();
  await page.locator('#chat-view').waitFor();
  assert.equal(await sessionIdOf(page), id);
  assert.match(await page.locator('#chat-title').innerText(), /Hi, Alex\./);
  assert.deepEqual(await page.locator('.msg.user .user-text').allInnerTexts(), ['How many naps does a toddler need?']);
  assert.equal(await page.locator('.msg.assistant').count(), 1);
  assert.equal(await answerText(lastAnswer(page)), before);
  assert.equal(await lastAnswer(page).locator('a.badge').count(), nBadges);
  await p.check();
  await p.close();
});

test('reload while an answer streams resumes it without duplicated text', async () => {
  const p = await openPage(ctx.browser, ctx.srv.base);
  const { page } = p;
  await startSession(page);
  await ask(page, 'How do I handle bedtime?');
  await page.waitForFunction(() => {
    const m = [...document.querySelectorAll('.msg.assistant')].pop();
    /* the assistant bubble may not exist yet at the first poll */
    return !!m && m.dataset.status === 'streaming' && m.querySelector('.answer').textContent.split(' ').length > 5;
  });
  await page.reload();
  await page.locator('#chat-view').waitFor();
  assert.equal(await waitFinished(page), 'complete');
  const live = await answerText(lastAnswer(page));
  const saved = (await savedSession(ctx.srv.base, page)).messages.at(-1);
  assert.equal(saved.status, 'complete');
  await page.reload();
  await page.locator('#chat-view').waitFor();
  assert.equal(await answerText(lastAnswer(page)), live, 'resumed text equals the saved answer');
  const first = saved.content.split('\n')[0];
  const marked = await answerWithMarks(lastAnswer(page));
  assert.equal(marked.split(first).length - 1, 1, 'the opening line appears once');
  await p.check();
  await p.close();
});

test('delete conversation: confirm dialog, DELETE, back to the start view', async () => {
  const p = await openPage(ctx.browser, ctx.srv.base);
  const { page } = p;
  await startSession(page);
  await ask(page, 'How can I help my child with picky eating?');
  await waitFinished(page);
  const id = await sessionIdOf(page);

  await page.click('#delete-btn');
  await page.locator('#confirm-dialog').waitFor();
  assert.equal(await page.locator('#confirm-dialog').evaluate((d) => d.open), true);
  await page.click('#confirm-cancel');
  assert.equal(await page.locator('#confirm-dialog').isVisible(), false);
  assert.equal((await api(ctx.srv.base, 'GET', '/api/coach/sessions/' + id)).status, 200, 'kept');

  await page.click('#delete-btn');
  await page.click('#confirm-ok');
  await page.locator('#start-view').waitFor();
  assert.equal(await page.locator('#chat-view').isVisible(), false);
  assert.equal(await sessionIdOf(page), null);
  assert.equal(await page.locator('.msg').count(), 0);
  assert.equal((await api(ctx.srv.base, 'GET', '/api/coach/sessions/' + id)).status, 404);
  await page.reload();
  await page.locator('#start-view').waitFor();
  await p.check();
  await p.close();
});

test('a session deleted elsewhere: the page forgets it and shows the start view', async () => {
  const p = await openPage(ctx.browser, ctx.srv.base);
  const { page } = p;
  await startSession(page);
  const id = await sessionIdOf(page);
  assert.equal((await api(ctx.srv.base, 'DELETE', '/api/coach/sessions/' + id)).status, 204);
  await page.reload();
  await page.locator('#start-view').waitFor();
  assert.equal(await sessionIdOf(page), null);
  await p.check();
  await p.close();
});

test('keyboard only: Tab to fields, Enter to start and send, Shift+Enter for a new line', async () => {
  const p = await openPage(ctx.browser, ctx.srv.base);
  const { page } = p;
  await page.locator('#start-view').waitFor();
  await page.keyboard.press('Tab');
  assert.equal(await page.evaluate(() => document.activeElement.id), 'skip-link', 'a skip link comes first');
  await page.keyboard.press('Tab');
  assert.equal(await page.evaluate(() => document.activeElement.id), 'parent-name');
  await page.keyboard.type('Jo');
  await page.keyboard.press('Tab');
  assert.equal(await page.evaluate(() => document.activeElement.id), 'start-btn');
  const ring = await page.evaluate(() => {
    const s = getComputedStyle(document.activeElement);
    return s.outlineStyle + ' ' + s.outlineWidth;
  });
  assert.equal(ring, 'solid 3px', 'focus is visible');
  await page.keyboard.press('Enter');
  await page.locator('#chat-view').waitFor();
  assert.equal(await page.evaluate(() => document.activeElement.id), 'question');

  await page.keyboard.type('Bedtime is hard.');
  await page.keyboard.press('Shift+Enter');
  await page.keyboard.type('How do I handle bedtime?');
  assert.equal(await page.inputValue('#question'), 'Bedtime is hard.\nHow do I handle bedtime?');
  assert.equal(await page.locator('.msg').count(), 0, 'Shift+Enter did not send');
  await page.keyboard.press('Enter');
  await page.locator('.msg.user').waitFor();
  assert.equal(await page.evaluate(() => document.activeElement.id), 'question',
    'focus stays in the box while the answer streams');
  await page.keyboard.press('Enter');        // Enter on the now empty box: nothing
  assert.equal(await waitFinished(page), 'complete');
  assert.equal(await page.locator('.msg.user .user-text').innerText(), 'Bedtime is hard.\nHow do I handle bedtime?');
  assert.equal(await page.evaluate(() => document.activeElement.id), 'question', 'focus returns');

  // every control is reachable: Tab from the question reaches the badges
  // (Shift+Tab backwards through the answer), and the delete button
  const seen = new Set();
  for (let i = 0; i < 30; i++) {
    await page.keyboard.press('Shift+Tab');
    seen.add(await page.evaluate(() => document.activeElement.className || document.activeElement.id));
  }
  assert.ok(seen.has('badge'), [...seen].join(','));
  assert.ok(seen.has('link-btn'), [...seen].join(','));
  await page.focus('a.badge');
  assert.match(await lastAnswer(page).locator('.cite-detail').innerText(), / — /);
  await p.check();
  await p.close();
});

test('a question over 2,000 characters: the server message is shown and the text kept', async () => {
  const p = await openPage(ctx.browser, ctx.srv.base);
  const { page } = p;
  await startSession(page);
  const long = 'Why does my child '.repeat(130);
  await ask(page, long);
  await page.locator('#ask-error').filter({ hasText: /2,000 characters/ }).waitFor();
  assert.equal(await page.inputValue('#question'), long);
  assert.equal(await page.locator('.msg').count(), 0);
  assert.equal(await page.locator('#question').isDisabled(), false);

  await page.fill('#question', '   ');
  const posts = [];
  page.on('request', (r) => { if (r.method() === 'POST') posts.push(r.url()); });
  await page.press('#question', 'Enter');
  await page.click('#send-btn');
  await page.waitForTimeout(100);
  assert.deepEqual(posts, [], 'an empty box sends nothing');
  assert.equal(await page.locator('.msg').count(), 0);
  await p.check();
  await p.close();
});
