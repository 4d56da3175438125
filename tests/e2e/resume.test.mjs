// Streams that survive: POST + stream_url, resume by Last-Event-ID at many
// cut points, several subscribers, stop from another connection, 204 after
// done, the seed endpoint's reconnect, and a reader that never reads.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import { startServer, api, newSession, stream, textOf, sleep } from './lib.mjs';

let srv;     // pace 0: answers finish at once, replays come from memory/DB
let slow;    // pace 20 ms: answers are still running while we cut and resume
before(async () => {
  srv = await startServer();
  slow = await startServer(['--pace-ms', '20']);
});
after(async () => {
  await srv.stop(); srv.cleanup();
  await slow.stop(); slow.cleanup();
});

async function ask(s, sid, question) {
  const r = await api(s.base, 'POST', `/api/coach/sessions/${sid}/messages`, { question });
  assert.equal(r.status, 202, r.text);
  assert.equal(r.json.stream_url, `/api/coach/sessions/${sid}/messages/${r.json.message_id}/stream`);
  return r.json;
}

// Reads a whole turn by reconnecting after every cut, as EventSource does.
async function readWithCuts(s, url, cuts) {
  const seen = [];
  let last = null;
  for (let attempt = 0; attempt < 500; attempt++) {
    const cut = cuts.length ? cuts.shift() : 0;
    const headers = last ? { 'Last-Event-ID': last } : {};
    const r = await stream(s.base + url, { headers, stopAfterBytes: cut || undefined });
    if (r.status === 204) break;
    assert.equal(r.status, 200);
    for (const e of r.events) { seen.push(e); last = e.id; }
    if (r.events.length && r.events.at(-1).data.done) break;
  }
  return seen;
}

test('POST /messages answers 202 with a stream that delivers the whole answer once', async () => {
  const sid = await newSession(srv.base);
  const m = await ask(srv, sid, 'how do I get my toddler to stop biting');
  const s = await stream(srv.base + m.stream_url);
  assert.equal(s.status, 200);
  assert.equal(s.events.at(-1).data.done, true);
  assert.equal(s.events.at(-1).data.message_id, m.message_id);
  const g = await api(srv.base, 'GET', '/api/coach/sessions/' + sid);
  assert.equal(g.json.messages[1].content, textOf(s.events));
  // a reconnect after done gets 204 so EventSource stops
  const again = await stream(srv.base + m.stream_url, { headers: { 'Last-Event-ID': s.events.at(-1).id } });
  assert.equal(again.status, 204);
  // and ?last_event_id= works the same
  const q = await stream(`${srv.base}${m.stream_url}?last_event_id=${encodeURIComponent(s.events.at(-1).id)}`);
  assert.equal(q.status, 204);
});

test('resume after a cut at 100+ random points: same text, no event twice, one engine run', async () => {
  const sid = await newSession(slow.base);
  const m = await ask(slow, sid, 'my 3 year old has tantrums every evening what do I do');
  // cut points in bytes: many small ones, some mid-event
  const cuts = Array.from({ length: 120 }, () => 20 + Math.floor(Math.random() * 400));
  const seen = await readWithCuts(slow, m.stream_url, cuts);
  const ids = seen.map((e) => e.id);
  assert.equal(new Set(ids).size, ids.length, 'no event delivered twice');
  const seqs = ids.map((id) => Number(id.split(':')[1]));
  assert.deepEqual(seqs, seqs.map((_, i) => i + 1), 'events in order, none missing');
  assert.equal(seen.at(-1).data.done, true);
  await sleep(50);
  const g = await api(slow.base, 'GET', '/api/coach/sessions/' + sid);
  assert.equal(g.json.messages.length, 2, 'one question, one answer');
  assert.equal(g.json.messages[1].content, textOf(seen));
  assert.equal(g.json.messages[1].status, 'complete');
});

test('resume from the database after the turn left memory uses the stored log', async () => {
  const sid = await newSession(srv.base);
  const m = await ask(srv, sid, 'picky eating in a 4 year old');
  const full = await stream(srv.base + m.stream_url);
  const mid = full.events[Math.floor(full.events.length / 2)];
  // from memory
  const r1 = await stream(srv.base + m.stream_url, { headers: { 'Last-Event-ID': mid.id } });
  const want = full.events.slice(full.events.indexOf(mid) + 1).map((e) => e.id);
  assert.deepEqual(r1.events.map((e) => e.id), want);
  // a fresh server on the same database: the turn is only in SQLite now
  await srv.stop();
  const again = await startServer(['--db', srv.db]);
  try {
    const r2 = await stream(again.base + m.stream_url, { headers: { 'Last-Event-ID': mid.id } });
    assert.equal(r2.status, 200);
    assert.deepEqual(r2.events.map((e) => e.id), want);
    assert.equal(textOf(full.events.slice(0, full.events.indexOf(mid) + 1)) + textOf(r2.events), textOf(full.events));
    const whole = await stream(again.base + m.stream_url);
    assert.deepEqual(whole.events.map((e) => e.data), full.events.map((e) => e.data));
  } finally {
    await again.stop();
    srv = await startServer(['--db', srv.db]);
  }
});

test('two subscribers see the same words', async () => {
  const sid = await newSession(slow.base);
  const m = await ask(slow, sid, 'how do I prepare my son for a new baby sibling');
  const [a, b] = await Promise.all([stream(slow.base + m.stream_url), stream(slow.base + m.stream_url)]);
  assert.deepEqual(a.events.map((e) => e.data), b.events.map((e) => e.data));
  assert.equal(a.events.at(-1).data.done, true);
});

