// Limits and paging (issue 16, item 5). Before, 4,000 questions in 20 s
// from one client were all accepted and one session grew to 8,000
// messages that were all sent on every read. Now: questions per minute per
// client address and per session (default 20), sessions per hour per
// address, messages per session, each a 429 JSON error with Retry-After
// beyond it; X-Forwarded-For counts only with --trust-proxy; history comes
// in pages (default 50, newest last) with has_more.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { startServer, api, newSession, stream } from './lib.mjs';

const Q = 'How do I handle bedtime?';
const ask = (base, sid, headers = {}, question = Q) =>
  api(base, 'POST', `/api/coach/sessions/${sid}/messages`, { question }, headers);

function isLimited(r, code = 'rate_limited') {
  assert.equal(r.status, 429, r.text);
  assert.equal(r.headers.get('content-type'), 'application/json; charset=utf-8');
  assert.equal(r.json.error.code, code);
  assert.equal(typeof r.json.error.message, 'string');
  const after = Number(r.headers.get('retry-after'));
  assert.ok(Number.isInteger(after) && after >= 1, 'Retry-After: ' + r.headers.get('retry-after'));
  return after;
}

const counter = async (base, name) => {
  const t = (await api(base, 'GET', '/metrics')).text;
  const m = new RegExp(`^${name} (\\S+)$`, 'm').exec(t);
  return m ? Number(m[1]) : NaN;
};

test('by default a client gets 20 questions a minute, then 429 with Retry-After', async () => {
  const srv = await startServer([], {}, { defaultLimits: true });
  try {
    const sids = [await newSession(srv.base), await newSession(srv.base), await newSession(srv.base)];
    for (let i = 0; i < 20; i++) {
      const r = await ask(srv.base, sids[i % 3]);
      assert.equal(r.status, 202, `question ${i + 1}: ${r.text}`);
    }
    const after = isLimited(await ask(srv.base, sids[0]));
    assert.ok(after <= 60);
    // the seed's endpoint counts too, and answers in JSON
    const seed = await api(srv.base, 'GET', `/api/coach/stream/${sids[1]}?question=${encodeURIComponent(Q)}`);
    isLimited(seed);
    // without --trust-proxy a forwarded address changes nothing
    isLimited(await ask(srv.base, sids[2], { 'X-Forwarded-For': '203.0.113.9' }));
    assert.equal(await counter(srv.base, 'coachd_rate_limited_total'), 3);
    await srv.stop();
  } finally { if (srv.proc.exitCode === null) await srv.stop('SIGKILL'); srv.cleanup(); }
});

test('per address behind a trusted proxy, and per session', async () => {
  const srv = await startServer(['--max-questions-per-minute', '3', '--trust-proxy']);
  try {
    const from = (ip) => ({ 'X-Forwarded-For': `198.51.100.1, ${ip}` });
    const a = await newSession(srv.base), b = await newSession(srv.base), c = await newSession(srv.base);
    // one address, three sessions: the address is limited
    for (const sid of [a, b, c]) assert.equal((await ask(srv.base, sid, from('192.0.2.1'))).status, 202);
    isLimited(await ask(srv.base, a, from('192.0.2.1')));
    // another address is not
    const d = await newSession(srv.base);
    assert.equal((await ask(srv.base, d, from('192.0.2.2'))).status, 202);
    // one session, many addresses: the session is limited
    assert.equal((await ask(srv.base, d, from('192.0.2.3'))).status, 202);
    assert.equal((await ask(srv.base, d, from('2001:db8::7'))).status, 202);
    isLimited(await ask(srv.base, d, from('192.0.2.4')));
    // a forwarded value that is not an address falls back to the peer
    assert.equal((await ask(srv.base, b, { 'X-Forwarded-For': 'not-an-ip' })).status, 202);
    await srv.stop();
  } finally { if (srv.proc.exitCode === null) await srv.stop('SIGKILL'); srv.cleanup(); }
});

