// A server crash in the middle of an answer (SIGKILL), then a restart on the
// same port and database: the page reconnects with backoff and a visible
// attempt count, keeps every word it showed, leaves the box usable, marks
// the answer interrupted once the server is back, and Retry replaces the
// failed answer instead of repeating the question. Desktop and phone.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { startServer, launch, openPage, startSession, ask, waitFinished, lastAnswer, answerText } from './helpers.mjs';

let browser;
const servers = [];
after(async () => {
  await browser?.close();
  for (const s of servers) s.cleanup();
});

for (const size of [{ name: 'desktop', viewport: { width: 1000, height: 800 } },
  { name: 'phone', viewport: { width: 360, height: 740 } }]) {
  test(`${size.name}: crash mid-answer, restart: words kept, interrupted, Retry replaces it`, async () => {
    browser ??= await launch();
    const first = await startServer(['--pace-ms', '40']);
    servers.push(first);
    const p = await openPage(browser, first.base, { viewport: size.viewport });
    const { page } = p;
    await startSession(page);
    const q = 'My toddler has tantrums every day, what can I do?';
    await ask(page, q);
    await page.waitForFunction(() => {
      const m = [...document.querySelectorAll('.msg.assistant')].pop();
      return !!m && m.dataset.status === 'streaming' && m.querySelector('.answer').textContent.split(' ').length > 12;
    });
    first.proc.kill('SIGKILL');
    await first.exited;
    const ans = lastAnswer(page);
    await ans.locator('.note', { hasText: /Reconnecting \(attempt 3\)…/ }).waitFor();
    const shown = await answerText(ans);
    assert.ok(shown.split(' ').length > 12, 'the words shown stay');
    assert.equal(await page.getByRole('textbox', { name: 'Your question' }).isEnabled(), true, 'the box is not locked');
    await page.getByRole('textbox', { name: 'Your question' }).fill('typing while it is down');
    assert.equal(await page.getByRole('button', { name: 'Stop', exact: true }).isVisible(), true);

    const second = await startServer(['--pace-ms', '40', '--port', String(first.port), '--db', first.db]);
    servers.push(second);
    assert.equal(await waitFinished(page), 'incomplete');
    assert.equal(await answerText(ans), shown, 'every word shown is kept');
    // The server keeps the words shown before the crash (its event log is
    // stored in batches), so the page takes the saved, incomplete answer:
    // it was interrupted, not refused.
    assert.match(await ans.locator('.error-box').innerText(), /The answer was interrupted\./);
    assert.equal(await ans.locator('.note').isVisible(), false, 'no Reconnecting left');
    assert.equal(await page.locator('#ask-error').innerText(), '', 'no stale error');
    assert.equal(await page.getByRole('textbox', { name: 'Your question' }).inputValue(), 'typing while it is down');

    await ans.getByRole('button', { name: 'Retry' }).click();
    await page.waitForFunction(() => !document.querySelector('.msg.assistant[data-status="incomplete"]'));
    assert.equal(await waitFinished(page), 'complete');
    assert.deepEqual(await page.locator('.msg.user .user-text').allInnerTexts(), [q], 'the question once');
    assert.equal(await page.locator('.msg.assistant').count(), 1, 'the failed answer was replaced');
    await p.check();
    await p.close();
    await second.stop();
  });
}
