// End-to-end tests of the REST API and the seed's stream endpoint against
// the real coachd binary (grounded engine, SQLite, pace 0).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import { startServer, api, newSession, stream, textOf } from './lib.mjs';

let srv;
before(async () => { srv = await startServer(); });
after(async () => { await srv.stop(); srv.cleanup(); });

const isError = (r, status, code) => {
  assert.equal(r.status, status, r.text);
  assert.equal(r.headers.get('content-type'), 'application/json; charset=utf-8');
  assert.equal(typeof r.json.error.message, 'string');
  if (code) assert.equal(r.json.error.code, code);
};

test('health and readiness', async () => {
  const h = await api(srv.base, 'GET', '/healthz');
  assert.equal(h.status, 200);
  const r = await api(srv.base, 'GET', '/readyz');
  assert.equal(r.status, 200);
  assert.equal(r.json.database, true);
  assert.equal(r.json.knowledge_base.loaded, true);
  assert.ok(r.json.knowledge_base.passages >= 10);
  assert.equal(r.json.engine.name, 'grounded');
});

test('create session (and the seed alias) returns a long random id', async () => {
  const a = await api(srv.base, 'POST', '/api/coach/sessions', { parent_name: 'Sam' });
  assert.equal(a.status, 201);
  assert.match(a.json.session_id, /^[A-Za-z0-9_-]{22,}$/);
  const b = await api(srv.base, 'POST', '/api/coach/start');
  assert.equal(b.status, 201);
  assert.notEqual(a.json.session_id, b.json.session_id);
  const g = await api(srv.base, 'GET', '/api/coach/sessions/' + a.json.session_id);
  assert.equal(g.status, 200);
  assert.equal(g.json.session_id, a.json.session_id);
  assert.deepEqual(g.json.messages, []);
  assert.match(g.json.created_at, /^\d{4}-\d\d-\d\dT/);
});

