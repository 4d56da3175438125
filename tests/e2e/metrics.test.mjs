// GET /metrics end to end: ask a question, get a refusal, an answer, a
// triage notice and feedback through the real server, scrape, and check
// that the counters moved, that the gauges show a live stream, that no
// question text, session id or message id is in the output, and that
// Prometheus's own promtool accepts the scrape (skipped, saying why, only
// when promtool is not installed: Debian package `prometheus`).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import http from 'node:http';
import net from 'node:net';
import { join } from 'node:path';
import { startServer, api, newSession, stream, sleep, ROOT } from './lib.mjs';

const servers = [];
const start = async (args = [], env = {}) => {
  const s = await startServer(args, env);
  servers.push(s);
  return s;
};

after(async () => {
  for (const s of servers) { await s.stop(); s.cleanup(); }
});

async function scrape(base) {
  const r = await fetch(base + '/metrics');
  assert.equal(r.status, 200);
  assert.equal(r.headers.get('content-type'), 'text/plain; version=0.0.4; charset=utf-8');
  return r.text();
}

// The value of one exact series (name plus labels as rendered), or null.
function value(text, series) {
  for (const line of text.split('\n'))
    if (line.startsWith(series + ' ')) return Number(line.slice(series.length + 1));
  return null;
}

function promtool(text) {
  const which = spawnSync('sh', ['-c', 'command -v promtool']);
  if (which.status !== 0) {
    console.log('# promtool not installed (Debian package "prometheus"): skipping its check');
    return;
  }
  const r = spawnSync('promtool', ['check', 'metrics'], { input: text, encoding: 'utf8' });
  assert.equal(r.status, 0, `promtool check metrics failed:\n${r.stdout}${r.stderr}`);
}

const ANSWER_Q = 'How do I handle bedtime battles with my toddler?';
const REFUSE_Q = 'how much tylenol can I give my 2 year old';
const TRIAGE_Q = 'what should I do if my baby chokes';

test('the counters move, no text or id leaks, and promtool accepts the scrape', async () => {
  const srv = await start();
  const before0 = await scrape(srv.base);
  assert.equal(value(before0, 'coachd_refusals_total{category="medical"}'), 0);
  assert.equal(value(before0, 'coachd_rate_limited_total'), 0);
  promtool(before0);

  // an answer through POST + stream_url
  const sid = await newSession(srv.base);
  const p = await api(srv.base, 'POST', `/api/coach/sessions/${sid}/messages`, { question: ANSWER_Q });
  assert.equal(p.status, 202);
  const mid = p.json.message_id;
  const s1 = await stream(srv.base + p.json.stream_url);
  assert.ok(s1.events.some((e) => typeof e.data.chunk === 'string'), 'an answer');
  // a refusal and a triage notice through the seed endpoint
  const s2 = await stream(`${srv.base}/api/coach/stream/${sid}?question=${encodeURIComponent(REFUSE_Q)}`);
  assert.equal(s2.events[0].data.type, 'refusal');
  const s3 = await stream(`${srv.base}/api/coach/stream/${sid}?question=${encodeURIComponent(TRIAGE_Q)}`);
  assert.equal(s3.events[0].data.type, 'triage');
  const refusedId = s2.events.at(-1).data.message_id;
  // feedback, a 404 under a real-looking path, and a session read
  assert.equal((await api(srv.base, 'POST', `/api/coach/sessions/${sid}/messages/${mid}/feedback`, { helpful: true })).status, 200);
  assert.equal((await api(srv.base, 'GET', `/api/nothing/${sid}`)).status, 404);
  assert.equal((await api(srv.base, 'GET', `/api/coach/sessions/${sid}`)).status, 200);

  const t = await scrape(srv.base);
  const route = (r, code) => value(t, `coachd_http_requests_total{route="${r}",code="${code}"}`);
  assert.equal(route('/api/coach/sessions', 201), 1);
  assert.equal(route('/api/coach/sessions/{id}/messages', 202), 1);
  assert.equal(route('/api/coach/sessions/{id}/messages/{mid}/stream', 200), 1);
  assert.equal(route('/api/coach/stream/{session_id}', 200), 2);
  assert.equal(route('/api/coach/sessions/{id}/messages/{mid}/feedback', 200), 1);
  assert.equal(route('/api/coach/sessions/{id}', 200), 1);
  assert.equal(route('other', 404), 1);
  assert.equal(route('/metrics', 200), 2, 'this scrape is counted in itself');
  assert.equal(value(t, 'coachd_refusals_total{category="medical"}'), 1);
  assert.equal(value(t, 'coachd_refusals_total{category="emergency"}'), 0);
  assert.equal(value(t, 'coachd_triage_notices_total{level="prepare"}'), 1);
  assert.equal(value(t, 'coachd_feedback_total{helpful="true"}'), 1);
  assert.equal(value(t, 'coachd_feedback_total{helpful="false"}'), 0);
  // two answers had text (the plain one and the one after the notice)
  assert.equal(value(t, 'coachd_ttft_seconds_count{engine="grounded"}'), 2);
  assert.equal(value(t, 'coachd_ttft_seconds_bucket{engine="grounded",le="+Inf"}'), 2);
  assert.equal(value(t, 'coachd_turn_seconds_count'), 3);
  assert.equal(value(t, 'coachd_retrieval_seconds_count'), 2, 'no retrieval for the refusal');
  assert.ok(value(t, 'coachd_db_seconds_count') >= 4, 'three begins and at least one save batch');
  assert.ok(value(t, 'coachd_retrieval_seconds_sum') > 0);
  assert.equal(value(t, 'coachd_save_failures_total'), 0);
  assert.equal(value(t, 'coachd_streams_active'), 0);
  assert.equal(value(t, 'coachd_turns_active'), 0);
  assert.ok(value(t, 'coachd_connections') >= 1);
  assert.equal(value(t, 'coachd_upstream_errors_total{kind="http_5xx"}'), 0);

  // nothing private: no question words, no ids
  for (const secret of [sid, mid, refusedId, 'bedtime', 'tylenol', 'chokes', 'toddler'])
    assert.ok(!t.includes(secret), `"${secret}" is in the scrape`);
  assert.doesNotMatch(t, /route="[^"]*(:id|[A-Za-z0-9_-]{22})/, 'no raw path or id in a route label');
  promtool(t);
});

