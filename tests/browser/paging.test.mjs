// Long conversations come in pages (issue 16): the page shows the newest 50
// messages, and "Show earlier messages" puts the older ones above them, in
// order, without moving what the parent was reading.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { browserSuite, openPage, api } from './helpers.mjs';

const s = browserSuite();

test('a 60-message conversation: newest 50 first, the rest on demand', async () => {
  const { base } = s.srv;
  const sid = (await api(base, 'POST', '/api/coach/sessions', {})).json.session_id;
  for (let i = 1; i <= 30; i++) {
    const r = await api(base, 'POST', `/api/coach/sessions/${sid}/messages`,
      { question: `Question ${i}: how do I handle bedtime?` });
    assert.equal(r.status, 202);
    await api(base, 'GET', r.json.stream_url);          // read to the end: answered
  }
  const p = await openPage(s.browser, base);
  const { page } = p;
  await page.evaluate((id) => localStorage.setItem('coach.session', id), sid);
  await page.reload();
  await page.locator('.msg.assistant').nth(24).waitFor();
  const users = () => page.locator('.msg.user .user-text').allTextContents();
  assert.equal((await users()).length, 25);
  assert.match((await users())[0], /^Question 6:/);
  const older = page.getByRole('button', { name: 'Show earlier messages' });
  assert.equal(await older.isVisible(), true);
  await older.click();
  await page.waitForFunction(() => document.querySelectorAll('.msg.user').length === 30);
  const all = await users();
  assert.deepEqual(all.map((t) => Number(/^Question (\d+)/.exec(t)[1])), Array.from({ length: 30 }, (_, i) => i + 1));
  assert.equal(await older.isVisible(), false, 'nothing older is left');
  await p.check();
  await p.close();
});
