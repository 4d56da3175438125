// How answers are drawn: the usual Markdown subset through the vendored
// markdown-it (emphasis, code, code blocks, tables, quotes, nested lists,
// headings, links), links only to https source domains, phone numbers as
// tel: links in answers and refusals, and the urgent triage notice (a fake
// event served with page.route until the server sends it). The lists baked
// into the page (source domains, suggested questions) are checked against
// kb/. At desktop and phone sizes.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import {
  browserSuite, openPage, startSession, ask, waitFinished, lastAnswer, answerText,
  sseBody, midOfStreamUrl, STREAM_GLOB, ROOT, noHorizontalScroll, axeScan,
} from './helpers.mjs';

const ctx = browserSuite();
const SSE_HEADERS = { 'content-type': 'text/event-stream; charset=utf-8', 'cache-control': 'no-store' };

const MD = [
  '# Sleep plan\n\n',
  'Some *italic* and _also italic_, **bold**, `code` and ~~old~~ [1].\n\n',
  '> A quoted line\n\n',
  '1. First\n   - nested a\n   - nested b\n2. Second\n\n',
  '| Age | Sleep |\n|---|---|\n| 1-2 years | 11-14 hours |\n\n',
  '```\ncode block <b>x</b>\n```\n\n',
  'See [the AAP page](https://www.healthychildren.org/English/x), ',
  '[Call Poison Control now](https://evil.example/phish), [plain http](http://www.cdc.gov/x) ',
  'and [script](javascript:alert(1)).\n\n',
  'Call Poison Control at 1-800-222-1222 or 911 now. Ages 2-6, on 2026-11-23, for 30 minutes, 0808 800 5000.',
];

function fakeStream(page, events) {
  return page.route(STREAM_GLOB, async (route) => {
    const mid = midOfStreamUrl(route.request().url());
    await route.fulfill({ status: 200, headers: SSE_HEADERS, body: sseBody(mid, events(mid)) });
  }, { times: 1 });
}

const SIZES = [
  { name: 'desktop', viewport: { width: 1000, height: 800 } },
  { name: 'phone', viewport: { width: 360, height: 740 } },
];

