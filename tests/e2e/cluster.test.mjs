// Two coachd instances on one PostgreSQL, behind a real nginx running
// deploy/nginx.conf (HTTP/2 + TLS with a throw-away certificate): resume on
// the other instance, stop and delete from the other instance, an instance
// killed while the other answers, a new instance that leaves live answers
// alone. Needs COACHD_PG_URL (make e2e-pg starts a PostgreSQL) and nginx;
// skipped with a message otherwise.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import https from 'node:https';
import http2 from 'node:http2';
import { startServer, api, newSession, stream, textOf, sleep, pgDatabase, PG_URL, ROOT } from './lib.mjs';
import { startNginx } from './nginx.mjs';

const haveNginx = spawnSync('nginx', ['-v']).status === 0;
const skip = !PG_URL ? 'COACHD_PG_URL is not set (make e2e-pg starts a PostgreSQL)'
  : !haveNginx ? 'nginx is not installed (apt-get install nginx)' : false;

let db, A, B, proxy;

// An SSE read over TLS through nginx (self-signed: not verified).
function tlsStream(url, opts = {}) {
  return new Promise((resolve, reject) => {
    const req = https.get(url, { headers: opts.headers || {}, rejectUnauthorized: false, agent: false }, (res) => {
      let text = '';
      let done = false;
      const finish = (complete) => {
        if (done) return; done = true;
        const events = [];
        for (const block of text.split('\n\n').slice(0, -1)) {
          let id = null; let data = null;
          for (const line of block.split('\n')) {
            if (line.startsWith('id: ')) id = line.slice(4);
            else if (line.startsWith('data: ')) data = JSON.parse(line.slice(6));
          }
          if (data) events.push({ id, data });
        }
        resolve({ status: res.statusCode, headers: res.headers, events, complete });
      };
      res.setEncoding('utf8');
      res.on('data', (d) => {
        text += d;
        if (opts.stopAfterEvents && text.split('\n\n').length - 1 >= opts.stopAfterEvents) { req.destroy(); finish(false); }
      });
      res.on('end', () => finish(true));
      res.on('close', () => finish(false));
    });
    req.on('error', (e) => (opts.stopAfterEvents ? null : reject(e)));
  });
}

async function ask(s, sid, question) {
  const r = await api(s.base, 'POST', `/api/coach/sessions/${sid}/messages`, { question });
  assert.equal(r.status, 202, r.text);
  return r.json;
}

const Q = 'how do I get my 3 year old to sleep through the night';

before(async () => {
  if (skip) return;
  db = pgDatabase();
  A = await startServer(['--db', db, '--pace-ms', '20']);
  B = await startServer(['--db', db, '--pace-ms', '20']);
  proxy = await startNginx([A.port, B.port]);
});
after(async () => {
  if (skip) return;
  if (proxy) await proxy.stop();
  for (const s of [A, B]) if (s && s.proc.exitCode === null && s.proc.signalCode === null) await s.stop();
});

test('ask on A, drop after a few words, resume on B: the same transcript, no gap, no repeat', { skip }, async () => {
  const sid = await newSession(A.base);
  const m = await ask(A, sid, Q);
  const first = await stream(A.base + m.stream_url, { stopWhen: (t) => (t.match(/\n\n/g) || []).length >= 6 });
  assert.ok(first.events.length >= 3 && !first.events.at(-1).data.done, 'cut while the answer runs');
  const rest = await stream(B.base + m.stream_url, { headers: { 'Last-Event-ID': first.events.at(-1).id } });
  assert.equal(rest.status, 200);
  assert.equal(rest.events.at(-1).data.done, true, 'B follows A live to done');
  const seen = [...first.events, ...rest.events];
  seen.forEach((e, i) => assert.equal(e.id, `${m.message_id}:${i + 1}`, 'in order, no gap, no repeat'));
  // the whole answer read afterwards, on either instance, is the same
  for (const s of [A, B]) {
    const whole = await stream(s.base + m.stream_url);
    assert.deepEqual(whole.events, seen);
  }
  const g = await api(B.base, 'GET', '/api/coach/sessions/' + sid);
  assert.equal(g.json.messages[1].status, 'complete');
  assert.equal(g.json.messages[1].content, textOf(seen));
});

