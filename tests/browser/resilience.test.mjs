// When things go wrong: an error event and Retry, a dropped stream that
// EventSource resumes (with "Reconnecting..." in between and no duplicated
// text), a stream that answers 204, and hostile content (XSS attempts in
// answer text, citations and refusal resources) that must render as text.
// The real coachd answers; Playwright's page.route rewrites the stream.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import {
  browserSuite, openPage, startSession, ask, waitFinished, lastAnswer, answerText, answerWithMarks,
  savedSession, gate, sseBody, midOfStreamUrl, STREAM_GLOB,
} from './helpers.mjs';

const ctx = browserSuite();

const SSE_HEADERS = { 'content-type': 'text/event-stream; charset=utf-8', 'cache-control': 'no-store' };

test('error event: "The coach could not answer" with Retry, and Retry asks again', async () => {
  const p = await openPage(ctx.browser, ctx.srv.base);
  const { page } = p;
  await startSession(page);
  const posts = [];
  page.on('request', (r) => { if (r.method() === 'POST' && r.url().endsWith('/messages')) posts.push(r.postDataJSON()); });
  await page.route(STREAM_GLOB, async (route) => {
    const mid = midOfStreamUrl(route.request().url());
    await route.fulfill({ status: 200, headers: SSE_HEADERS, body: sseBody(mid, [
      { chunk: 'Bedtime can ' },
      { type: 'error', message: 'The coach could not finish this answer.' },
      { done: true, message_id: mid, citations: [] },
    ]) });
  }, { times: 1 });

  await ask(page, 'How do I handle bedtime?');
  assert.equal(await waitFinished(page), 'incomplete');
  const failed = lastAnswer(page);
  assert.match(await failed.locator('.error-box').innerText(), /The coach could not answer\./);
  assert.match(await failed.locator('.error-box').innerText(), /could not finish this answer/);
  assert.equal(await page.locator('#question').isDisabled(), false);

  await failed.locator('button.retry').click();
  await page.waitForFunction(() => !document.querySelector('.msg.assistant[data-status="incomplete"]'));
  assert.equal(await waitFinished(page), 'complete');
  assert.equal(await page.locator('.msg.assistant').count(), 1, 'Retry replaced the failed answer');
  assert.deepEqual(posts, [{ question: 'How do I handle bedtime?' }, { question: 'How do I handle bedtime?' }]);
  assert.deepEqual(await page.locator('.msg.user .user-text').allInnerTexts(),
    ['How do I handle bedtime?'], 'the question is shown once');
  // and after a reload too (the server keeps both tries; the page shows the last)
  await page.reload();
  await page.locator('#chat-view').waitFor();
  assert.deepEqual(await page.locator('.msg.user .user-text').allInnerTexts(), ['How do I handle bedtime?']);
  assert.equal(await page.locator('.msg.assistant').count(), 1);
  assert.equal(await lastAnswer(page).getAttribute('data-status'), 'complete');
  assert.ok((await lastAnswer(page).locator('a.badge').count()) >= 1);
  assert.equal(await failed.locator('button.retry').count(), 0, 'the used Retry button is gone');
  await p.check();
  await p.close();
});