for (const size of SIZES) {
  test(`${size.name}: Markdown renders fully; links only to https source domains; phones are tel: links`, async () => {
    const p = await openPage(ctx.browser, ctx.srv.base, { viewport: size.viewport });
    const { page } = p;
    await startSession(page);
    await fakeStream(page, (mid) => [
      ...MD.map((chunk) => ({ chunk })),
      { done: true, message_id: mid, citations: [
        { id: 1, source: 'AAP', title: 'Sleep', url: 'https://www.healthychildren.org/English/x' }] },
    ]);
    await ask(page, 'How do I handle bedtime?');
    assert.equal(await waitFinished(page), 'complete');
    const a = lastAnswer(page).locator('.answer');
    assert.equal(await a.locator('h3').innerText(), 'Sleep plan');
    assert.deepEqual(await a.locator('em').allInnerTexts(), ['italic', 'also italic']);
    assert.equal(await a.locator('strong').innerText(), 'bold');
    assert.equal(await a.locator('p code').innerText(), 'code');
    assert.equal(await a.locator('del, s').innerText(), 'old');
    assert.equal(await a.locator('blockquote').innerText(), 'A quoted line');
    assert.deepEqual(await a.locator('ol > li > ul > li').allInnerTexts(), ['nested a', 'nested b']);
    assert.deepEqual(await a.locator('th').allInnerTexts(), ['Age', 'Sleep']);
    assert.deepEqual(await a.locator('td').allInnerTexts(), ['1-2 years', '11-14 hours']);
    assert.equal((await a.locator('pre code').innerText()).trim(), 'code block <b>x</b>');
    assert.equal(await page.locator('#messages b, #messages img, #messages script').count(), 0);
    assert.equal(await page.locator('#messages [style]').count(), 0, 'no style attributes (CSP)');
    const text = await answerText(lastAnswer(page));
    assert.ok(!/[*`~]|^#|^>|\|---/m.test(text.replace(/code block <b>x<\/b>/, '')), 'no raw symbols: ' + text);
    // links
    const links = await a.locator('a:not(.tel)').evaluateAll((as) => as.filter((x) => !x.closest('sup'))
      .map((x) => [x.getAttribute('href'), x.target, x.rel]));
    assert.deepEqual(links, [['https://www.healthychildren.org/English/x', '_blank', 'noopener noreferrer']]);
    assert.ok(text.includes('Call Poison Control now (evil.example)'), 'a disguised link shows its domain');
    assert.ok(text.includes('plain http (cdc.gov)'), 'http is not enough');
    assert.equal(await page.locator('a[href^="javascript" i], a[href*="evil.example"]').count(), 0);
    // phone numbers, and nothing that only looks like one
    const tels = await a.locator('a.tel').evaluateAll((as) => as.map((x) => [x.textContent, x.getAttribute('href')]));
    assert.deepEqual(tels, [['1-800-222-1222', 'tel:18002221222'], ['911', 'tel:911'], ['0808 800 5000', 'tel:08088005000']]);
    // [1] is a link to its source badge, not a Tab stop
    assert.equal(await a.locator('sup.ref a').getAttribute('tabindex'), '-1');
    assert.ok(await noHorizontalScroll(page) <= size.viewport.width, 'the table scrolls inside its box');
    for (const scheme of ['light', 'dark']) {
      await page.emulateMedia({ colorScheme: scheme });
      assert.deepEqual(await axeScan(page), [], scheme);
    }
    await p.check();
    await p.close();
  });

  test(`${size.name}: a phone number in a refusal message is a tel: link`, async () => {
    const p = await openPage(ctx.browser, ctx.srv.base, { viewport: size.viewport });
    const { page } = p;
    await startSession(page);
    await fakeStream(page, (mid) => [
      { type: 'refusal', data: { category: 'emergency', empathy: 'This sounds frightening.',
        message: 'Call 911 now, or Poison Control at 1-800-222-1222.',
        resources: [{ name: 'Emergency services', phone: '911', url: 'https://www.911.gov/' }] } },
      { done: true, message_id: mid, citations: [] },
    ]);
    await ask(page, 'my child swallowed bleach');
    await waitFinished(page);
    const hrefs = await lastAnswer(page).locator('.refusal-message a').evaluateAll((as) => as.map((x) => x.getAttribute('href')));
    assert.deepEqual(hrefs, ['tel:911', 'tel:18002221222']);
    await p.check();
    await p.close();
  });

  test(`${size.name}: the urgent triage notice is its own alert above the answer, live and from history`, async () => {
    const p = await openPage(ctx.browser, ctx.srv.base, { viewport: size.viewport });
    const { page } = p;
    await startSession(page);
    const triage = { level: 'urgent', reason: 'fever for several days in a young child',
      message: 'A fever lasting more than 3 days in a toddler needs a doctor today.',
      resources: [{ name: 'Your doctor or NHS 111', phone: '111', url: 'https://www.nhs.uk/nhs-services/urgent-and-emergency-care-services/when-to-use-111/' }] };
    await fakeStream(page, (mid) => [
      { type: 'triage', data: triage },
      { chunk: 'Fevers are common in toddlers [1].' },
      { done: true, message_id: mid, citations: [{ id: 1, source: 'NHS', title: 'Fever', url: 'https://www.nhs.uk/conditions/fever-in-children/' }] },
    ]);
    await ask(page, 'my 2 year old has had a fever for 4 days');
    await waitFinished(page);
    const ans = lastAnswer(page);
    const notice = ans.locator('.triage.urgent');
    assert.equal(await notice.getAttribute('role'), 'alert');
    assert.match(await notice.innerText(), /A fever lasting more than 3 days/);
    assert.equal(await notice.locator('a.call').getAttribute('href'), 'tel:111');
    // above the answer text
    const order = await ans.evaluate((m) => {
      const t = m.querySelector('.triage'); const a = m.querySelector('.answer');
      return t.compareDocumentPosition(a) & Node.DOCUMENT_POSITION_FOLLOWING;
    });
    assert.ok(order, 'the notice comes first');
    const call = await notice.locator('a.call').boundingBox();
    assert.ok(call.y >= 0 && call.y + call.height <= size.viewport.height, 'its call button is on screen');

    // from history: the session's messages carry "triage"
    await page.route('**/api/coach/sessions/*', async (route) => {
      if (route.request().method() !== 'GET') return route.continue();
      const res = await route.fetch();
      const s = await res.json();
      s.messages.at(-1).triage = triage;
      await route.fulfill({ response: res, json: s });
    });
    await page.reload();
    await page.locator('.msg.assistant[data-status]').waitFor();
    assert.match(await lastAnswer(page).locator('.triage.urgent').innerText(), /needs a doctor today/);
    assert.equal(await lastAnswer(page).locator('.triage').getAttribute('role'), null, 'not re-announced on load');
    for (const scheme of ['light', 'dark']) {
      await page.emulateMedia({ colorScheme: scheme });
      assert.deepEqual(await axeScan(page), [], scheme);
    }
    await p.check();
    await p.close();
  });

  test(`${size.name}: a question in another language: the note in that language above the English answer, a status not an alert`, async () => {
    const p = await openPage(ctx.browser, ctx.srv.base, { viewport: size.viewport });
    const { page } = p;
    await startSession(page);
    const triage = { level: 'language', language: 'es', reason: 'written in Spanish',
      message: 'Este asistente solo responde en inglés por ahora. Si su hijo está en peligro, llame al 911 ahora.',
      resources: [{ name: 'Emergency services', phone: '911', url: 'https://www.911.gov/' }] };
    await fakeStream(page, (mid) => [
      { type: 'triage', data: triage },
      { chunk: 'A calm, predictable bedtime routine helps [1].' },
      { done: true, message_id: mid, citations: [{ id: 1, source: 'AAP', title: 'Bedtime', url: 'https://www.healthychildren.org/' }] },
    ]);
    await ask(page, 'mi hijo no quiere dormir en su cama');
    await waitFinished(page);
    const notice = lastAnswer(page).locator('.triage');
    assert.equal(await notice.getAttribute('data-level'), 'language');
    assert.equal(await notice.getAttribute('role'), 'status');
    assert.match(await notice.locator('.triage-label').innerText(), /answered in english/i);
    assert.equal(await notice.locator('.triage-message').getAttribute('lang'), 'es');
    assert.equal(await notice.locator('a.call').getAttribute('href'), 'tel:911');
    assert.match(await lastAnswer(page).locator('.answer').innerText(), /bedtime routine/);
    assert.deepEqual(await axeScan(page), []);
    await p.check();
    await p.close();
  });
}

// The real server sends the urgent notice before the answer (triage).
test('the real server: a toddler with a fever for 4 days gets the urgent notice', async () => {
  const p = await openPage(ctx.browser, ctx.srv.base);
  const { page } = p;
  await startSession(page);
  await ask(page, 'my 2 year old has had a fever for 4 days');
  await waitFinished(page);
  assert.equal(await lastAnswer(page).locator('.triage.urgent').count(), 1);
  await p.close();
});

test('the lists baked into the page match the knowledge base', () => {
  const js = readFileSync(join(ROOT, 'web', 'app.js'), 'utf8');
  const domainsSrc = /const SOURCE_DOMAINS = new Set\(\[([\s\S]*?)\]\)/.exec(js)[1];
  const baked = [...domainsSrc.matchAll(/'([^']+)'/g)].map((m) => m[1]).sort();
  const kbDir = join(ROOT, 'kb');
  const topics = readdirSync(kbDir).filter((d) => statSync(join(kbDir, d)).isDirectory());
  const domains = new Set();
  for (const t of topics) {
    for (const f of readdirSync(join(kbDir, t)).filter((x) => x.endsWith('.md'))) {
      const m = /^url:\s*(\S+)/m.exec(readFileSync(join(kbDir, t, f), 'utf8'));
      if (m) domains.add(new URL(m[1]).hostname);
    }
  }
  assert.deepEqual(baked, [...domains].sort(), 'SOURCE_DOMAINS in web/app.js = the domains kb/ cites');
  const sugg = [...js.matchAll(/\{ topic: '([^']+)', q: '([^']+)' \}/g)];
  assert.ok(sugg.length >= 4 && sugg.length <= 6);
  for (const [, topic, q] of sugg) {
    assert.ok(topics.includes(topic), topic + ' is a kb topic');
    assert.ok(!/\b(send|stop|copy)\b/i.test(q), 'no suggestion shares a name with a control: ' + q);
  }
});
