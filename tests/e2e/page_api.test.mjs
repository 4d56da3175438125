// The two routes the page needs besides the chat ones: the session event
// stream (a second tab learns of new questions live, and of a delete) and
// feedback on an answer (saved with the message, returned in the session).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import { startServer, api, newSession, parseSSE, stream, textOf } from './lib.mjs';

let srv;
before(async () => { srv = await startServer(); });
after(async () => { await srv.stop(); srv.cleanup(); });

// Opens the event stream and collects frames until the test ends it.
function openEvents(sid) {
  let text = '';
  let res;
  let endResolve;
  const ended = new Promise((r) => { endResolve = r; });
  const waiters = [];
  const req = http.get(`${srv.base}/api/coach/sessions/${sid}/events`, (r) => {
    res = r;
    r.setEncoding('utf8');
    r.on('data', (d) => {
      text += d;
      for (const w of waiters.splice(0)) w();
    });
    r.on('end', () => endResolve(true));
    r.on('close', () => endResolve(false));
  });
  const opened = new Promise((r) => req.on('response', r));
  return {
    opened,
    get res() { return res; },
    events: () => parseSSE(text.slice(0, text.lastIndexOf('\n\n') + 2)).events.map((e) => e.data),
    text: () => text,
    async waitFor(pred) {
      while (!pred(this.events())) await new Promise((r) => waiters.push(r));
    },
    ended,
    close() { req.destroy(); },
  };
}

test('event stream: headers, retry, then an announcement per question of that session only', async () => {
  const sid = await newSession(srv.base);
  const other = await newSession(srv.base);
  const ev = openEvents(sid);
  const evOther = openEvents(other);
  await ev.opened;
  await evOther.opened;
  assert.equal(ev.res.statusCode, 200);
  assert.match(ev.res.headers['content-type'], /^text\/event-stream/);
  assert.equal(ev.res.headers['cache-control'], 'no-store');
  await new Promise((r) => setTimeout(r, 50));
  const post = await api(srv.base, 'POST', `/api/coach/sessions/${sid}/messages`,
    { question: 'How do I handle bedtime battles?' });
  assert.equal(post.status, 202);
  await ev.waitFor((e) => e.length >= 1);
  assert.deepEqual(ev.events(), [{ type: 'message', message_id: post.json.message_id }]);
  assert.match(ev.text(), /^retry: 2000\n\n/);
  // the announced message streams as usual
  const s = await stream(srv.base + post.json.stream_url);
  assert.ok(textOf(s.events).length > 50);
  // the seed endpoint announces too
  const seed = await stream(`${srv.base}/api/coach/stream/${sid}?question=${encodeURIComponent('What about naps?')}`);
  const doneEv = seed.events.find((e) => e.data.done);
  await ev.waitFor((e) => e.length >= 2);
  assert.equal(ev.events()[1].message_id, doneEv.data.message_id);
  // nothing went to the other session's stream
  assert.deepEqual(evOther.events(), []);
  ev.close();
  evOther.close();
});

test('event stream: a deleted session says so and the stream ends', async () => {
  const sid = await newSession(srv.base);
  const ev = openEvents(sid);
  await ev.opened;
  await new Promise((r) => setTimeout(r, 50));
  assert.equal((await api(srv.base, 'DELETE', `/api/coach/sessions/${sid}`)).status, 204);
  assert.equal(await ev.ended, true, 'the server ended the response');
  assert.deepEqual(ev.events(), [{ type: 'deleted' }]);
});

test('event stream: unknown or invalid session, wrong method', async () => {
  let r = await api(srv.base, 'GET', '/api/coach/sessions/nosuchsession/events');
  assert.equal(r.status, 404);
  assert.equal(r.json.error.code, 'session_not_found');
  r = await api(srv.base, 'GET', '/api/coach/sessions/bad%20id/events');
  assert.equal(r.status, 400);
  const sid = await newSession(srv.base);
  r = await api(srv.base, 'POST', `/api/coach/sessions/${sid}/events`, {});
  assert.equal(r.status, 405);
  assert.equal(r.headers.get('allow'), 'GET');
});