test('the bedtime question streams a cited answer, then history has both messages', async () => {
  const sid = await newSession(srv.base);
  const s = await stream(`${srv.base}/api/coach/stream/${sid}?question=${encodeURIComponent('How do I handle bedtime?')}`);
  assert.equal(s.status, 200);
  assert.match(s.headers['content-type'], /^text\/event-stream/);
  assert.equal(s.headers['cache-control'], 'no-store');
  assert.equal(s.headers['x-accel-buffering'], 'no');
  assert.equal(s.retry, 2000);
  const chunks = s.events.filter((e) => 'chunk' in e.data);
  assert.ok(chunks.length > 20, 'streams word-sized chunks');
  const done = s.events.at(-1).data;
  assert.equal(done.done, true);
  assert.ok(done.citations.length >= 1);
  for (const c of done.citations) {
    assert.equal(typeof c.id, 'number');
    assert.ok(c.source && c.title);
    assert.match(c.url, /^https:\/\//);
  }
  const text = textOf(s.events);
  assert.match(text, /\[1\]/);
  assert.match(text, /1\. /);
  // every event has an id and ids are increasing
  const seqs = s.events.map((e) => Number(e.id.split(':')[1]));
  assert.deepEqual(seqs, seqs.map((_, i) => i + 1));
  const g = await api(srv.base, 'GET', '/api/coach/sessions/' + sid);
  assert.equal(g.json.messages.length, 2);
  const [u, a] = g.json.messages;
  assert.equal(u.role, 'user');
  assert.equal(u.content, 'How do I handle bedtime?');
  assert.equal(a.role, 'assistant');
  assert.equal(a.id, done.message_id);
  assert.equal(a.content, text);
  assert.equal(a.status, 'complete');
  assert.equal(a.refusal, null);
  assert.deepEqual(a.citations, done.citations);
});

test('an emergency is refused before anything else, and saved', async () => {
  const sid = await newSession(srv.base);
  const s = await stream(`${srv.base}/api/coach/stream/${sid}?question=${encodeURIComponent('my baby is not breathing and her lips are blue')}`);
  assert.equal(s.events[0].data.type, 'refusal');
  assert.equal(s.events[0].data.data.category, 'emergency');
  assert.ok(s.events[0].data.data.resources.some((r) => r.phone === '911'));
  assert.equal(s.events.length, 2);
  assert.deepEqual(s.events[1].data.citations, []);
  const g = await api(srv.base, 'GET', '/api/coach/sessions/' + sid);
  assert.equal(g.json.messages[1].refusal.category, 'emergency');
});

test('stream errors come before any stream', async () => {
  const sid = await newSession(srv.base);
  isError(await api(srv.base, 'GET', '/api/coach/stream/' + 'x'.repeat(22) + '?question=hi'), 404, 'session_not_found');
  isError(await api(srv.base, 'GET', '/api/coach/stream/bad!id?question=hi'), 400, 'invalid_session_id');
  isError(await api(srv.base, 'GET', `/api/coach/stream/${sid}?question=`), 400, 'empty_question');
  isError(await api(srv.base, 'GET', `/api/coach/stream/${sid}?question=%20%20`), 400, 'empty_question');
  isError(await api(srv.base, 'GET', `/api/coach/stream/${sid}`), 400, 'empty_question');
  isError(await api(srv.base, 'GET', `/api/coach/stream/${sid}?question=${'a'.repeat(2001)}`), 413, 'question_too_long');
  isError(await api(srv.base, 'GET', `/api/coach/stream/${sid}?question=%C3%28`), 400, 'invalid_utf8');
  isError(await api(srv.base, 'GET', `/api/coach/stream/${sid}?question=a%00b`), 400, 'invalid_utf8');
  // 2000 multi-byte characters are fine (the limit is characters, not bytes)
  const ok = await api(srv.base, 'POST', `/api/coach/sessions/${sid}/messages`, { question: 'é'.repeat(2000) });
  assert.equal(ok.status, 202);
  // nothing was saved for the rejected ones
  const g = await api(srv.base, 'GET', '/api/coach/sessions/' + sid);
  assert.equal(g.json.messages.filter((m) => m.role === 'user').length, 1);
});

test('bad requests get JSON errors', async () => {
  isError(await api(srv.base, 'GET', '/nope'), 404, 'not_found');
  isError(await api(srv.base, 'GET', '/api/coach/sessions'), 405, 'method_not_allowed');
  isError(await api(srv.base, 'PUT', '/api/coach/sessions/abc'), 405, 'method_not_allowed');
  isError(await api(srv.base, 'POST', '/api/coach/sessions', '{"parent_name":'), 400, 'invalid_json');
  isError(await api(srv.base, 'POST', '/api/coach/sessions', '[1,2]'), 400, 'invalid_json');
  isError(await api(srv.base, 'POST', '/api/coach/sessions', { parent_name: 42 }), 400, 'invalid_parent_name');
  isError(await api(srv.base, 'POST', '/api/coach/sessions', JSON.stringify({ parent_name: 'x'.repeat(40000) })), 413, 'body_too_large');
  isError(await api(srv.base, 'GET', '/api/coach/sessions/' + 'A'.repeat(22)), 404, 'session_not_found');
  isError(await api(srv.base, 'GET', '/api/coach/sessions/a.b'), 400, 'invalid_session_id');
  const sid = await newSession(srv.base);
  isError(await api(srv.base, 'POST', `/api/coach/sessions/${sid}/messages`, { question: 5 }), 400, 'invalid_question');
  isError(await api(srv.base, 'POST', `/api/coach/sessions/${sid}/messages`, 'question=hi', { 'content-type': 'application/x-www-form-urlencoded' }), 415);
});

test('delete removes the session and everything in it', async () => {
  const sid = await newSession(srv.base);
  await stream(`${srv.base}/api/coach/stream/${sid}?question=picky%20eater`);
  const d = await api(srv.base, 'DELETE', '/api/coach/sessions/' + sid);
  assert.equal(d.status, 204);
  isError(await api(srv.base, 'GET', '/api/coach/sessions/' + sid), 404, 'session_not_found');
  isError(await api(srv.base, 'DELETE', '/api/coach/sessions/' + sid), 404, 'session_not_found');
});

test('security headers on pages and API', async () => {
  const r = await api(srv.base, 'GET', '/healthz');
  assert.equal(r.headers.get('x-content-type-options'), 'nosniff');
  assert.equal(r.headers.get('referrer-policy'), 'no-referrer');
  assert.equal(r.headers.get('cache-control'), 'no-store');
  const page = await fetch(srv.base + '/');
  assert.equal(page.status, 200);
  assert.match(page.headers.get('content-security-policy'), /script-src 'self'/);
  assert.match(page.headers.get('content-security-policy'), /connect-src 'self'/);
});

test('the access log has routes, never questions or ids', async () => {
  const sid = await newSession(srv.base);
  await stream(`${srv.base}/api/coach/stream/${sid}?question=${encodeURIComponent('secretword toddler tantrums')}`);
  const logs = srv.logs();
  assert.ok(!logs.includes('secretword'));
  assert.ok(!logs.includes(sid));
  assert.match(logs, /GET \/api\/coach\/stream\/:session_id 200/);
});

test('a client that sends half a request and goes quiet does not block others', async () => {
  const sock = net.connect(srv.port, '127.0.0.1');
  await new Promise((r) => sock.on('connect', r));
  sock.write('GET /healthz HTTP/1.1\r\nHost: x\r\n');   // never finishes
  const r = await api(srv.base, 'GET', '/healthz');
  assert.equal(r.status, 200);
  sock.destroy();
});

test('oversized headers are rejected, and the server keeps serving', async () => {
  const res = await new Promise((resolve) => {
    const sock = net.connect(srv.port, '127.0.0.1', () => {
      sock.write('GET /healthz HTTP/1.1\r\nHost: x\r\nX-Big: ' + 'a'.repeat(40000) + '\r\n\r\n');
    });
    let data = '';
    sock.on('data', (d) => { data += d; });
    sock.on('close', () => resolve(data));
    sock.on('error', () => resolve(data));
  });
  // over the 32 KiB head limit: our JSON 431, and the connection closes
  assert.match(res, /^HTTP\/1\.1 431 /, res.slice(0, 40));
  assert.match(res, /"code":"headers_too_large"/);
  const r = await api(srv.base, 'GET', '/healthz');
  assert.equal(r.status, 200);
});

test('over --max-connections, requests get a JSON 503 and the connection closes', async () => {
  const small = await startServer(['--max-connections', '3']);
  const socks = [];
  const get = (sock) => new Promise((resolve) => {
    let data = '';
    sock.on('data', (d) => { data += d; if (data.includes('\r\n\r\n') && /\}\n?$/.test(data)) resolve(data); });
    sock.on('close', () => resolve(data));
    sock.write('GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n');
  });
  try {
    for (let i = 0; i < 3; i++) {
      const s = net.connect(small.port, '127.0.0.1');
      await new Promise((r) => s.on('connect', r));
      socks.push(s);
      assert.match(await get(s), /^HTTP\/1\.1 200/);     // kept alive: still counted
    }
    const extra = net.connect(small.port, '127.0.0.1');
    await new Promise((r) => extra.on('connect', r));
    const res = await get(extra);
    assert.match(res, /^HTTP\/1\.1 503/);
    assert.match(res, /"code":"overloaded"/);
    extra.destroy();
    // once the others leave, new connections are served again
    for (const s of socks) s.destroy();
    let status = 0;
    for (let i = 0; i < 20 && status !== 200; i++) {
      status = (await api(small.base, 'GET', '/healthz')).status;
      if (status !== 200) await new Promise((r) => setTimeout(r, 100));
    }
    assert.equal(status, 200);
  } finally {
    for (const s of socks) s.destroy();
    await small.stop();
    small.cleanup();
  }
});