test('stop from another connection: done with stopped, partial saved as stopped', async () => {
  const sid = await newSession(slow.base);
  const m = await ask(slow, sid, 'how much sleep does a 2 year old need and how do naps work');
  const watching = stream(slow.base + m.stream_url);
  await sleep(200);
  const c = await api(slow.base, 'POST', m.stream_url.replace(/stream$/, 'cancel'));
  assert.equal(c.status, 200);
  assert.equal(c.json.status, 'stopped');
  const s = await watching;
  const done = s.events.at(-1).data;
  assert.equal(done.done, true);
  assert.equal(done.stopped, true);
  const g = await api(slow.base, 'GET', '/api/coach/sessions/' + sid);
  const ans = g.json.messages[1];
  assert.equal(ans.status, 'stopped');
  assert.equal(ans.content, textOf(s.events));
  assert.ok(ans.content.length > 0);
  // idempotent
  const c2 = await api(slow.base, 'POST', m.stream_url.replace(/stream$/, 'cancel'));
  assert.equal(c2.status, 200);
  assert.equal(c2.json.status, 'stopped');
  const c3 = await api(slow.base, 'POST', `/api/coach/sessions/${sid}/messages/${'Z'.repeat(22)}/cancel`);
  assert.equal(c3.status, 404);
});

test('the seed endpoint resumes with Last-Event-ID instead of asking again', async () => {
  const sid = await newSession(slow.base);
  const url = `${slow.base}/api/coach/stream/${sid}?question=${encodeURIComponent('my kid lies all the time')}`;
  const first = await stream(url, { stopWhen: (t) => (t.match(/\n\n/g) || []).length >= 6 });
  const last = first.events.at(-1).id;
  const rest = await stream(url, { headers: { 'Last-Event-ID': last } });
  const all = [...first.events, ...rest.events];
  assert.equal(all.at(-1).data.done, true);
  const ids = all.map((e) => e.id);
  assert.equal(new Set(ids).size, ids.length);
  const g = await api(slow.base, 'GET', '/api/coach/sessions/' + sid);
  assert.equal(g.json.messages.length, 2, 'the reconnect did not ask a second question');
  assert.equal(g.json.messages[1].content, textOf(all));
});

test('a client that never reads does not block other streams', async () => {
  const sid = await newSession(srv.base);
  // a paused socket with 50 pipelined stream requests queued behind it
  const m = await ask(srv, sid, 'screen time for a 6 year old');
  await stream(srv.base + m.stream_url);
  const sock = net.connect(srv.port, '127.0.0.1');
  await new Promise((r) => sock.on('connect', r));
  sock.pause();
  for (let i = 0; i < 50; i++) sock.write(`GET ${m.stream_url} HTTP/1.1\r\nHost: x\r\n\r\n`);
  const ok = await stream(srv.base + m.stream_url);
  assert.equal(ok.events.at(-1).data.done, true);
  const h = await api(srv.base, 'GET', '/healthz');
  assert.equal(h.status, 200);
  sock.destroy();
});

test('unknown and malformed stream requests', async () => {
  const sid = await newSession(srv.base);
  const r = await api(srv.base, 'GET', `/api/coach/sessions/${sid}/messages/${'Q'.repeat(22)}/stream`);
  assert.equal(r.status, 404);
  assert.equal(r.json.error.code, 'message_not_found');
  const m = await ask(srv, sid, 'bedtime routine');
  const bad = await api(srv.base, 'GET', m.stream_url, undefined, { 'Last-Event-ID': 'someone-else:3' });
  assert.equal(bad.status, 400);
  assert.equal(bad.json.error.code, 'invalid_last_event_id');
});

test('a quiet stream gets ": ping" comments', async () => {
  const quiet = await startServer(['--pace-ms', '2500', '--ping-s', '1']);
  try {
    const sid = await newSession(quiet.base);
    const m = await ask(quiet, sid, 'bedtime routine for a 3 year old');
    const s = await stream(quiet.base + m.stream_url, { stopWhen: (t) => t.includes(': ping') });
    assert.match(s.text, /\n: ping\n\n/);
  } finally {
    await quiet.stop();
    quiet.cleanup();
  }
});

test('an answer nobody watches for the grace period is stopped and saved', async () => {
  const g = await startServer(['--pace-ms', '300', '--grace-s', '1']);
  try {
    const sid = await newSession(g.base);
    const m = await ask(g, sid, 'how do I help my 4 year old with fears of the dark');
    const s = await stream(g.base + m.stream_url, { stopWhen: (t) => (t.match(/\n\n/g) || []).length >= 4 });
    assert.ok(s.events.length >= 2);
    // the browser is gone; within a few writes the server notices, then
    // waits the 1 s grace period and stops the answer
    let status = 'streaming';
    for (let i = 0; i < 50 && status === 'streaming'; i++) {
      await sleep(200);
      const r = await api(g.base, 'GET', '/api/coach/sessions/' + sid);
      status = r.json.messages[1].status;
    }
    assert.equal(status, 'stopped');
  } finally {
    await g.stop();
    g.cleanup();
  }
});

test('a watched answer outlives a dropped subscriber when another is still there', async () => {
  const g = await startServer(['--pace-ms', '40', '--grace-s', '1']);
  try {
    const sid = await newSession(g.base);
    const m = await ask(g, sid, 'how do I talk to my teen about vaping');
    const keep = stream(g.base + m.stream_url);
    await stream(g.base + m.stream_url, { stopWhen: (t) => (t.match(/\n\n/g) || []).length >= 3 });
    const s = await keep;
    assert.equal(s.events.at(-1).data.done, true);
    assert.equal(s.events.at(-1).data.stopped, undefined);
  } finally {
    await g.stop();
    g.cleanup();
  }
});
