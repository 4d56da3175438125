// The chat habits parents bring from other chat apps (issue 18), each at a
// desktop and a phone size: typing while an answer streams, no jumping,
// Esc, conversations (new, list, reopen, delete), a second tab following
// live, copy, ask again, suggestions, time stamps, feedback, the docked
// box and one-line header, dark mode (axe clean in both schemes), print,
// the skip link and Tab stops. The controls are found by the accessible
// names the reviewers use. Real coachd (grounded engine, 20 ms a word).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  browserSuite, api, openPage, startSession, ask, waitFinished, lastAnswer, answerText,
  sessionIdOf, savedSession, axeScan, noHorizontalScroll,
} from './helpers.mjs';

const ctx = browserSuite(['--pace-ms', '20']);

const SIZES = [
  { name: 'desktop', viewport: { width: 1000, height: 800 } },
  { name: 'phone', viewport: { width: 360, height: 740 } },
];

const LONG_Q = 'My toddler has tantrums every day, what can I do?';

const streamingWords = (page, n) => page.waitForFunction((k) => {
  const m = [...document.querySelectorAll('.msg.assistant')].pop();
  return m && m.dataset.status === 'streaming' && m.querySelector('.answer').textContent.split(' ').length > k;
}, n);

const box = (page) => page.getByRole('textbox', { name: 'Your question' });
const btn = (page, name) => page.getByRole('button', { name, exact: true });
const convList = (page) => page.getByRole('list', { name: 'Conversations' });
const activeId = (page) => page.evaluate(() => document.activeElement && document.activeElement.id);

function cancels(page) {
  const out = [];
  page.on('request', (r) => { if (r.url().endsWith('/cancel')) out.push(r.url()); });
  return out;
}

