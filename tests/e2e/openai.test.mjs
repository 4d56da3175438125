// End-to-end tests of the `openai` engine: the real coachd binary against
// tests/fake_openai.mjs, through a small recording tap (a pass-through HTTP
// proxy in this file) that tells us when coachd closes an upstream request
// before its answer ended. Each fault mode of the fake is chosen by a
// [[directive]] in the question. Run:
//   COACHD_BIN=$PWD/build/asan/coachd node --test --test-concurrency=1 tests/e2e/openai.test.mjs
//
// Documented choices checked here: a malformed upstream event ends the
// answer with an error (the text so far is kept, saved 'incomplete'); an
// out-of-range [n] is removed; a dose sentence is replaced by the policy's
// referral; a spent budget answers in lite mode without calling upstream.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import http from 'node:http';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { startServer, api, newSession, sleep, sql, ROOT, BIN } from './lib.mjs';

const KEY = 'sk-test-secret';
const DEFAULT_ANSWER =
  'I hear you, bedtime can be hard. 1. Keep a calm routine [1]. ' +
  '2. Dim the lights an hour before bed [2]. 3. Keep the same wake time [1].';
const ARGS = ['--engine', 'openai', '--first-token-timeout-s', '2', '--stall-timeout-s', '2',
  '--total-timeout-s', '10', '--connect-timeout-s', '2', '--grace-s', '2'];
const Q = (directive = '') => `How do I handle bedtime? ${directive}`.trim();
// The fake's answer as coachd must show it when k passages were sent:
// markers past k are removed (with their blank).
const expected = (k, text = DEFAULT_ANSWER) => text.replace(/ \[(\d+)\]/g, (m, n) => (Number(n) <= k ? m : ''));

let fake, fakeBase, tap, srv;
const raws = [];                        // every SSE byte coachd sent, for the key check
const servers = [];

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

// A pass-through proxy to the fake that counts requests whose client
// (coachd) went away before the response ended.
function startTap(target) {
  const stats = { aborted: 0 };
  const server = http.createServer((req, res) => {
    const up = http.request({ host: '127.0.0.1', port: target, method: req.method, path: req.url,
      headers: req.headers }, (ur) => {
      res.writeHead(ur.statusCode, ur.headers);
      ur.pipe(res);
      ur.on('close', () => { if (!ur.complete) res.destroy(); });   // propagate a cut
    });
    up.on('error', () => res.destroy());
    req.pipe(up);
    res.on('close', () => {
      if (!res.writableFinished) { stats.aborted++; up.destroy(); }
    });
  });
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () =>
    resolve({ server, port: server.address().port, stats })));
}

async function fakeStats() {
  return (await fetch(`${fakeBase}/__stats`)).json();
}

// How many numbered passages coachd sent with the last upstream request
// (retrieval decides, and the knowledge base may change).
async function passagesSent() {
  const b = (await fakeStats()).last_request.body;
  return (b.messages[0].content.match(/^\[\d+\] /gm) || []).length;
}

// Opens an SSE stream and parses it as it arrives: { events (live), done, waitFor }.
function live(url) {
  const events = [];
  const waiters = [];
  const t0 = performance.now();
  let raw = '';
  const done = new Promise((resolve, reject) => {
    const req = http.get(url, (res) => {
      let buf = '';
      res.setEncoding('utf8');
      res.on('data', (d) => {
        raw += d;
        buf += d;
        let i;
        while ((i = buf.indexOf('\n\n')) >= 0) {
          const block = buf.slice(0, i);
          buf = buf.slice(i + 2);
          const data = block.split('\n').filter((l) => l.startsWith('data:'));
          if (!data.length) continue;
          const ev = { at: performance.now() - t0, lines: data.length,
            data: JSON.parse(data.map((l) => l.slice(6)).join('\n')) };
          events.push(ev);
          for (const w of waiters.splice(0)) if (!w(ev)) waiters.push(w);
        }
      });
      res.on('end', () => { raws.push(raw); resolve({ status: res.statusCode, events, raw }); });
      res.on('error', reject);
    });
    req.on('error', reject);
  });
  const waitFor = (pred) => new Promise((resolve) => {
    if (events.some(pred)) return resolve();
    waiters.push((ev) => (pred(ev) ? (resolve(), true) : false));
  });
  return { events, done, waitFor };
}

const chunksOf = (events) => events.filter((e) => 'chunk' in e.data);
const textOf = (events) => chunksOf(events).map((e) => e.data.chunk).join('');
const errorsOf = (events) => events.filter((e) => e.data.type === 'error');

