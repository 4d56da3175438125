// fake_openai.test.mjs — self-test of tests/fake_openai.mjs, the fake
// OpenAI-compatible upstream the engine's end-to-end tests stand on. It
// starts the fake, streams from it with fetch, parses the SSE bytes the way
// a client would, and checks the wire format and each misbehaviour the
// other suites rely on. Run: node --test tests/e2e/fake_openai.test.mjs
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import path from 'node:path';

const FAKE = path.join(path.dirname(fileURLToPath(import.meta.url)), '..', 'fake_openai.mjs');
const DEFAULT_ANSWER =
  'I hear you, bedtime can be hard. 1. Keep a calm routine [1]. ' +
  '2. Dim the lights an hour before bed [2]. 3. Keep the same wake time [1].';

let proc;
let base;

before(async () => {
  proc = spawn(process.execPath, [FAKE, '--port', '0'], { stdio: ['ignore', 'pipe', 'inherit'] });
  const line = await new Promise((resolve, reject) => {
    let buf = '';
    const timer = setTimeout(() => reject(new Error('fake did not start')), 5000);
    proc.stdout.on('data', (d) => {
      buf += d;
      if (buf.includes('\n')) {
        clearTimeout(timer);
        resolve(buf);
      }
    });
    proc.on('exit', (code) => reject(new Error(`fake exited ${code}`)));
  });
  const m = /^listening (\d+)\n$/.exec(line);
  assert.ok(m, `first stdout line should be "listening <port>", got ${JSON.stringify(line)}`);
  base = `http://127.0.0.1:${m[1]}`;
});

after(() => {
  proc.kill('SIGTERM');
});

function request(content, { headers = {}, usage = true, signal, body } = {}) {
  return fetch(`${base}/v1/chat/completions`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json', Authorization: 'Bearer sk-test-secret', ...headers },
    body:
      body ??
      JSON.stringify({
        model: 'fake-model',
        messages: [
          { role: 'system', content: 'You are a parenting coach. [[status:500]]' },
          { role: 'user', content: 'earlier question [[status:500]]' },
          { role: 'assistant', content: 'earlier answer' },
          { role: 'user', content },
        ],
        stream: true,
        ...(usage ? { stream_options: { include_usage: true } } : {}),
      }),
    signal,
  });
}

// Reads the whole body as text; a cut connection ends the read early and
// sets `error` instead of throwing, keeping what had arrived.
async function readAll(res) {
  const reader = res.body.getReader();
  const dec = new TextDecoder();
  let text = '';
  let error = null;
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      text += dec.decode(value, { stream: true });
    }
  } catch (e) {
    error = e;
  }
  return { text, error };
}

// WHATWG-style framing: lines end at CRLF, LF or CR; a blank line ends an
// event; returns the data of each event.
function sseData(text) {
  const events = [];
  let data = null;
  for (const line of text.split(/\r\n|\r|\n/)) {
    if (line === '') {
      if (data !== null) events.push(data.join('\n'));
      data = null;
    } else if (line.startsWith('data:')) {
      (data ??= []).push(line.slice(5).replace(/^ /, ''));
    }
  }
  return events;
}

const contentOf = (chunks) =>
  chunks
    .filter((c) => c.choices?.length && typeof c.choices[0].delta?.content === 'string')
    .map((c) => c.choices[0].delta.content)
    .join('');