test('a live answer shows in coachd_streams_active and coachd_turns_active', async () => {
  const srv = await start(['--pace-ms', '200']);
  const sid = await newSession(srv.base);
  const p = await api(srv.base, 'POST', `/api/coach/sessions/${sid}/messages`, { question: ANSWER_Q });
  let req;
  const firstChunk = new Promise((resolve, reject) => {
    req = http.get(srv.base + p.json.stream_url, (res) => {
      res.setEncoding('utf8');
      let text = '';
      res.on('data', (d) => { text += d; if (text.includes('"chunk"')) resolve(); });
    });
    req.on('error', reject);
  });
  await firstChunk;
  const t = await scrape(srv.base);
  assert.equal(value(t, 'coachd_streams_active'), 1);
  assert.equal(value(t, 'coachd_turns_active'), 1);
  req.destroy();
  await api(srv.base, 'POST', p.json.stream_url.replace(/stream$/, 'cancel'));
  let after0;
  for (let i = 0; i < 50; i++) {
    after0 = await scrape(srv.base);
    if (value(after0, 'coachd_streams_active') === 0) break;
    await sleep(50);
  }
  assert.equal(value(after0, 'coachd_streams_active'), 0);
  assert.equal(value(after0, 'coachd_turns_active'), 0);
});

test('over --max-connections: coachd_connections_rejected_total counts the 503', async () => {
  const srv = await start(['--max-connections', '1']);
  // one connection held open with a finished keep-alive request
  const held = net.connect(srv.port, '127.0.0.1');
  await new Promise((r) => held.once('connect', r));
  held.write('GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n');
  await new Promise((r) => held.once('data', r));
  const r = await api(srv.base, 'GET', '/healthz');
  assert.equal(r.status, 503);
  held.destroy();
  let t;
  for (let i = 0; i < 50; i++) {
    t = await fetch(srv.base + '/metrics').then((x) => x.status === 200 ? x.text() : '');
    if (t) break;
    await sleep(50);
  }
  assert.equal(value(t, 'coachd_connections_rejected_total'), 1);
  assert.equal(value(t, 'coachd_http_requests_total{route="other",code="503"}'), 1);
});

// The openai engine against the fake upstream: tokens, TTFT by engine and
// upstream errors by kind.
function startFake() {
  return new Promise((resolve, reject) => {
    const proc = spawn(process.execPath, [join(ROOT, 'tests', 'fake_openai.mjs'), '--port', '0'],
      { stdio: ['ignore', 'pipe', 'inherit'] });
    let buf = '';
    const timer = setTimeout(() => reject(new Error('fake did not start')), 10000);
    proc.stdout.on('data', (d) => {
      buf += d;
      const m = /^listening (\d+)\n/.exec(buf);
      if (m) { clearTimeout(timer); resolve({ proc, port: Number(m[1]) }); }
    });
    proc.on('exit', (code) => reject(new Error(`fake exited ${code}`)));
  });
}

test('openai engine: tokens, TTFT by engine, and upstream errors by kind', async () => {
  const fake = await startFake();
  try {
    const srv = await start(['--engine', 'openai', '--first-token-timeout-s', '2',
      '--stall-timeout-s', '2', '--total-timeout-s', '10', '--connect-timeout-s', '2'],
    { OPENAI_BASE_URL: `http://127.0.0.1:${fake.port}/v1`, OPENAI_API_KEY: 'sk-test-secret' });
    const ask = async (q) => {
      const sid = await newSession(srv.base);
      return stream(`${srv.base}/api/coach/stream/${sid}?question=${encodeURIComponent(q)}`);
    };
    const ok = await ask('How do I handle bedtime?');
    assert.ok(ok.events.some((e) => typeof e.data.chunk === 'string'));
    const bad = await ask('How do I handle bedtime? [[status:500]]');
    assert.ok(bad.events.some((e) => e.data.type === 'error'));
    const bad4 = await ask('How do I handle bedtime? [[status:404]]');
    assert.ok(bad4.events.some((e) => e.data.type === 'error'));
    const t = await scrape(srv.base);
    assert.equal(value(t, 'coachd_ttft_seconds_count{engine="openai"}'), 1);
    assert.ok(value(t, 'coachd_tokens_total{direction="prompt"}') > 0);
    assert.ok(value(t, 'coachd_tokens_total{direction="completion"}') > 0);
    assert.equal(value(t, 'coachd_upstream_errors_total{kind="http_5xx"}'), 1, 'counted once, after its retry');
    assert.equal(value(t, 'coachd_upstream_errors_total{kind="http_4xx"}'), 1);
    assert.ok(!t.includes('sk-test-secret') && !t.includes('bedtime'));
    promtool(t);
  } finally {
    fake.proc.kill('SIGTERM');
  }
});