test('feedback: saved with the answer, changed, shown in the session; errors', async () => {
  const sid = await newSession(srv.base);
  const post = await api(srv.base, 'POST', `/api/coach/sessions/${sid}/messages`,
    { question: 'How do I handle bedtime battles?' });
  const mid = post.json.message_id;
  await stream(srv.base + post.json.stream_url);

  let s = await api(srv.base, 'GET', `/api/coach/sessions/${sid}`);
  const ans = () => s.json.messages.find((m) => m.id === mid);
  assert.equal(ans().feedback, null);
  assert.equal('feedback' in s.json.messages.find((m) => m.role === 'user'), false);

  let r = await api(srv.base, 'POST', `/api/coach/sessions/${sid}/messages/${mid}/feedback`,
    { helpful: false, reason: 'Too general for a 3 year old' });
  assert.equal(r.status, 200, r.text);
  assert.deepEqual(r.json, { message_id: mid, helpful: false, reason: 'Too general for a 3 year old' });
  s = await api(srv.base, 'GET', `/api/coach/sessions/${sid}`);
  assert.equal(ans().feedback.helpful, false);
  assert.equal(ans().feedback.reason, 'Too general for a 3 year old');
  assert.match(ans().feedback.created_at, /^\d{4}-\d\d-\d\dT/);

  r = await api(srv.base, 'POST', `/api/coach/sessions/${sid}/messages/${mid}/feedback`, { helpful: true });
  assert.deepEqual(r.json, { message_id: mid, helpful: true, reason: null });
  s = await api(srv.base, 'GET', `/api/coach/sessions/${sid}`);
  assert.equal(ans().feedback.helpful, true);
  assert.equal(ans().feedback.reason, null);

  const userId = s.json.messages.find((m) => m.role === 'user').id;
  r = await api(srv.base, 'POST', `/api/coach/sessions/${sid}/messages/${userId}/feedback`, { helpful: true });
  assert.equal(r.status, 404);
  assert.equal(r.json.error.code, 'message_not_found');
  r = await api(srv.base, 'POST', `/api/coach/sessions/${sid}/messages/${mid}/feedback`, { helpful: 'yes' });
  assert.equal(r.status, 400);
  assert.equal(r.json.error.code, 'invalid_feedback');
  r = await api(srv.base, 'POST', `/api/coach/sessions/${sid}/messages/${mid}/feedback`, { helpful: false, reason: 'x'.repeat(501) });
  assert.equal(r.status, 400);
  r = await api(srv.base, 'POST', `/api/coach/sessions/${sid}/messages/${mid}/feedback`, '{nope');
  assert.equal(r.status, 400);
  r = await api(srv.base, 'GET', `/api/coach/sessions/${sid}/messages/${mid}/feedback`);
  assert.equal(r.status, 405);
  r = await api(srv.base, 'POST', `/api/coach/sessions/${sid}/messages/bad%20id/feedback`, { helpful: true });
  assert.equal(r.status, 400);
  // the reason never reaches the log
  assert.equal(srv.logs().includes('Too general'), false);
});

test('event stream: a server shutting down with streams open exits cleanly', async () => {
  const own = await startServer();
  const sid = await newSession(own.base);
  const reqs = [];
  const got = await new Promise((resolve) => {
    const req = http.get(`${own.base}/api/coach/sessions/${sid}/events`, (r) => {
      r.once('data', () => resolve(true));
      r.on('error', () => {});
    });
    req.on('error', () => {});
    reqs.push(req);
  });
  assert.equal(got, true);
  await own.stop();              // throws on a non-zero exit or a sanitizer report
  own.cleanup();
  for (const r of reqs) r.destroy();
});