test('streams the OpenAI wire format: role, words, stop, usage, [DONE]', async () => {
  await fetch(`${base}/__reset`, { method: 'POST' });
  const res = await request('My toddler fights bedtime, what can I do?');
  assert.equal(res.status, 200);
  assert.match(res.headers.get('content-type'), /^text\/event-stream/);
  const { text, error } = await readAll(res);
  assert.equal(error, null);
  assert.ok(text.endsWith('data: [DONE]\n\n'), 'ends with [DONE] and a blank line');
  assert.ok(!text.includes('\r'), 'LF line endings by default');
  for (const ev of text.split('\n\n').slice(0, -1)) assert.match(ev, /^data: /, 'each event is one data line');

  const data = sseData(text);
  assert.equal(data.at(-1), '[DONE]');
  const chunks = data.slice(0, -1).map((d) => JSON.parse(d));
  assert.deepEqual(chunks[0].choices[0].delta, { role: 'assistant', content: '' });
  for (const c of chunks) {
    assert.match(c.id, /^chatcmpl-/);
    assert.equal(c.object, 'chat.completion.chunk');
    assert.equal(c.model, 'fake-model');
    assert.equal(typeof c.created, 'number');
  }
  assert.equal(contentOf(chunks), DEFAULT_ANSWER);
  const words = chunks.filter((c) => c.choices.length && c.choices[0].delta.content);
  assert.ok(words.length >= 20, `answer split into word-sized chunks (${words.length})`);
  for (const w of words) assert.equal(w.choices[0].finish_reason, null);

  const finish = chunks.at(-2);
  assert.deepEqual(finish.choices[0].delta, {});
  assert.equal(finish.choices[0].finish_reason, 'stop');
  const usage = chunks.at(-1);
  assert.deepEqual(usage.choices, []);
  assert.equal(usage.usage.completion_tokens, words.length);
  assert.ok(usage.usage.prompt_tokens > 0);
  assert.equal(usage.usage.total_tokens, usage.usage.prompt_tokens + usage.usage.completion_tokens);

  const stats = await (await fetch(`${base}/__stats`)).json();
  assert.equal(stats.requests, 1);
  assert.equal(stats.last_request.has_auth, true);
  assert.equal(stats.last_request.headers.authorization, 'Bearer <redacted>');
  assert.ok(!JSON.stringify(stats).includes('sk-test-secret'), 'the key never shows');
  assert.equal(stats.last_request.body.model, 'fake-model');
});

test('no usage chunk unless stream_options.include_usage', async () => {
  const { text } = await readAll(await request('hello', { usage: false }));
  const chunks = sseData(text).slice(0, -1).map((d) => JSON.parse(d));
  assert.ok(chunks.every((c) => c.choices.length === 1 && !('usage' in c)));
});

test('429 with Retry-After and an OpenAI error body', async () => {
  const res = await request('too many? [[retry-after:7]] [[status:429]]');
  assert.equal(res.status, 429);
  assert.equal(res.headers.get('retry-after'), '7');
  const body = await res.json();
  assert.equal(body.error.code, 'rate_limit_exceeded');
  assert.equal(typeof body.error.message, 'string');

  const plain = await request('[[status:500]]');
  assert.equal(plain.status, 500);
  assert.equal(plain.headers.get('retry-after'), null);
  assert.equal((await plain.json()).error.type, 'server_error');
});

test('[[cut:2]] destroys the socket after two content chunks', async () => {
  const res = await request('[[cut:2]] bedtime');
  assert.equal(res.status, 200);
  const { text, error } = await readAll(res);
  assert.ok(error, 'the body read fails: the connection was cut');
  const data = sseData(text);
  assert.ok(!data.includes('[DONE]'));
  const chunks = data.map((d) => JSON.parse(d));
  const words = chunks.filter((c) => c.choices[0].delta.content);
  assert.equal(words.length, 2);
  assert.equal(contentOf(chunks), 'I hear');
});

test('[[fail-once:500]] fails the first request only; /__reset forgets', async () => {
  const q = 'retry me [[fail-once:500]]';
  assert.equal((await request(q)).status, 500);
  const ok = await request(q);
  assert.equal(ok.status, 200);
  assert.equal(contentOf(sseData((await readAll(ok)).text).slice(0, -1).map((d) => JSON.parse(d))), DEFAULT_ANSWER);
  await fetch(`${base}/__reset`, { method: 'POST' });
  assert.equal((await request(q)).status, 500);
  const stats = await (await fetch(`${base}/__stats`)).json();
  assert.equal(stats.requests, 1);
});

test('only the last user message (or X-Fake-Mode) picks the mode', async () => {
  const body = JSON.stringify({
    model: 'm',
    stream: true,
    messages: [
      { role: 'user', content: [{ type: 'text', text: 'parts [[text:from%20parts]]' }] },
      { role: 'assistant', content: 'prefill [[status:500]]' },
    ],
  });
  const res = await request('', { body });
  assert.equal(res.status, 200);
  const chunks = sseData((await readAll(res)).text).slice(0, -1).map((d) => JSON.parse(d));
  assert.equal(contentOf(chunks), 'from parts');
  const hdr = await request('[[status:500]]', { headers: { 'X-Fake-Mode': '[[status:429]]' } });
  assert.equal(hdr.status, 429);
});