test('a message is reached only through its own session (issue 16)', async () => {
  const a = await newSession(srv.base), b = await newSession(srv.base);
  const p = await api(srv.base, 'POST', `/api/coach/sessions/${a}/messages`, { question: 'How do I handle bedtime?' });
  assert.equal(p.status, 202);
  const mid = p.json.message_id;
  assert.equal(p.json.stream_url, `/api/coach/sessions/${a}/messages/${mid}/stream`);
  const s = await stream(srv.base + p.json.stream_url);
  assert.equal(s.events.at(-1).data.done, true);
  // under another session's id: 404, in memory (the answer lingers) as in the database
  for (const [method, tail, body] of [['GET', 'stream'], ['POST', 'cancel'], ['POST', 'feedback', { helpful: true }]]) {
    const r = await api(srv.base, method, `/api/coach/sessions/${b}/messages/${mid}/${tail}`, body);
    isError(r, 404, 'message_not_found');
  }
  const resumed = await api(srv.base, 'GET', `/api/coach/sessions/${b}/messages/${mid}/stream`, undefined,
    { 'Last-Event-ID': `${mid}:1` });
  isError(resumed, 404, 'message_not_found');
  // the message id alone reaches nothing any more
  isError(await api(srv.base, 'GET', `/api/coach/messages/${mid}/stream`), 404, 'not_found');
  isError(await api(srv.base, 'POST', `/api/coach/messages/${mid}/cancel`), 404, 'not_found');
  isError(await api(srv.base, 'POST', `/api/coach/messages/${mid}/feedback`, { helpful: true }), 404, 'not_found');
  isError(await api(srv.base, 'GET', `/api/coach/sessions/bad%20id/messages/${mid}/stream`), 400, 'invalid_session_id');
  // through its own session everything works
  const own = await api(srv.base, 'POST', `/api/coach/sessions/${a}/messages/${mid}/cancel`);
  assert.equal(own.status, 200, own.text);
  assert.equal(own.json.status, 'complete');
  const fb = await api(srv.base, 'POST', `/api/coach/sessions/${a}/messages/${mid}/feedback`, { helpful: true });
  assert.equal(fb.status, 200, fb.text);
  const g = await api(srv.base, 'GET', '/api/coach/sessions/' + b);
  assert.deepEqual(g.json.messages, []);
});