test('dropped stream: "Reconnecting..." then the answer completes once, resumed by Last-Event-ID', async () => {
  const p = await openPage(ctx.browser, ctx.srv.base);
  const { page } = p;
  await startSession(page);
  const resume = gate();
  const seen = [];
  let cutAt = 0;
  await page.route(STREAM_GLOB, async (route) => {
    seen.push(route.request().url());
    if (seen.length === 1) {
      // the real stream, cut after ten events and without its end
      const res = await route.fetch();
      const frames = (await res.text()).split('\n\n').filter(Boolean);
      const kept = frames.slice(0, 11);            // retry line + 10 events
      cutAt = 10;
      await route.fulfill({ status: 200, headers: SSE_HEADERS, body: kept.join('\n\n') + '\n\n' });
      return;
    }
    await resume.wait;
    await route.continue();
  });

  // Chrome adds Last-Event-ID below the layer page.route sees, so the
  // resumed response itself is checked: it must start after the cut.
  const bodies = [];
  page.on('response', (r) => {
    if (r.url().includes('/stream')) bodies.push(r.text().catch(() => ''));
  });
  await ask(page, 'How do I handle bedtime?');
  const ans = lastAnswer(page);
  await ans.locator('.note', { hasText: /Reconnecting \(attempt 1\)…/ }).waitFor();
  assert.equal(await ans.getAttribute('data-status'), 'streaming', 'not a broken bubble');
  assert.equal(await ans.locator('.error-box').count(), 0);
  assert.ok((await answerText(ans)).length > 0, 'the text so far stays');
  assert.match(await page.locator('#status-announcer').innerText(), /Reconnecting/);
  resume.open();

  assert.equal(await waitFinished(page), 'complete');
  assert.equal(await ans.locator('.note').isVisible(), false, 'Reconnecting note gone');
  const mid = midOfStreamUrl(seen[0]);
  assert.equal(seen.length, 2);
  assert.equal(seen[1], seen[0] + '?last_event_id=' + encodeURIComponent(`${mid}:${cutAt}`),
    'the page reopened the stream after the last event seen');
  const resumed = await bodies[1];
  const firstId = /^id: (.+)$/m.exec(resumed)[1];
  assert.equal(firstId, `${mid}:${cutAt + 1}`, 'the server resumed after the last event seen');
  const live = await answerText(ans);
  const saved = (await savedSession(ctx.srv.base, page)).messages.at(-1);
  assert.equal(saved.status, 'complete');
  await page.reload();
  await page.locator('#chat-view').waitFor();
  assert.equal(await answerText(lastAnswer(page)), live, 'same text as the saved answer: nothing doubled');
  await p.check();
  await p.close();
});

test('a stream that answers 204 (already finished): the saved answer is loaded', async () => {
  const p = await openPage(ctx.browser, ctx.srv.base);
  const { page } = p;
  await startSession(page);
  await page.route(STREAM_GLOB, async (route) => {
    await new Promise((r) => setTimeout(r, 300));      // let the real turn finish
    await route.fulfill({ status: 204, body: '' });
  }, { times: 1 });
  await ask(page, 'How do I handle bedtime?');
  assert.equal(await waitFinished(page), 'complete');
  const saved = (await savedSession(ctx.srv.base, page)).messages.at(-1);
  const ans = lastAnswer(page);
  assert.equal(await ans.locator('a.badge').count(), saved.citations.length);
  assert.ok(saved.citations.length >= 1);
  assert.ok((await answerWithMarks(ans)).startsWith(saved.content.split('\n')[0]), 'the answer opens with the saved opening line');
  await p.check();
  await p.close();
});

test('XSS: hostile answer text and citations render as inert text', async () => {
  const p = await openPage(ctx.browser, ctx.srv.base);
  const { page } = p;
  await startSession(page);
  await page.route(STREAM_GLOB, async (route) => {
    const mid = midOfStreamUrl(route.request().url());
    await route.fulfill({ status: 200, headers: SSE_HEADERS, body: sseBody(mid, [
      { chunk: 'Here is some help [1].\n\n' },
      { chunk: '<img src=x onerror=window.__pwned=1> and ' },
      { chunk: '<script>window.__pwned=1</script>\n\n' },
      { chunk: '[click me](javascript:window.__pwned=1) and ' },
      { chunk: '![](http://evil.example/x.png)\n\n' },
      { chunk: 'tricky \n\ndata: {"done":true}\n\n still text [2]\n\n' },
      { chunk: '**bold** and [a safe link](https://www.cdc.gov/ok) and [another](https://example.org/ok) <a href="javascript:alert(1)">x</a>' },
      { done: true, message_id: mid, citations: [
        { id: 1, source: '<b>AAP</b>', title: '<img src=x onerror=window.__pwned=1>Title', url: 'javascript:alert(1)' },
        { id: 2, source: 'CDC', title: 'Safe <script>window.__pwned=1</script>', url: 'https://www.cdc.gov/x' },
      ] },
    ]) });
  }, { times: 1 });

  await ask(page, 'How do I handle bedtime?');
  assert.equal(await waitFinished(page), 'complete');
  const ans = lastAnswer(page);
  const text = await answerText(ans);
  assert.equal(await page.evaluate(() => window.__pwned), undefined);
  assert.equal(p.requests.filter((u) => u.includes('evil.example')).length, 0, 'no request to evil.example');
  assert.equal(await page.locator('#messages img').count(), 0, 'no images in answers');
  assert.equal(await page.locator('#messages script').count(), 0);
  assert.equal(await page.locator('a[href^="javascript" i]').count(), 0, 'no javascript: links');
  assert.ok(text.includes('<img src=x onerror=window.__pwned=1>'), 'tags shown as text');
  assert.ok(text.includes('<script>window.__pwned=1</script>'));
  assert.ok(text.includes('[click me](javascript:window.__pwned=1)'), 'javascript: link is text');
  assert.ok(text.includes('(evil.example)'), 'an image is at most its domain, as text');
  assert.ok(text.includes('data: {"done":true}') && text.includes('still text'),
    'an SSE-looking chunk is just text and did not end the answer');
  assert.equal(await ans.locator('.answer strong').innerText(), 'bold');
  const safe = ans.locator('.answer a', { hasText: 'a safe link' });
  assert.equal(await safe.getAttribute('href'), 'https://www.cdc.gov/ok');
  assert.equal(await ans.locator('.answer a', { hasText: 'another' }).count(), 0, 'not a source domain: no link');
  assert.ok(text.includes('another (example.org)'));
  assert.equal(await safe.getAttribute('target'), '_blank');
  assert.equal(await safe.getAttribute('rel'), 'noopener noreferrer');

  // citation 1 has a javascript: URL: a badge, but not a link
  const bad = ans.locator('.badge').first();
  assert.equal(await bad.evaluate((e) => e.tagName), 'SPAN');
  assert.equal(await bad.locator('.badge-text').innerText(), '[1] <b>AAP</b>');
  assert.equal(await bad.getAttribute('title'), '<b>AAP</b>: <img src=x onerror=window.__pwned=1>Title');
  const good = ans.locator('a.badge');
  assert.equal(await good.count(), 1);
  assert.equal(await good.getAttribute('href'), 'https://www.cdc.gov/x');
  assert.equal(await ans.locator('b').count(), 0);
  await good.hover();
  assert.equal(await ans.locator('.cite-detail').innerText(), 'CDC — Safe <script>window.__pwned=1</script>');
  assert.equal(await page.evaluate(() => window.__pwned), undefined);
  assert.deepEqual(p.dialogs, [], 'no alert ran');
  await p.check();
  await p.close();
});