async function ask(base, question, sid) {
  sid = sid || (await newSession(base));
  const s = live(`${base}/api/coach/stream/${sid}?question=${encodeURIComponent(question)}`);
  const r = await s.done;
  assert.equal(r.status, 200);
  const last = r.events.at(-1).data;
  assert.equal(last.done, true, 'the stream ends with done');
  return { sid, events: r.events, raw: r.raw, text: textOf(r.events), done: last,
    errors: errorsOf(r.events) };
}

async function saved(base, sid) {
  const g = await api(base, 'GET', '/api/coach/sessions/' + sid);
  assert.equal(g.status, 200);
  return g.json.messages.filter((m) => m.role === 'assistant').at(-1);
}

async function until(pred, ms = 8000) {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    if (await pred()) return true;
    await sleep(50);
  }
  return false;
}

function assertKindError(r) {
  assert.equal(r.errors.length, 1, 'one error event');
  const msg = r.errors[0].data.message;
  assert.equal(typeof msg, 'string');
  assert.match(msg, /Please try again/);
  assert.doesNotMatch(msg, /curl|http|127\.0\.0\.1|upstream|status|\d{3}/i);
  // error, then done: the error is the second-to-last event
  assert.equal(r.events.at(-2).data.type, 'error');
}

async function start(args = [], env = {}) {
  const s = await startServer([...ARGS, ...args],
    { OPENAI_BASE_URL: `http://127.0.0.1:${tap.port}/v1`, OPENAI_API_KEY: KEY, ...env });
  servers.push(s);
  return s;
}

before(async () => {
  fake = await startFake();
  fakeBase = `http://127.0.0.1:${fake.port}`;
  tap = await startTap(fake.port);
  srv = await start();
});

after(async () => {
  const problems = [];
  try {
    for (const s of servers) {
      // stop() throws unless coachd exits 0 with no sanitizer report (in the
      // ASan build LeakSanitizer runs at exit)
      try {
        await s.stop();
      } catch (e) {
        problems.push(e.message);
      }
      if (s.logs().includes(KEY)) problems.push('the API key appeared in coachd stderr');
      if (/bedtime|breathing/i.test(s.logs())) problems.push('question text appeared in coachd stderr');
      s.cleanup();
    }
    for (const raw of raws) if (raw.includes(KEY)) problems.push('the API key appeared in an event');
  } finally {
    tap.server.close();
    tap.server.closeAllConnections();
    fake.proc.kill('SIGTERM');
  }
  assert.deepEqual(problems, []);
});

test('readyz reports the openai engine ready', async () => {
  const r = await api(srv.base, 'GET', '/readyz');
  assert.equal(r.status, 200);
  assert.equal(r.json.engine.name, 'openai');
  assert.equal(r.json.engine.ready, true);
});