test('through nginx (HTTP/2 + TLS): reconnects alternate between instances and the transcript is whole', { skip }, async () => {
  // HTTP/2 to the browser side
  const c = http2.connect(proxy.base, { rejectUnauthorized: false });
  const h2 = await new Promise((resolve, reject) => {
    const rq = c.request({ ':path': '/healthz' });
    rq.on('response', (h) => { rq.resume(); rq.on('end', () => resolve(h[':status'])); });
    rq.on('error', reject);
  });
  c.close();
  assert.equal(h2, 200);
  process.env.NODE_TLS_REJECT_UNAUTHORIZED = '0';
  const sid = await newSession(proxy.base);
  const m = await ask(proxy, sid, Q);
  const seen = [];
  for (let i = 0; i < 200; i++) {
    const headers = seen.length ? { 'Last-Event-ID': seen.at(-1).id } : {};
    const r = await tlsStream(proxy.base + m.stream_url, { headers, stopAfterEvents: 5 });
    if (r.status === 204) break;
    assert.equal(r.status, 200);
    assert.match(r.headers['content-type'], /^text\/event-stream/);
    seen.push(...r.events);
    if (seen.length && seen.at(-1).data.done) break;
  }
  assert.equal(seen.at(-1).data.done, true);
  seen.forEach((e, i) => assert.equal(e.id, `${m.message_id}:${i + 1}`));
  const whole = await stream(A.base + m.stream_url);
  assert.deepEqual(whole.events, seen);
  // both instances served stream requests
  assert.match(A.logs(), /GET \/api\/coach\/sessions\/:id\/messages\/:mid\/stream 200/);
  assert.match(B.logs(), /GET \/api\/coach\/sessions\/:id\/messages\/:mid\/stream 200/);
});

test('stop on B stops the answer running on A', { skip }, async () => {
  const sid = await newSession(A.base);
  const m = await ask(A, sid, Q);
  const onA = stream(A.base + m.stream_url);
  await sleep(300);
  const r = await api(B.base, 'POST', `/api/coach/sessions/${sid}/messages/${m.message_id}/cancel`, {});
  assert.equal(r.status, 200, r.text);
  const s = await onA;
  assert.equal(s.events.at(-1).data.done, true);
  assert.equal(s.events.at(-1).data.stopped, true);
  const g = await api(B.base, 'GET', '/api/coach/sessions/' + sid);
  assert.equal(g.json.messages[1].status, 'stopped');
  assert.equal(g.json.messages[1].content, textOf(s.events));
});

test('delete on B: A answers 404 for the session and its answer', { skip }, async () => {
  const sid = await newSession(A.base);
  const m = await ask(A, sid, Q);
  const onA = stream(A.base + m.stream_url);
  await sleep(200);
  assert.equal((await api(B.base, 'DELETE', '/api/coach/sessions/' + sid)).status, 204);
  const s = await onA;     // A's live answer leaves memory: its stream ends, no done
  assert.ok(!s.events.length || !s.events.at(-1).data.done);
  let st = 0;
  for (let i = 0; i < 20 && st !== 404; i++) {
    st = (await stream(A.base + m.stream_url)).status;
    if (st !== 404) await sleep(50);
  }
  assert.equal(st, 404);
  assert.equal((await api(A.base, 'GET', '/api/coach/sessions/' + sid)).status, 404);
});

// The session event stream (events.h) follows a session, not one answer:
// a question asked on A is announced to the session's tabs on B too (a
// NOTIFY with the two ids), and once only to its tabs on A.
test('a question asked on A is announced to the session\'s event streams on A and B, once each', { skip }, async () => {
  const sid = await newSession(A.base);
  const follow = (s) => stream(s.base + `/api/coach/sessions/${sid}/events`, {
    stopWhen: (t) => /"type":"message"[^\n]*\n\n[\s\S]*"type":"message"/.test(t) });
  const onA = follow(A), onB = follow(B);
  await sleep(300);                        // both streams are open
  const m = await ask(A, sid, Q);
  await sleep(1500);                       // a second announcement would have come by now
  assert.equal((await api(A.base, 'DELETE', '/api/coach/sessions/' + sid)).status, 204);   // ends both
  const [a, b] = await Promise.all([onA, onB]);
  for (const [name, r] of [['A', a], ['B', b]]) {
    const msgs = r.events.filter((e) => e.data.type === 'message');
    assert.equal(msgs.length, 1, `one announcement on ${name}`);
    assert.equal(msgs[0].data.message_id, m.message_id);
  }
});

