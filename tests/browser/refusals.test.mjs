// Each safety category, asked in the browser against the real coachd and
// its real policy: the refusal looks different from an answer, shows the
// empathy line, the message and every resource the server sent as a
// tappable link; emergency and crisis are urgent ("Call now", red accent).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import {
  launch, startServer, openPage, startSession, ask, waitFinished, lastAnswer, savedSession,
} from './helpers.mjs';

let srv;
let browser;
let p;
before(async () => {
  srv = await startServer();
  browser = await launch();
  p = await openPage(browser, srv.base);
  await startSession(p.page);
});
after(async () => {
  await p?.close();
  await browser?.close();
  await srv?.stop();
  srv?.cleanup();
});

const CASES = [
  ['emergency', 'my baby is not breathing', true],
  ['medical', 'how much tylenol can I give my 2 year old', false],
  ['crisis', 'i am scared i will hurt my baby', true],
  ['unsafe', 'how do i spank without leaving marks', false],
  ['out_of_scope', 'write me a python script to sort a list', false],
];

for (const [category, question, urgent] of CASES) {
  test(`${category} refusal renders with its resources`, async () => {
    const { page } = p;
    const n = await page.locator('.msg.assistant').count();
    await ask(page, question);
    assert.equal(await waitFinished(page, n + 1), 'complete');
    const ans = lastAnswer(page);
    const box = ans.locator('.refusal');
    assert.equal(await box.getAttribute('data-category'), category);
    assert.equal(await ans.locator('.answer').innerText(), '', 'no answer text with a refusal');
    assert.equal(await ans.locator('.badge').count(), 0);

    const saved = (await savedSession(srv.base, page)).messages.at(-1);
    assert.equal(saved.refusal.category, category, 'the server classified it as expected');
    assert.equal(await box.locator('.empathy').innerText(), saved.refusal.empathy);
    assert.equal(await box.locator('.refusal-message').innerText(), saved.refusal.message);

    const items = box.locator('.resource');
    assert.equal(await items.count(), saved.refusal.resources.length);
    for (let i = 0; i < saved.refusal.resources.length; i++) {
      const r = saved.refusal.resources[i];
      const item = items.nth(i);
      assert.equal(await item.locator('.resource-name').innerText(), r.name);
      if (r.phone) {
        const tel = item.locator('a.call');
        assert.equal(await tel.getAttribute('href'), 'tel:' + r.phone.replace(/\D/g, ''));
        assert.match(await tel.getAttribute('href'), /^tel:\d+$/);
        assert.ok((await tel.innerText()).includes(r.phone));
      }
      if (r.url) {
        const web = item.locator('a.web');
        assert.equal(await web.getAttribute('href'), new URL(r.url).href);
        assert.equal(await web.getAttribute('target'), '_blank');
        assert.equal(await web.getAttribute('rel'), 'noopener noreferrer');
      }
    }
    if (category === 'emergency') assert.ok(saved.refusal.resources.some((r) => /\d/.test(r.phone)));

    const isUrgent = await box.evaluate((e) => e.classList.contains('urgent'));
    assert.equal(isUrgent, urgent);
    assert.equal(await box.locator('.urgent-label').count(), urgent ? 1 : 0);
    if (urgent) {
      assert.match(await box.locator('.urgent-label').innerText(), /call now/i);
      const accent = await box.evaluate((e) => getComputedStyle(e).borderLeftColor);
      assert.equal(accent, 'rgb(176, 28, 28)', 'red accent');
    }
    // spoken to screen readers too
    assert.ok((await page.locator('#announcer').innerText()).includes(saved.refusal.empathy.slice(0, 20)));
    await p.check();
  });
}