for (const size of SIZES) {
  const open = (opts = {}) => openPage(ctx.browser, ctx.srv.base, { viewport: size.viewport, ...opts });

  test(`${size.name}: the names reviewers use each find one control`, async () => {
    const p = await open();
    const { page } = p;
    await startSession(page);
    assert.equal(await page.getByRole('textbox', { name: 'Your question' }).count(), 1);
    assert.equal(await page.getByRole('button', { name: 'Send' }).count(), 1);
    assert.equal(await page.getByRole('button', { name: 'New conversation' }).count(), 1);
    await ask(page, 'How do I handle bedtime battles?');
    await streamingWords(page, 3);
    assert.equal(await page.getByRole('button', { name: 'Stop' }).count(), 1, 'Stop is one button');
    await waitFinished(page);
    assert.equal(await page.getByRole('button', { name: 'Copy' }).count(), 1);
    if (size.name === 'phone') {
      assert.equal(await page.getByRole('list', { name: 'Conversations' }).count(), 0, 'folded away');
      await page.getByRole('button', { name: 'Conversations' }).click();
    }
    assert.equal(await page.getByRole('list', { name: 'Conversations' }).count(), 1);
    await p.check();
    await p.close();
  });

  test(`${size.name}: typing during an answer keeps it streaming; a question sent meanwhile waits`, async () => {
    const p = await open();
    const { page } = p;
    const stops = cancels(page);
    await startSession(page);
    await ask(page, LONG_Q);
    await streamingWords(page, 5);
    assert.equal(await box(page).isEnabled(), true, 'the box is usable');
    assert.equal(await activeId(page), 'question', 'focus stays in the box');
    await page.keyboard.type('And what about naps?');
    assert.equal(await box(page).inputValue(), 'And what about naps?', 'the typing lands in the box');
    await page.keyboard.press('Enter');                 // sent during the answer: it waits
    await page.locator('#queued').waitFor();
    assert.match(await page.locator('#queued').innerText(), /And what about naps\?/);
    assert.equal(await box(page).inputValue(), '');
    await page.keyboard.press('Enter');                 // Enter on the empty box: nothing
    await page.keyboard.press('Enter');
    assert.equal(await lastAnswer(page).getAttribute('data-status'), 'streaming', 'not stopped');
    assert.equal(await page.locator('.msg.assistant').count(), 1);
    // the first answer completes, then the waiting question is asked
    await page.locator('.msg.user').nth(1).waitFor();
    assert.equal(await page.locator('.msg.assistant').first().getAttribute('data-status'), 'complete');
    assert.equal(await waitFinished(page, 2), 'complete');
    assert.deepEqual(await page.locator('.msg.user .user-text').allInnerTexts(), [LONG_Q, 'And what about naps?']);
    assert.equal(await page.locator('#queued').isVisible(), false);
    assert.deepEqual(stops, [], 'nothing was stopped');
    await p.check();
    await p.close();
  });

  test(`${size.name}: Esc stops an answer; "Ask now instead" stops it and asks; Cancel gives the text back`, async () => {
    const p = await open();
    const { page } = p;
    await startSession(page);
    await ask(page, LONG_Q);
    await streamingWords(page, 5);
    await page.keyboard.press('Escape');
    assert.equal(await waitFinished(page, 1), 'stopped');
    assert.equal(await activeId(page), 'question');

    await ask(page, 'How do I handle bedtime battles?');
    await streamingWords(page, 3);
    await box(page).fill('Is this normal?');
    await box(page).press('Enter');
    await page.locator('#queued').waitFor();
    await btn(page, 'Cancel').click();
    assert.equal(await box(page).inputValue(), 'Is this normal?', 'the question is back in the box');
    await box(page).press('Enter');
    await btn(page, 'Ask now instead').click();
    assert.equal(await waitFinished(page, 3), 'complete');
    assert.equal(await page.locator('.msg.assistant').nth(1).getAttribute('data-status'), 'stopped');
    assert.deepEqual(await page.locator('.msg.user .user-text').allInnerTexts(),
      [LONG_Q, 'How do I handle bedtime battles?', 'Is this normal?']);
    await p.check();
    await p.close();
  });

  test(`${size.name}: no jump — follows only at the bottom, "Jump to latest" otherwise`, async () => {
    const p = await open();
    const { page } = p;
    await startSession(page);
    await ask(page, 'How do I handle bedtime battles?');
    await waitFinished(page, 1);
    await ask(page, LONG_Q);
    await streamingWords(page, 3);
    // at the bottom: the page follows the answer
    await streamingWords(page, 25);
    assert.ok(await page.evaluate(() => innerHeight + scrollY >= document.documentElement.scrollHeight - 90), 'following');
    // the parent scrolls up to reread, and focuses a source of the first answer
    await page.locator('.msg.assistant').first().locator('a.badge').first().focus();
    await page.evaluate(() => window.scrollTo(0, 0));
    await page.waitForTimeout(50);
    const before = await answerText(lastAnswer(page));
    await page.waitForFunction((n) => [...document.querySelectorAll('.msg.assistant')].pop()
      .querySelector('.answer').textContent.length > n + 40, before.length);
    assert.equal(await page.evaluate(() => scrollY), 0, 'no scrolling while away');
    await btn(page, 'Jump to latest ↓').or(page.getByRole('button', { name: 'Jump to latest' })).waitFor();
    assert.equal(await waitFinished(page, 2), 'complete');
    await page.waitForTimeout(100);
    assert.equal(await page.evaluate(() => scrollY), 0, 'no jump when it ends');
    assert.equal(await page.evaluate(() => document.activeElement.className), 'badge', 'focus not moved');
    await page.getByRole('button', { name: 'Jump to latest' }).click();
    assert.ok(await page.evaluate(() => innerHeight + scrollY >= document.documentElement.scrollHeight - 2));
    assert.equal(await page.getByRole('button', { name: 'Jump to latest' }).isVisible(), false);
    await p.check();
    await p.close();
  });

  test(`${size.name}: an emergency refusal's call buttons are on screen when it arrives`, async () => {
    const p = await open();
    const { page } = p;
    await startSession(page);
    await ask(page, LONG_Q);
    await waitFinished(page, 1);
    await page.evaluate(() => window.scrollTo(0, 0));
    await ask(page, 'my baby is not breathing');
    assert.equal(await waitFinished(page, 2), 'complete');
    const call = lastAnswer(page).locator('.refusal.urgent a.call').first();
    const r = await call.boundingBox();
    const dockTop = await page.locator('#ask-form').evaluate((e) => e.getBoundingClientRect().top);
    assert.ok(r.y >= 0 && r.y + r.height <= dockTop, `call button at ${r.y}-${r.y + r.height}, box at ${dockTop}`);
    const label = await lastAnswer(page).locator('.urgent-label').boundingBox();
    assert.ok(label.y >= 0, 'the CALL NOW line is on screen too: ' + label.y);
    assert.match(await call.getAttribute('href'), /^tel:\d+$/);
    await p.check();
    await p.close();
  });

  test(`${size.name}: New conversation, the Conversations list, reopen and delete`, async () => {
    const p = await open();
    const { page } = p;
    await startSession(page);
    await ask(page, 'How many naps does a toddler need?');
    await waitFinished(page, 1);
    const first = await sessionIdOf(page);
    await page.getByRole('button', { name: 'New conversation' }).click();
    await page.waitForFunction((id) => localStorage.getItem('coach.session') !== id, first);
    assert.equal(await page.locator('.msg').count(), 0, 'an empty conversation');
    const sugg = page.locator('#suggestions button');
    assert.ok((await sugg.count()) >= 4 && (await sugg.count()) <= 6);
    assert.equal(await btn(page, 'Delete this conversation').isVisible(), false, 'nothing to delete yet');
    // the list shows the first conversation, titled by its first question
    assert.equal(await convList(page).isVisible(), true);
    assert.deepEqual(await convList(page).getByRole('link').allInnerTexts(), ['How many naps does a toddler need?']);
    await ask(page, 'How do I handle bedtime battles?');
    await waitFinished(page, 1);
    const second = await sessionIdOf(page);
    if (size.name === 'phone') {
      assert.equal(await convList(page).isVisible(), false, 'folded away on a phone while chatting');
      await page.getByRole('button', { name: 'Conversations' }).click();
    }
    assert.deepEqual(await convList(page).getByRole('link').allInnerTexts(),
      ['How do I handle bedtime battles?', 'How many naps does a toddler need?']);
    // reopen the first from the server
    await convList(page).getByRole('link', { name: 'How many naps does a toddler need?' }).click();
    await page.waitForFunction((id) => localStorage.getItem('coach.session') === id, first);
    await page.locator('.msg.assistant[data-status="complete"]').waitFor();
    assert.deepEqual(await page.locator('.msg.user .user-text').allInnerTexts(), ['How many naps does a toddler need?']);
    // delete the second from the list
    if (size.name === 'phone') await page.getByRole('button', { name: 'Conversations' }).click();
    await convList(page).getByRole('listitem').filter({ hasText: 'bedtime battles' })
      .getByRole('button', { name: 'Delete' }).click();
    await page.locator('#confirm-dialog').waitFor();
    await page.click('#confirm-ok');
    await page.waitForFunction(() => document.querySelectorAll('#history-list li').length === 1);
    assert.equal((await api(ctx.srv.base, 'GET', '/api/coach/sessions/' + second)).status, 404);
    assert.equal(await sessionIdOf(page), first, 'still in the open conversation');
    const notice = page.locator('#chat-notice');
    assert.match(await notice.innerText(), /deleted/);
    assert.equal(await notice.getAttribute('role'), 'status');
    assert.notEqual(await notice.evaluate((e) => getComputedStyle(e).color), 'rgb(176, 28, 28)', 'not styled as an error');
    // kept in this browser across reloads
    await page.reload();
    await page.locator('#chat-view').waitFor();
    assert.deepEqual(JSON.parse(await page.evaluate(() => localStorage.getItem('coach.conversations'))).map((c) => c.id), [first]);
    await p.check();
    await p.close();
  });

  test(`${size.name}: a second tab shows new questions and answers live`, async () => {
    const a = await open();
    await startSession(a.page);
    const b = await a.ctx.newPage();
    const bErrors = [];
    b.on('pageerror', (e) => bErrors.push(String(e)));
    await b.setViewportSize(size.viewport);
    await b.goto(ctx.srv.base + '/');
    await b.locator('#chat-view').waitFor();
    await b.waitForTimeout(200);                          // its event stream is open
    await ask(a.page, LONG_Q);
    await b.locator('.msg.user .user-text', { hasText: LONG_Q }).waitFor();
    await b.waitForFunction(() => {
      const m = document.querySelector('.msg.assistant');
      return m && m.dataset.status === 'streaming' && m.querySelector('.answer').textContent.length > 10;
    });
    assert.equal(await waitFinished(b, 1), 'complete');
    assert.equal(await waitFinished(a.page, 1), 'complete');
    assert.equal(await answerText(lastAnswer(b)), await answerText(lastAnswer(a.page)));
    assert.equal(await b.locator('.msg.user').count(), 1);
    // deleted in one tab: the other says so
    await a.page.click('#delete-btn');
    await a.page.click('#confirm-ok');
    await b.locator('#start-view').waitFor();
    assert.match(await b.locator('#start-notice').innerText(), /deleted/);
    assert.deepEqual(bErrors, []);
    await a.check();
    await a.close();
  });

  test(`${size.name}: Copy (text and sources), Ask again on the last answer, time stamps`, async () => {
    const p = await open({ permissions: ['clipboard-read', 'clipboard-write'] });
    const { page } = p;
    await startSession(page);
    await ask(page, 'How do I handle bedtime battles?');
    await waitFinished(page, 1);
    const saved = (await savedSession(ctx.srv.base, page)).messages.at(-1);
    await page.getByRole('button', { name: 'Copy' }).click();
    await page.getByRole('button', { name: 'Copied' }).waitFor();
    const clip = await page.evaluate(() => navigator.clipboard.readText());
    assert.ok(clip.startsWith(saved.content.split('\n')[0].replace(/\*\*/g, '')), clip.slice(0, 80));
    assert.match(clip, /\nSources:\n\[1\] /);
    assert.ok(clip.includes(saved.citations[0].url));
    assert.equal(clip.includes('**'), false);

    // time stamps on every message
    const stamps = await page.locator('.msg time').evaluateAll((ts) => ts.map((t) => t.dateTime));
    assert.equal(stamps.length, 2);
    for (const s of stamps) assert.ok(Math.abs(Date.parse(s) - Date.now()) < 10 * 60 * 1000, s);

    await ask(page, 'What about naps?');
    await waitFinished(page, 2);
    assert.equal(await page.getByRole('button', { name: 'Ask again' }).count(), 1, 'only on the last answer');
    const lastId = (await savedSession(ctx.srv.base, page)).messages.at(-1).id;
    await page.getByRole('button', { name: 'Ask again' }).click();
    await page.waitForFunction(() => [...document.querySelectorAll('.msg.assistant')].pop().dataset.status !== 'complete');
    await page.waitForFunction(() => document.querySelectorAll('.msg.assistant').length === 2 &&
      [...document.querySelectorAll('.msg.assistant')].pop().dataset.status === 'complete' &&
      [...document.querySelectorAll('.msg.assistant time')].length === 2);
    const after = (await savedSession(ctx.srv.base, page)).messages;
    assert.notEqual(after.at(-1).id, lastId, 'a new answer');
    assert.deepEqual(await page.locator('.msg.user .user-text').allInnerTexts(),
      ['How do I handle bedtime battles?', 'What about naps?'], 'the question is not repeated');
    assert.equal(await page.locator('.msg.assistant').count(), 2);
    await p.check();
    await p.close();
  });

  test(`${size.name}: feedback is saved with the answer and shown after a reload`, async () => {
    const p = await open();
    const { page } = p;
    await startSession(page);
    await ask(page, 'How do I handle bedtime battles?');
    await waitFinished(page, 1);
    await btn(page, 'Not helpful').click();
    await page.getByLabel('What was missing? (optional)').waitFor();
    assert.equal(await activeId(page), 'fb-' + (await savedSession(ctx.srv.base, page)).messages.at(-1).id);
    await page.keyboard.type('It did not mention twins');
    await btn(page, 'Save').click();
    await page.getByLabel('What was missing? (optional)').waitFor({ state: 'hidden' });
    let fb = (await savedSession(ctx.srv.base, page)).messages.at(-1).feedback;
    assert.deepEqual({ helpful: fb.helpful, reason: fb.reason }, { helpful: false, reason: 'It did not mention twins' });
    await page.reload();
    await page.locator('.msg.assistant[data-status="complete"]').waitFor();
    assert.equal(await btn(page, 'Not helpful').getAttribute('aria-pressed'), 'true');
    assert.equal(await btn(page, 'Helpful').getAttribute('aria-pressed'), 'false');
    await btn(page, 'Helpful').click();
    await page.waitForFunction(() => document.querySelector('.fb-yes').getAttribute('aria-pressed') === 'true');
    fb = (await savedSession(ctx.srv.base, page)).messages.at(-1).feedback;
    assert.equal(fb.helpful, true);
    await p.check();
    await p.close();
  });

  test(`${size.name}: suggested questions on an empty conversation are answered with sources`, async () => {
    const p = await open();
    const { page } = p;
    await startSession(page);
    const sugg = page.locator('#suggestions button');
    const n = await sugg.count();
    assert.ok(n >= 4 && n <= 6, String(n));
    const text = await sugg.nth(1).innerText();
    await sugg.nth(1).click();
    assert.equal(await waitFinished(page, 1), 'complete');
    assert.equal(await page.locator('.msg.user .user-text').innerText(), text);
    assert.ok((await lastAnswer(page).locator('a.badge').count()) >= 1);
    assert.equal(await page.locator('#suggestions').isVisible(), false);
    await p.check();
    await p.close();
  });

  test(`${size.name}: the box is docked at the bottom; the header is one line; no sideways scroll`, async () => {
    const p = await open();
    const { page } = p;
    await startSession(page, 'Alexandra');
    await ask(page, LONG_Q);
    await waitFinished(page, 1);
    await ask(page, 'How do I handle bedtime battles?');
    await waitFinished(page, 2);
    const vh = size.viewport.height;
    for (const y of [0, 300, 1e6]) {
      await page.evaluate((to) => window.scrollTo(0, to), y);
      const dock = await page.locator('#dock').boundingBox();
      const form = await page.locator('#ask-form').boundingBox();
      assert.ok(Math.abs(dock.y + dock.height - vh) <= 2, `scrolled to ${y}: dock bottom ${dock.y + dock.height} of ${vh}`);
      assert.ok(form.y >= vh / 2 && form.y + form.height <= vh, `the box is on screen at the bottom (${form.y})`);
    }
    // an empty conversation has it at the bottom too
    await page.getByRole('button', { name: 'New conversation' }).click();
    await page.waitForFunction(() => !document.querySelector('.msg'));
    await page.evaluate(() => window.scrollTo(0, 0));
    const empty = await page.locator('#dock').boundingBox();
    assert.ok(Math.abs(empty.y + empty.height - vh) <= 2, 'empty conversation: dock bottom ' + (empty.y + empty.height));
    await page.evaluate(() => window.scrollTo(0, 300));
    const items = await page.locator('.top-row > *, .top-actions > button:visible').evaluateAll((es) =>
      es.filter((e) => e.offsetParent).map((e) => { const r = e.getBoundingClientRect(); return [r.top, r.bottom]; }));
    const head = await page.locator('header.top').boundingBox();
    assert.ok(head.height <= 64, 'header height ' + head.height);
    const mids = items.map(([t, b]) => (t + b) / 2);
    assert.ok(Math.max(...mids) - Math.min(...mids) < 8, 'one line: ' + JSON.stringify(items));
    assert.ok(await noHorizontalScroll(page) <= size.viewport.width);
    await p.check();
    await p.close();
  });

  test(`${size.name}: axe is clean in light and dark mode (answer, refusal, feedback, queue, list)`, async () => {
    const p = await open();
    const { page } = p;
    await page.locator('#start-view').waitFor();
    for (const scheme of ['light', 'dark']) {
      await page.emulateMedia({ colorScheme: scheme });
      assert.deepEqual(await axeScan(page), [], `start view, ${scheme}`);
    }
    await startSession(page, 'Sam');
    await ask(page, 'How do I handle bedtime battles?');
    await waitFinished(page, 1);
    await page.getByRole('button', { name: 'New conversation' }).click();
    await page.waitForFunction(() => !document.querySelector('.msg'));
    for (const scheme of ['light', 'dark']) {
      await page.emulateMedia({ colorScheme: scheme });
      assert.deepEqual(await axeScan(page), [], `empty conversation with suggestions and list, ${scheme}`);
    }
    await ask(page, 'How do I handle bedtime battles?');
    await waitFinished(page, 1);
    await ask(page, 'my baby is not breathing');
    await waitFinished(page, 2);
    await page.locator('.fb-no').first().click();
    await page.locator('.fb-reason input').first().waitFor();
    await ask(page, LONG_Q);
    await streamingWords(page, 3);
    await box(page).fill('And naps?');
    await box(page).press('Enter');
    await page.locator('#queued').waitFor();
    for (const scheme of ['light', 'dark']) {
      await page.emulateMedia({ colorScheme: scheme });
      assert.deepEqual(await axeScan(page), [], `chat, ${scheme}`);
      const bg = await page.evaluate(() => getComputedStyle(document.body).backgroundColor);
      assert.equal(bg, scheme === 'dark' ? 'rgb(24, 22, 20)' : 'rgb(250, 246, 240)');
    }
    await waitFinished(page, 4);
    await p.check();
    await p.close();
  });

  test(`${size.name}: print shows the conversation with source URLs, without the controls`, async () => {
    const p = await open();
    const { page } = p;
    await startSession(page);
    await ask(page, 'How do I handle bedtime battles?');
    await waitFinished(page, 1);
    const url = (await savedSession(ctx.srv.base, page)).messages.at(-1).citations[0].url;
    await page.emulateMedia({ media: 'print' });
    assert.equal(await page.locator('#dock').isVisible(), false);
    assert.equal(await page.locator('header.top').isVisible(), false);
    assert.equal(await page.locator('.actions').first().isVisible(), false);
    assert.ok((await page.locator('#messages').innerText()).includes(url), 'the source URL is printed');
    assert.equal(await page.locator('.msg.user').isVisible(), true);
    const pdf = await page.pdf({ format: 'A4' });
    assert.ok(pdf.length > 1000);
    await page.emulateMedia({ media: 'screen' });
    assert.equal(await page.locator('.print-url').first().isVisible(), false, 'URLs only in print');
    await p.check();
    await p.close();
  });
}