// PostgreSQL stopped and started again (scripts/pgtmp.sh down/up) while A
// answers: A's stream goes on meanwhile (its writes wait on the store's
// worker, not on the loop), new questions get a JSON 503, and once the
// server is back every event A showed reaches the database: B, following
// the answer from the start, gets exactly A's transcript, and the saved
// answer is the text shown.
const pgDir = process.env.COACHD_PG_DIR;
const pgctl = (what) => execFileSync('sh', [`${ROOT}/scripts/pgtmp.sh`, what, pgDir], { stdio: 'ignore' });
test('PostgreSQL restarts mid-answer: A streams on, 503 for new questions, nothing shown is lost',
  { skip: skip || (!pgDir ? 'COACHD_PG_DIR is not set (make e2e-pg)' : false) }, async () => {
    const A3 = await startServer(['--db', db, '--pace-ms', '40']);
    try {
      const sid = await newSession(A3.base);
      const m = await ask(A3, sid, Q);
      let count = 0;
      const onA = stream(A3.base + m.stream_url, { stopWhen: (t) => { count = (t.match(/\n\n/g) || []).length; return false; } });
      await sleep(500);
      let duringDown;
      pgctl('down');
      try {
        const atDown = count;
        let refused;
        for (let i = 0; i < 30; i++) {
          refused = await api(B.base, 'POST', `/api/coach/sessions/${sid}/messages`, { question: Q });
          if (refused.status === 503) break;
          await sleep(100);
        }
        assert.equal(refused.status, 503, refused.text);
        assert.equal(refused.json.error.code, 'storage_unavailable');
        await sleep(1500);
        duringDown = count - atDown;
      } finally {
        pgctl('up');
      }
      assert.ok(duringDown > 5, `A kept streaming while PostgreSQL was down (${duringDown} events)`);
      let ok;
      for (let i = 0; i < 100; i++) {
        ok = await api(B.base, 'GET', '/readyz');
        if (ok.status === 200) break;
        await sleep(100);
      }
      assert.equal(ok.status, 200);
      const onB = stream(B.base + m.stream_url);     // from the start, out of the database
      const a = await onA;
      const b = await onB;
      assert.equal(a.events.at(-1).data.done, true, 'done once the save went through');
      assert.deepEqual(b.events, a.events, 'every event A showed, in order, from the database');
      const g = await api(B.base, 'GET', '/api/coach/sessions/' + sid);
      assert.equal(g.json.messages[1].status, 'complete');
      assert.equal(g.json.messages[1].content, textOf(a.events));
    } finally {
      await A3.stop();
    }
  });

test('a new instance leaves a live answer alone; kill B while A answers: A completes', { skip }, async () => {
  // a slow answer (about 11 s), so that it is still running while a third
  // instance starts (and runs its start-up recovery) under the sanitizers
  const A2 = await startServer(['--db', db, '--pace-ms', '60']);
  try {
    const sid = await newSession(A2.base);
    const m = await ask(A2, sid, Q);
    const onA = stream(A2.base + m.stream_url);
    const onB = stream(B.base + m.stream_url);
    await sleep(200);
    const C = await startServer(['--db', db, '--pace-ms', '20']);   // runs start-up recovery
    try {
      const g = await api(C.base, 'GET', '/api/coach/sessions/' + sid);
      assert.equal(g.json.messages[1].status, 'streaming', 'another live instance\'s answer is not marked incomplete');
      assert.doesNotMatch(C.logs(), /marked \d+ answer/);
    } finally {
      await C.stop();
    }
    await B.stop('SIGKILL');
    await onB.catch(() => null);
    const s = await onA;
    assert.equal(s.events.at(-1).data.done, true);
    assert.equal(s.events.at(-1).data.stopped, undefined);
    const after_ = await api(A2.base, 'GET', '/api/coach/sessions/' + sid);
    assert.equal(after_.json.messages[1].status, 'complete');
    assert.equal(after_.json.messages[1].content, textOf(s.events));
  } finally {
    await A2.stop();
  }
});
