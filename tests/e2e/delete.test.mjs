// Delete means gone (issue 16, item 3): DELETE of a session stops its live
// answers and drops them from memory, so every route for its messages is
// 404 at once (before, a lingering answer streamed for about a minute), and
// the question text is in neither the database file nor its WAL.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { startServer, api, newSession, stream } from './lib.mjs';

const GONE = 'Quentinborough';          // only in the deleted session's question
const KEPT = 'Bartholomewshire';        // only in the other session's question

const onDisk = (db, word) => ['', '-wal'].some((sfx) =>
  existsSync(db + sfx) && readFileSync(db + sfx).includes(Buffer.from(word)));

test('after DELETE, its messages are 404 at once and their text is off the disk', async () => {
  const srv = await startServer(['--pace-ms', '25']);
  try {
    const keep = await newSession(srv.base);
    const k = await api(srv.base, 'POST', `/api/coach/sessions/${keep}/messages`,
      { question: `We live in ${KEPT}. How do I handle bedtime?` });
    assert.equal(k.status, 202);

    const sid = await newSession(srv.base);
    // one answer that finished (it lingers in memory) ...
    const a = await api(srv.base, 'POST', `/api/coach/sessions/${sid}/messages`,
      { question: `We live in ${GONE}. How do I handle bedtime?` });
    assert.equal(a.status, 202);
    const first = await stream(srv.base + a.json.stream_url);
    assert.equal(first.events.at(-1).data.done, true);
    // ... and one that is still streaming when the session is deleted
    const b = await api(srv.base, 'POST', `/api/coach/sessions/${sid}/messages`,
      { question: `${GONE} again: how do I handle tantrums?` });
    assert.equal(b.status, 202);
    const live = stream(srv.base + b.json.stream_url, { timeoutMs: 20000 });
    await new Promise((r) => setTimeout(r, 300));
    assert.ok(onDisk(srv.db, GONE), 'the test can see the text before the delete');

    const del = await api(srv.base, 'DELETE', '/api/coach/sessions/' + sid);
    assert.equal(del.status, 204);
    const cut = await live;
    assert.ok(!cut.events.some((e) => e.data.done === true), 'no done for a deleted answer');

    for (const m of [a.json, b.json]) {
      const s = await api(srv.base, 'GET', m.stream_url);
      assert.equal(s.status, 404, 'stream ' + s.text);
      assert.equal(s.json.error.code, 'message_not_found');
      const resume = await api(srv.base, 'GET', m.stream_url, undefined,
        { 'Last-Event-ID': `${m.message_id}:1` });
      assert.equal(resume.status, 404);
      const c = await api(srv.base, 'POST', m.stream_url.replace(/\/stream$/, '/cancel'));
      assert.equal(c.status, 404, 'cancel ' + c.text);
      const f = await api(srv.base, 'POST', m.stream_url.replace(/\/stream$/, '/feedback'), { helpful: true });
      assert.equal(f.status, 404, 'feedback ' + f.text);
    }
    assert.equal((await api(srv.base, 'GET', '/api/coach/sessions/' + sid)).status, 404);

    // the checkpointer thread truncates the WAL right after the delete
    const t0 = Date.now();
    while (onDisk(srv.db, GONE) && Date.now() - t0 < 5000) await new Promise((r) => setTimeout(r, 20));
    assert.ok(!onDisk(srv.db, GONE), 'the deleted question is not in the db or its WAL');
    assert.ok(onDisk(srv.db, KEPT), 'the other session is still there');
    const g = await api(srv.base, 'GET', '/api/coach/sessions/' + keep);
    assert.equal(g.json.messages.length, 2);
    await srv.stop();
  } finally {
    if (srv.proc.exitCode === null) await srv.stop('SIGKILL');
    srv.cleanup();
  }
});