test('a normal answer streams in order and cites the passages it used', async () => {
  const before_ = (await fakeStats()).requests;
  const r = await ask(srv.base, Q());
  assert.ok(await passagesSent() >= 2, 'retrieval found at least two passages for the question');
  assert.equal(r.text, DEFAULT_ANSWER);
  assert.ok(chunksOf(r.events).length >= 3, 'several chunks, not one blob');
  const seqs = r.events.map((e) => e.lines);
  assert.ok(seqs.every((n) => n === 1));
  assert.deepEqual(r.done.citations.map((c) => c.id), [1, 2]);
  for (const c of r.done.citations) {
    assert.ok(c.source && c.title);
    assert.match(c.url, /^https?:\/\//);
  }
  assert.equal(r.errors.length, 0);
  assert.equal((await fakeStats()).requests, before_ + 1);
  const m = await saved(srv.base, r.sid);
  assert.equal(m.status, 'complete');
  assert.equal(m.content, DEFAULT_ANSWER);
  assert.deepEqual(m.citations, r.done.citations);
});

test('the upstream request: stream, usage, prompt, numbered passages, question, Bearer key', async () => {
  const r = await ask(srv.base, Q());
  const { last_request: lr } = await fakeStats();
  assert.equal(lr.method, 'POST');
  assert.equal(lr.path, '/v1/chat/completions');
  assert.equal(lr.has_auth, true);
  assert.equal(lr.headers.authorization, 'Bearer <redacted>');
  assert.match(lr.headers['content-type'], /application\/json/);
  const b = lr.body;
  assert.equal(b.stream, true);
  assert.deepEqual(b.stream_options, { include_usage: true });
  assert.equal(b.model, 'gpt-4o-mini');
  assert.equal(b.max_tokens, 700);
  assert.equal(b.temperature, 0.3);
  assert.equal(b.messages[0].role, 'system');
  assert.match(b.messages[0].content, /parenting coach/);
  assert.doesNotMatch(b.messages[0].content, /^version:/m);
  // the passages follow the prompt in the same, single system message
  assert.match(b.messages[0].content, /^\[1\] .+\(source: .+\)$/m);
  assert.match(b.messages[0].content, /^\[2\] /m);
  assert.deepEqual(b.messages.at(-1), { role: 'user', content: Q() });
  assert.equal(b.messages.length, 2, 'a new session has no history');
  // the titles sent are the titles cited
  for (const c of r.done.citations) assert.ok(b.messages[0].content.includes(`[${c.id}] ${c.title}`));
});

test('the second question carries the session history (so the first answer was saved)', async () => {
  const first = await ask(srv.base, Q());
  const q2 = 'What if my toddler keeps getting out of bed?';
  const second = await ask(srv.base, q2, first.sid);
  assert.equal(second.text, expected(await passagesSent()));
  const msgs = (await fakeStats()).last_request.body.messages;
  assert.equal(msgs.length, 4);
  assert.deepEqual(msgs[1], { role: 'user', content: Q() });
  assert.equal(msgs[2].role, 'assistant');
  // the earlier answer, with its [n] markers taken out (they named other passages)
  assert.equal(msgs[2].content, first.text.replace(/ \[\d\]/g, ''));
  assert.deepEqual(msgs[3], { role: 'user', content: q2 });
});

test('[[slow:50]] still streams: the first chunk arrives long before the end', async () => {
  const r = await ask(srv.base, Q('[[slow:50]]'));
  assert.equal(r.text, expected(await passagesSent()));
  const chunks = chunksOf(r.events);
  assert.ok(chunks.length >= 3);
  // 22 pieces 50 ms apart: the answer takes over a second; its first
  // sentence must not wait for the rest
  assert.ok(r.events.at(-1).at - chunks[0].at > 400,
    `first chunk at ${chunks[0].at} ms, done at ${r.events.at(-1).at} ms`);
});

test('[[cut:3]] -> error then done, the partial answer saved as incomplete', async () => {
  const r = await ask(srv.base, Q('[[cut:3]]'));
  assertKindError(r);
  assert.ok(r.text.length > 0);
  assert.ok(expected(await passagesSent()).startsWith(r.text), `partial text: ${r.text}`);
  const m = await saved(srv.base, r.sid);
  assert.equal(m.status, 'incomplete');
  assert.equal(m.content, r.text);
  // "I hear you," cited nothing before the cut: no passage is claimed
  assert.deepEqual(r.done.citations, []);
});

test('[[length:13]] -> a reply cut by max_tokens says so and is saved incomplete', async () => {
  const r = await ask(srv.base, Q('[[length:13]]'));
  assertKindError(r);
  assert.match(r.errors[0].data.message, /length limit/);
  assert.ok(expected(await passagesSent()).startsWith(r.text), `partial text: ${r.text}`);
  assert.ok(r.text.includes('[1]'), r.text);
  assert.deepEqual(r.done.citations.map((c) => c.id), [1], 'only what it cited before the cut');
  const m = await saved(srv.base, r.sid);
  assert.equal(m.status, 'incomplete');
  assert.equal(m.content, r.text);
});

test('coachd ask --engine openai says it answers with the grounded composer only (exit 2)', () => {
  const r = spawnSync(BIN, ['ask', 'How do I handle bedtime?', '--engine', 'openai'],
    { cwd: ROOT, encoding: 'utf8', env: { ...process.env, OPENAI_BASE_URL: fakeBase + '/v1' } });
  assert.equal(r.status, 2);
  assert.match(r.stderr, /grounded composer only/);
  assert.equal(r.stdout, '');
});

test('[[think]] -> a leading <think> block is never shown or saved', async () => {
  const r = await ask(srv.base, Q('[[think]]'));
  assert.equal(r.errors.length, 0);
  assert.equal(r.text, expected(await passagesSent()));
  assert.ok(!/think|Stay calm/.test(r.raw), 'no thought reached the parent');
  assert.equal((await saved(srv.base, r.sid)).content, r.text);
});

test('[[reasoning:3000]] -> thoughts for longer than the first-token timeout, then the answer', async () => {
  // the first-token timeout is 2 s here: reasoning deltas show the model is working
  const r = await ask(srv.base, Q('[[reasoning:3000]]'));
  assert.equal(r.errors.length, 0, JSON.stringify(r.errors));
  assert.equal(r.text, expected(await passagesSent()));
  assert.ok(!r.raw.includes('thinking it over'), 'no thought reached the parent');
  assert.equal((await saved(srv.base, r.sid)).status, 'complete');
});

test("a gpt-5 model: max_tokens and temperature refused (400) -> learned, asked again, answered", async () => {
  const s = await start(['--model', 'gpt-5-mini']);
  const before_ = (await fakeStats()).requests;
  const r = await ask(s.base, Q());
  assert.equal(r.errors.length, 0, JSON.stringify(r.errors));
  assert.equal(r.text, expected(await passagesSent()));
  assert.equal((await fakeStats()).requests, before_ + 3, 'max_tokens, then temperature, then the answer');
  const body = (await fakeStats()).last_request.body;
  assert.equal(body.max_completion_tokens, 700);
  assert.ok(!('max_tokens' in body) && !('temperature' in body));
  assert.match(s.logs(), /the model takes no max_tokens; asking again with max_completion_tokens/);
  assert.match(s.logs(), /the model takes no temperature; asking again without it/);
  assert.doesNotMatch(s.logs(), /Unsupported/);
  // learned: the next answer is right the first time
  const again = await ask(s.base, Q(), r.sid);
  assert.equal(again.errors.length, 0);
  assert.equal((await fakeStats()).requests, before_ + 4);
});

test('an https URL to a plain http server -> a kind error; the log says TLS, no retry', async () => {
  const s = await start([], { OPENAI_BASE_URL: fakeBase.replace('http://', 'https://') + '/v1' });
  const r = await ask(s.base, Q());
  assertKindError(r);
  assert.match(r.errors[0].data.message, /could not reach/);
  assert.match(s.logs(), /upstream: TLS handshake or certificate check failed/);
  assert.doesNotMatch(s.logs(), /retrying/);
});

test('[[status:500]] -> error after exactly one retry, nothing relayed', async () => {
  const before_ = (await fakeStats()).requests;
  const r = await ask(srv.base, Q(`[[status:500]] ${Math.random()}`));
  assertKindError(r);
  assert.equal(chunksOf(r.events).length, 0);
  assert.equal((await fakeStats()).requests, before_ + 2);
  assert.equal((await saved(srv.base, r.sid)).status, 'incomplete');
  // the operator sees the error's type, never its message
  assert.match(srv.logs(), /upstream: http 500 server_error\n/);
  assert.doesNotMatch(srv.logs(), /had an error while processing/);
});

test('[[status:400]] -> no retry; the log names the error type', async () => {
  const before_ = (await fakeStats()).requests;
  const r = await ask(srv.base, Q(`[[status:400]] ${Math.random()}`));
  assertKindError(r);
  assert.equal((await fakeStats()).requests, before_ + 1);
  assert.match(srv.logs(), /upstream: http 400 invalid_request_error\n/);
  assert.doesNotMatch(srv.logs(), /Request failed with status/);
});

test('[[fail-once:429]] with [[retry-after:1]] succeeds on the retry', async () => {
  const before_ = (await fakeStats()).requests;
  const t0 = performance.now();
  const r = await ask(srv.base, Q(`[[fail-once:429]] [[retry-after:1]] ${Math.random()}`));
  assert.equal(r.errors.length, 0);
  assert.equal(r.text, expected(await passagesSent()));
  assert.equal((await fakeStats()).requests, before_ + 2);
  assert.ok(performance.now() - t0 >= 900, 'Retry-After: 1 was honoured');
  assert.equal((await saved(srv.base, r.sid)).status, 'complete');
});

test('[[malformed]] -> error (documented), earlier text kept, the bad chunk never shown', async () => {
  const r = await ask(srv.base, Q('[[malformed]]'));
  assertKindError(r);
  assert.ok(!r.text.includes('oops'));
  assert.ok(r.text.length > 0);
  assert.ok(expected(await passagesSent()).startsWith(r.text), `partial text: ${JSON.stringify(r.text)}`);
  assert.equal((await saved(srv.base, r.sid)).status, 'incomplete');
});

test('[[hang]] -> error after the first-token timeout, upstream closed', async () => {
  const aborted = tap.stats.aborted;
  const t0 = performance.now();
  const r = await ask(srv.base, Q('[[hang]]'));
  const took = performance.now() - t0;
  assertKindError(r);
  assert.match(r.errors[0].data.message, /too long/);
  assert.ok(took >= 1800 && took < 8000, `took ${took} ms with a 2 s first-token timeout`);
  assert.equal(chunksOf(r.events).length, 0);
  assert.ok(await until(() => tap.stats.aborted > aborted), 'coachd closed the upstream request');
});

test('[[hang-after:3]] -> the words came out one by one before the stall; error; partial saved', async () => {
  const r = await ask(srv.base, Q('[[hang-after:3]]'));
  assertKindError(r);
  assert.match(r.errors[0].data.message, /too long/);
  // each delta was relayed as it came, mid-sentence, not held for the
  // sentence end (which never came) and flushed with the error
  assert.deepEqual(chunksOf(r.events).map((e) => e.data.chunk), ['I', ' hear', ' you,']);
  assert.equal(r.text, 'I hear you,');
  const m = await saved(srv.base, r.sid);
  assert.equal(m.status, 'incomplete');
  assert.equal(m.content, 'I hear you,');
});

test('[[error-event]] -> error, partial saved', async () => {
  const r = await ask(srv.base, Q('[[error-event]]'));
  assertKindError(r);
  assert.ok(!r.raw.includes('exploded'), 'the upstream message is not passed on');
  assert.ok(r.text.length > 0);
  assert.ok(expected(await passagesSent()).startsWith(r.text), `partial text: ${JSON.stringify(r.text)}`);
  assert.equal((await saved(srv.base, r.sid)).status, 'incomplete');
});

test('[[dose]] -> the dose sentence never reaches the client; the referral does', async () => {
  const r = await ask(srv.base, Q('[[dose]]'));
  assert.equal(r.errors.length, 0);
  for (const c of chunksOf(r.events)) assert.doesNotMatch(c.data.chunk, /5 ml|ibuprofen|every 6 hours/);
  const k = await passagesSent();
  const [first, , last] = expected(k, 'Fevers are common and usually pass in a few days [1].|' +
    'x|Offer fluids often and let your child rest [2].').split('|');
  assert.ok(r.text.startsWith(first + ' '), r.text);
  assert.ok(r.text.endsWith(last), r.text);
  const middle = r.text.slice(first.length + 1, r.text.length - last.length);
  assert.match(middle, /doctor|pediatrician|pharmacist|GP/i, `referral: ${middle}`);
  const m = await saved(srv.base, r.sid);
  assert.doesNotMatch(m.content, /5 ml/);
  assert.equal(m.content, r.text);
});

test('[[cite:9]] -> [9] removed from the text and not cited', async () => {
  const r = await ask(srv.base, Q('[[cite:9]]'));
  assert.ok(await passagesSent() >= 1, 'retrieval found a passage');
  assert.equal(r.text, 'Keep a calm routine [1]. Children settle with a steady rhythm.');
  assert.ok(!r.raw.includes('[9]'));
  assert.deepEqual(r.done.citations.map((c) => c.id), [1]);
});

test('[[xss]] text arrives as plain chunk strings, one data line per frame', async () => {
  const r = await ask(srv.base, Q('[[xss]]'));
  assert.ok(r.text.includes('<script>alert(1)</script>'), 'passed on as text, not interpreted');
  assert.ok(r.text.includes('\n\ndata: {"done":true}\n\n'), 'the forged event stays inside a chunk');
  for (const block of r.raw.split('\n\n').filter((b) => b.trim()))
    assert.ok(block.split('\n').filter((l) => l.startsWith('data:')).length <= 1, block);
  assert.ok(r.events.every((e) => e.lines === 1));
  assert.equal(r.events.filter((e) => e.data.done === true).length, 1);
});

test('cancel mid-answer stops the upstream at once; saved as stopped', async () => {
  const sid = await newSession(srv.base);
  const aborted = tap.stats.aborted;
  const p = await api(srv.base, 'POST', `/api/coach/sessions/${sid}/messages`, { question: Q('[[slow:100]]') });
  assert.equal(p.status, 202);
  const s = live(srv.base + p.json.stream_url);
  await s.waitFor((e) => 'chunk' in e.data);
  const t0 = performance.now();
  const c = await api(srv.base, 'POST', p.json.stream_url.replace(/stream$/, 'cancel'));
  assert.equal(c.status, 200);
  const r = await s.done;
  const last = r.events.at(-1).data;
  assert.equal(last.done, true);
  assert.equal(last.stopped, true);
  assert.ok(performance.now() - t0 < 1500, 'done came at once');
  assert.ok(textOf(r.events).length < DEFAULT_ANSWER.length);
  assert.ok(await until(() => tap.stats.aborted > aborted), 'the upstream connection was closed');
  const m = await saved(srv.base, sid);
  assert.equal(m.status, 'stopped');
  assert.equal(m.content, textOf(r.events));
});

test('an answer nobody watches is stopped after the grace period, upstream too', async () => {
  const sid = await newSession(srv.base);
  const aborted = tap.stats.aborted;
  const p = await api(srv.base, 'POST', `/api/coach/sessions/${sid}/messages`, { question: Q('[[slow:300]]') });
  assert.equal(p.status, 202);
  assert.ok(await until(async () => (await saved(srv.base, sid)).status === 'stopped', 9000));
  assert.ok(await until(() => tap.stats.aborted > aborted), 'the upstream connection was closed');
});

test('an emergency question never reaches the upstream', async () => {
  const before_ = (await fakeStats()).requests;
  const r = await ask(srv.base, 'my baby is not breathing and her lips are blue');
  assert.equal(r.events[0].data.type, 'refusal');
  assert.equal(r.events[0].data.data.category, 'emergency');
  assert.equal((await fakeStats()).requests, before_);
});

test('wire variants: CRLF line endings, llama.cpp usage in the finish chunk', async () => {
  for (const d of ['[[crlf]]', '[[llama]]']) {
    const r = await ask(srv.base, Q(d));
    assert.equal(r.errors.length, 0, d);
    assert.equal(r.text, expected(await passagesSent()), d);
    assert.equal((await saved(srv.base, r.sid)).status, 'complete');
  }
});

test('budget: with --session-token-budget 1 the second answer is lite mode, no upstream call', async () => {
  // this instance has no API key (a local server): no Authorization header
  const s2 = await start(['--session-token-budget', '1'], { OPENAI_API_KEY: '' });
  const first = await ask(s2.base, Q());
  assert.equal(first.text, expected(await passagesSent()));
  assert.equal((await fakeStats()).last_request.has_auth, false);
  const before_ = (await fakeStats()).requests;
  const second = await ask(s2.base, Q(), first.sid);
  assert.equal(second.errors.length, 0);
  assert.match(second.text, /^\*The coach is in lite mode today/);
  assert.ok(second.done.citations.length >= 1, 'grounded answers cite their passages');
  assert.match(second.text, /\[1\]/);
  assert.equal((await fakeStats()).requests, before_);
  const m = await saved(s2.base, first.sid);
  assert.equal(m.status, 'complete');
  assert.equal(m.content, second.text);
  // saved with the engine that really answered, and the model's prompt
  // version and token counts on the model's answer
  const rows = sql(s2.db,
    "SELECT engine, coalesce(prompt_version, '-'), CASE WHEN prompt_tokens + completion_tokens > 0 THEN 1 ELSE 0 END FROM messages WHERE role = 'assistant' ORDER BY created_at, seq").split('\n');
  assert.match(rows[0], /^openai\|coach-[0-9-]+\|1$/);
  assert.equal(rows[1], 'grounded-lite|-|0');
  // a new session has its own budget: the model answers again
  const third = await ask(s2.base, Q());
  assert.equal(third.text, expected(await passagesSent()));
  assert.equal((await fakeStats()).requests, before_ + 1);
});

test('an upstream that refuses connections -> a kind error after one retry', async () => {
  const dead = http.createServer();
  await new Promise((r) => dead.listen(0, '127.0.0.1', r));
  const port = dead.address().port;
  await new Promise((r) => dead.close(r));            // nothing listens there now
  const s3 = await start([], { OPENAI_BASE_URL: `http://user:hunter2@127.0.0.1:${port}/v1` });
  const t0 = performance.now();
  const r = await ask(s3.base, Q());
  assertKindError(r);
  assert.match(r.errors[0].data.message, /could not reach/);
  assert.ok(performance.now() - t0 >= 900, 'one retry after a 1 s backoff');
  assert.ok(!s3.logs().includes('hunter2'), 'the URL credentials are never logged');
  assert.match(s3.logs(), /upstream: connect failed, retrying/);
});