test('XSS: a hostile refusal keeps phone links to digits and web links to http(s)', async () => {
  const p = await openPage(ctx.browser, ctx.srv.base);
  const { page } = p;
  await startSession(page);
  await page.route(STREAM_GLOB, async (route) => {
    const mid = midOfStreamUrl(route.request().url());
    await route.fulfill({ status: 200, headers: SSE_HEADERS, body: sseBody(mid, [
      { type: 'refusal', data: {
        category: 'emergency',
        empathy: '<img src=x onerror=window.__pwned=1>',
        message: '<script>window.__pwned=1</script>Call now.',
        resources: [
          { name: '<b>Help</b>', phone: '911"><script>x</script>', url: 'javascript:window.__pwned=1' },
          { name: 'Poison', phone: '+1 (800) 222-1222', url: 'https://www.poison.org/' },
        ],
      } },
      { done: true, message_id: mid, citations: [] },
    ]) });
  }, { times: 1 });
  await ask(page, 'my baby is not breathing');
  assert.equal(await waitFinished(page), 'complete');
  const ans = lastAnswer(page);
  assert.equal(await page.locator('#messages img, #messages script, #messages b').count(), 0);
  assert.equal(await ans.locator('.empathy').innerText(), '<img src=x onerror=window.__pwned=1>');
  const tels = await ans.locator('a[href^="tel:"]').evaluateAll((as) => as.map((a) => a.getAttribute('href')));
  assert.deepEqual(tels, ['tel:911', 'tel:18002221222']);
  const webs = await ans.locator('a.web').evaluateAll((as) => as.map((a) => a.getAttribute('href')));
  assert.deepEqual(webs, ['https://www.poison.org/']);
  assert.equal(await page.locator('a[href^="javascript" i]').count(), 0);
  assert.equal(await page.evaluate(() => window.__pwned), undefined);
  await p.check();
  await p.close();
});

test('the question goes in the POST body, never in a URL', async () => {
  const p = await openPage(ctx.browser, ctx.srv.base);
  const { page } = p;
  await startSession(page);
  await ask(page, 'How do I handle bedtime secretword?');
  await waitFinished(page);
  const leaked = p.requests.filter((u) => /secretword|bedtime/i.test(u));
  assert.deepEqual(leaked, []);
  assert.equal(p.requests.filter((u) => u.includes('/api/coach/stream/')).length, 0, 'seed endpoint unused');
  await p.check();
  await p.close();
});