test('[n] markers are not Tab stops; the sources list is; the skip link goes to the box', async () => {
  const p = await openPage(ctx.browser, ctx.srv.base);
  const { page } = p;
  await startSession(page);
  await ask(page, 'How do I handle bedtime battles?');
  await waitFinished(page, 1);
  const refs = await page.locator('sup.ref a').evaluateAll((as) => as.map((a) => a.tabIndex));
  assert.ok(refs.length >= 2);
  assert.ok(refs.every((t) => t === -1), JSON.stringify(refs));
  const stops = [];
  await page.focus('#question');
  for (let i = 0; i < 25; i++) {
    await page.keyboard.press('Shift+Tab');
    stops.push(await page.evaluate(() => document.activeElement.closest('sup') ? 'ref' : document.activeElement.className));
  }
  assert.ok(stops.includes('badge'), stops.join(','));
  assert.ok(!stops.includes('ref'), stops.join(','));
  // the skip link
  await page.reload();
  await page.locator('#chat-view').waitFor();
  await page.keyboard.press('Tab');
  assert.equal(await activeId(page), 'skip-link');
  assert.ok((await page.locator('#skip-link').boundingBox()).y >= 0, 'visible when focused');
  await page.keyboard.press('Enter');
  assert.equal(await activeId(page), 'question');
  await p.check();
  await p.close();
});