test('sessions per hour and messages per session', async () => {
  const srv = await startServer(['--max-sessions-per-hour', '2', '--max-messages-per-session', '4']);
  try {
    const sid = await newSession(srv.base);
    await newSession(srv.base);
    const after = isLimited(await api(srv.base, 'POST', '/api/coach/sessions', {}));
    assert.ok(after > 60 && after <= 1800, 'a new session within half an hour: ' + after);
    isLimited(await api(srv.base, 'POST', '/api/coach/start'));
    // two questions (four messages) fill the session
    for (let i = 0; i < 2; i++) {
      const r = await ask(srv.base, sid);
      assert.equal(r.status, 202);
      await stream(srv.base + r.json.stream_url);
    }
    isLimited(await ask(srv.base, sid), 'session_full');
    const g = await api(srv.base, 'GET', '/api/coach/sessions/' + sid);
    assert.equal(g.json.messages.length, 4);
    await srv.stop();
  } finally { if (srv.proc.exitCode === null) await srv.stop('SIGKILL'); srv.cleanup(); }
});

test('history in pages: 50 newest last by default, ?before= for older, has_more', async () => {
  const srv = await startServer();
  try {
    const sid = await newSession(srv.base);
    for (let i = 1; i <= 30; i++) {
      const r = await ask(srv.base, sid, {}, `Question ${i}: how do I handle bedtime?`);
      assert.equal(r.status, 202);
      await stream(srv.base + r.json.stream_url);
    }
    const p1 = await api(srv.base, 'GET', `/api/coach/sessions/${sid}`);
    assert.equal(p1.status, 200);
    assert.equal(p1.json.messages.length, 50);
    assert.equal(p1.json.has_more, true);
    assert.equal(p1.json.session_id, sid);
    assert.equal(p1.json.messages.at(-1).role, 'assistant');          // newest last
    assert.match(p1.json.messages.at(-2).content, /^Question 30:/);
    assert.match(p1.json.messages[0].content, /^Question 6:/);         // 11th of 60
    const p2 = await api(srv.base, 'GET', `/api/coach/sessions/${sid}?before=${p1.json.messages[0].id}&limit=50`);
    assert.equal(p2.status, 200, p2.text);
    assert.equal(p2.json.messages.length, 10);
    assert.equal(p2.json.has_more, false);
    const all = [...p2.json.messages, ...p1.json.messages];
    const questions = all.filter((m) => m.role === 'user').map((m) => Number(/^Question (\d+)/.exec(m.content)[1]));
    assert.deepEqual(questions, Array.from({ length: 30 }, (_, i) => i + 1));
    assert.equal(new Set(all.map((m) => m.id)).size, 60);
    // a small page, and every answer still carries its feedback field
    const p3 = await api(srv.base, 'GET', `/api/coach/sessions/${sid}?limit=3`);
    assert.equal(p3.json.messages.length, 3);
    assert.equal(p3.json.has_more, true);
    assert.deepEqual(p3.json.messages, p1.json.messages.slice(-3));
    assert.equal(p3.json.messages.at(-1).feedback, null);
    const whole = await api(srv.base, 'GET', `/api/coach/sessions/${sid}?limit=200`);
    assert.equal(whole.json.messages.length, 60);
    assert.equal(whole.json.has_more, false);
    // errors
    for (const bad of ['0', '201', 'abc', '-1', '5x']) {
      const r = await api(srv.base, 'GET', `/api/coach/sessions/${sid}?limit=${bad}`);
      assert.equal(r.status, 400, bad);
      assert.equal(r.json.error.code, 'invalid_limit');
    }
    assert.equal((await api(srv.base, 'GET', `/api/coach/sessions/${sid}?before=bad%20id`)).status, 400);
    const other = await newSession(srv.base);
    const foreign = await api(srv.base, 'GET', `/api/coach/sessions/${other}?before=${p1.json.messages[0].id}`);
    assert.equal(foreign.status, 404);
    assert.equal(foreign.json.error.code, 'message_not_found');
    await srv.stop();
  } finally { if (srv.proc.exitCode === null) await srv.stop('SIGKILL'); srv.cleanup(); }
});