test('400 on a body that is not a streaming chat request', async () => {
  for (const body of [
    '{not json',
    JSON.stringify({ model: 'm', messages: [{ role: 'user', content: 'x' }] }),
    JSON.stringify({ messages: [{ role: 'user', content: 'x' }], stream: true }),
    JSON.stringify({ model: 'm', messages: [], stream: true }),
    // a second system message, refused as strict chat templates do
    JSON.stringify({ model: 'm', stream: true, messages: [{ role: 'system', content: 'a' },
      { role: 'system', content: 'b' }, { role: 'user', content: 'x' }] }),
  ]) {
    const res = await request('', { body });
    assert.equal(res.status, 400, body);
    assert.equal(typeof (await res.json()).error.message, 'string');
  }
});

test('modes: crlf, llama timings, malformed, error-event, X-Fake-Mode, text, xss, dose, cite', async () => {
  const crlf = (await readAll(await request('[[crlf]]'))).text;
  assert.ok(crlf.endsWith('data: [DONE]\r\n\r\n'));
  assert.ok(!/[^\r]\n/.test(crlf), 'every LF follows a CR');

  const llama = sseData((await readAll(await request('[[llama]]'))).text);
  const last = JSON.parse(llama.at(-2));
  assert.equal(last.choices[0].finish_reason, 'stop');
  assert.equal(typeof last.timings.predicted_per_second, 'number');
  assert.ok(last.usage.completion_tokens > 0);

  const bad = sseData((await readAll(await request('[[malformed]]'))).text);
  const unparsable = bad.filter((d) => {
    try {
      JSON.parse(d);
      return false;
    } catch {
      return d !== '[DONE]';
    }
  });
  assert.equal(unparsable.length, 1);
  assert.equal(bad.at(-1), '[DONE]');

  const ee = sseData((await readAll(await request('[[error-event]]'))).text);
  assert.deepEqual(JSON.parse(ee.at(-1)), { error: { message: 'upstream exploded' } });

  const hdr = sseData((await readAll(await request('plain question', { headers: { 'X-Fake-Mode': 'text:Hi%20there%21' } }))).text);
  assert.equal(contentOf(hdr.slice(0, -1).map((d) => JSON.parse(d))), 'Hi there!');

  const xss = contentOf(sseData((await readAll(await request('[[xss]]'))).text).slice(0, -1).map((d) => JSON.parse(d)));
  for (const s of ['<img src=x onerror=alert(1)>', '<script>alert(1)</script>', '[x](javascript:alert(1))',
    '![](http://evil.example/x.png)', '\n\ndata: {"done":true}\n\n'])
    assert.ok(xss.includes(s), s);

  const dose = contentOf(sseData((await readAll(await request('[[dose]]'))).text).slice(0, -1).map((d) => JSON.parse(d)));
  assert.ok(dose.includes('Give 5 ml of infant ibuprofen every 6 hours.'));
  const cite = contentOf(sseData((await readAll(await request('[[cite:42]]'))).text).slice(0, -1).map((d) => JSON.parse(d)));
  assert.ok(cite.includes('[42]'));
});

test('[[slow:MS]] spaces the chunks out', async () => {
  const t0 = Date.now();
  const { text } = await readAll(await request('[[slow:10]]'));
  assert.ok(Date.now() - t0 >= 10 * 20, 'about 30 chunks at 10 ms each');
  assert.ok(text.endsWith('data: [DONE]\n\n'));
});

test('[[hang]] never answers and [[hang-after:1]] stalls after one chunk', async () => {
  await assert.rejects(request('[[hang]]', { signal: AbortSignal.timeout(300) }), { name: 'TimeoutError' });

  const ctl = new AbortController();
  const res = await request('[[hang-after:1]]', { signal: ctl.signal });
  assert.equal(res.status, 200);
  const reader = res.body.getReader();
  const dec = new TextDecoder();
  let text = '';
  const deadline = Date.now() + 400;
  let pending = null;
  while (Date.now() < deadline) {
    pending ??= reader.read();
    const r = await Promise.race([pending, new Promise((ok) => setTimeout(() => ok(null), 100))]);
    if (r === null) continue; // nothing yet: keep waiting on the same read
    pending = null;
    if (r.done) break;
    text += dec.decode(r.value, { stream: true });
  }
  ctl.abort();
  pending?.catch(() => {});
  const chunks = sseData(text).map((d) => JSON.parse(d));
  assert.equal(chunks.length, 2, 'role chunk + one content chunk, then nothing');
  assert.equal(chunks[1].choices[0].delta.content, 'I');
});
