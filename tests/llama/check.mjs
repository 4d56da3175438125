// coachd --engine openai against the real llama.cpp server (llama-server)
// running the hand-built bigram-chain model of make_model.py. Started by
// tests/llama/run.sh, which starts the llama-servers and passes:
//   LLAMA_URL          main llama-server (large enough context), e.g. http://127.0.0.1:PORT
//   LLAMA_PID          its pid (the last case kills it mid-answer)
//   LLAMA_SMALL_URL    a llama-server with -c 256 (every coachd prompt overflows it)
//   LLAMA_PROMPTS_DIR  the main server's --log-prompts-dir, seen from the host
//   MODEL_JSON         the answer and its pieces, written by make_model.py
//   WORK               a scratch directory for captures
//   COACHD_BIN         the coachd binary (read by ../e2e/lib.mjs)
//   THINK_JSON, LLAMA_THINK_RAW_URL, LLAMA_THINK_PARSED_URL
//                      the thinking variant of the model, served with
//                      --reasoning-format none and deepseek
// Prints every check as PASS/FAIL (NOTE for observations), exits 1 on a FAIL.
import http from 'node:http';
import { execFileSync } from 'node:child_process';
import { readFileSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { isDeepStrictEqual } from 'node:util';
import { startServer, api, newSession, parseSSE, sleep } from '../e2e/lib.mjs';

const env = (k) => { if (!process.env[k]) throw new Error(`${k} is not set`); return process.env[k]; };
const LLAMA_URL = env('LLAMA_URL');
const LLAMA_PID = Number(env('LLAMA_PID'));
const LLAMA_SMALL_URL = env('LLAMA_SMALL_URL');
const PROMPTS_DIR = env('LLAMA_PROMPTS_DIR');
const WORK = env('WORK');
const MODEL = JSON.parse(readFileSync(env('MODEL_JSON'), 'utf8'));
const THINK = JSON.parse(readFileSync(env('THINK_JSON'), 'utf8'));
const THINK_URLS = { raw: env('LLAMA_THINK_RAW_URL'), parsed: env('LLAMA_THINK_PARSED_URL') };
const Q = 'How do I handle bedtime?';
const BASE_ARGS = ['--engine', 'openai', '--model', 'local', '--quiet',
  '--first-token-timeout-s', '120', '--total-timeout-s', '300'];

const results = [];
function check(name, ok, detail = '') {
  results.push({ name, ok: !!ok });
  console.log(`${ok ? 'PASS' : 'FAIL'}  ${name}${detail ? ' — ' + detail : ''}`);
  return !!ok;
}
const note = (s) => console.log(`NOTE  ${s}`);
const info = (s) => console.log(`      ${s}`);
const J = (v) => JSON.stringify(v);

// ---------- helpers ----------

// Reads a coachd SSE stream, calling onEvent(event, elapsedMs) for each event.
function sse(url, onEvent = () => {}) {
  return new Promise((resolve, reject) => {
    const t0 = performance.now();
    const events = [];
    let raw = '', pending = '';
    const req = http.get(url, (res) => {
      res.setEncoding('utf8');
      res.on('data', (d) => {
        raw += d; pending += d;
        let cut;
        while ((cut = pending.indexOf('\n\n')) >= 0) {
          const block = pending.slice(0, cut + 2);
          pending = pending.slice(cut + 2);
          for (const e of parseSSE(block).events) {
            e.ms = performance.now() - t0;
            events.push(e);
            onEvent(e);
          }
        }
      });
      res.on('end', () => resolve({ status: res.statusCode, events, raw, complete: true }));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.setTimeout(300000, () => req.destroy(new Error('stream timeout')));
  });
}

// A recording pass-through proxy: what coachd sent, what llama-server answered.
function startProxy(target) {
  const t = new URL(target);
  const log = [];
  const server = http.createServer((req, res) => {
    const rec = { method: req.method, path: req.url, headers: req.headers, body: '', status: 0,
      resHeaders: null, response: '' };
    log.push(rec);
    const parts = [];
    req.on('data', (d) => parts.push(d));
    req.on('end', () => {
      rec.body = Buffer.concat(parts).toString('utf8');
      const headers = { ...req.headers, host: t.host };
      const up = http.request({ host: t.hostname, port: t.port, method: req.method, path: req.url, headers },
        (ur) => {
          rec.status = ur.statusCode;
          rec.resHeaders = ur.headers;
          const h = { ...ur.headers };
          delete h['transfer-encoding']; delete h['connection']; delete h['keep-alive'];
          res.writeHead(ur.statusCode, h);
          ur.on('data', (d) => { rec.response += d.toString('utf8'); res.write(d); });
          ur.on('end', () => res.end());
          ur.on('close', () => { if (!ur.complete) res.destroy(); });
        });
      up.on('error', () => res.destroy());
      res.on('close', () => up.destroy());
      up.end(Buffer.concat(parts));
    });
  });
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve({
    url: `http://127.0.0.1:${server.address().port}`, log,
    close: () => new Promise((r) => { server.closeAllConnections(); server.close(r); }),
  })));
}

// Data lines of an upstream SSE body: parsed JSON, or the string "[DONE]".
function upstreamEvents(text) {
  const out = [];
  for (const block of text.split(/\r?\n\r?\n/)) {
    const data = block.split(/\r?\n/).filter((l) => l.startsWith('data:')).map((l) => l.slice(5).trimStart());
    if (!data.length) continue;
    const s = data.join('\n');
    out.push(s === '[DONE]' ? '[DONE]' : JSON.parse(s));
  }
  return out;
}

// The newest prompt llama-server logged (--log-prompts-dir).
function newestPrompt() {
  const files = readdirSync(PROMPTS_DIR).map((f) => join(PROMPTS_DIR, f));
  if (!files.length) return null;
  files.sort((a, b) => statSync(a).mtimeMs - statSync(b).mtimeMs);
  return readFileSync(files[files.length - 1], 'utf8');
}

// The passages in a rendered prompt: { n: title }.
function passagesOf(prompt) {
  const out = {};
  for (const m of prompt.matchAll(/^\[(\d+)\] (.+?) \(source: /gm)) out[m[1]] = m[2];
  return out;
}

// What coachd must show for the model's text with k passages: markers past k
// are removed with the blank before them (docs/openai.md).
const shown = (text, k) => text.replace(/ ?\[(\d+)\]/g, (m, n) => (Number(n) >= 1 && Number(n) <= k ? m : ''));
const citedIn = (text, k) => [...new Set([...text.matchAll(/\[(\d+)\]/g)].map((m) => Number(m[1])))]
  .filter((n) => n >= 1 && n <= k).sort((a, b) => a - b);
const ws = (s) => s.replace(/\s+/g, ' ').trim();

function dbRow(db, id) {
  try {
    const out = execFileSync('sqlite3', ['-json', db,
      `SELECT role, status, engine, prompt_version, prompt_tokens, completion_tokens, length(content) AS chars
       FROM messages WHERE id = '${id.replace(/'/g, "''")}'`], { encoding: 'utf8' });
    return JSON.parse(out || '[]')[0] || null;
  } catch (e) {
    return { error: String(e.message || e).split('\n')[0] };
  }
}

async function coachd(upstream, extra = []) {
  return startServer([...BASE_ARGS, ...extra], { OPENAI_BASE_URL: upstream + '/v1' });
}

async function ask(srv, onEvent) {
  const sid = await newSession(srv.base);
  const r = await sse(`${srv.base}/api/coach/stream/${sid}?question=${encodeURIComponent(Q)}`, onEvent);
  const chunks = r.events.filter((e) => 'chunk' in e.data);
  const errors = r.events.filter((e) => e.data.type === 'error');
  const last = r.events[r.events.length - 1];
  const done = last && last.data.done ? last.data : null;
  const hist = await api(srv.base, 'GET', `/api/coach/sessions/${sid}`);
  const saved = hist.json && hist.json.messages ? hist.json.messages[hist.json.messages.length - 1] : null;
  return { sid, ...r, chunks, errors, done, text: chunks.map((e) => e.data.chunk).join(''), saved };
}

function printChunks(chunks) {
  for (const e of chunks) info(`chunk @${e.ms.toFixed(0).padStart(5)} ms ${J(e.data.chunk)}`);
}

// A cut answer claims only the passages it cited before the cut (a whole
// answer that cited none rests on every passage it was given).
function checkCutCitations(case_, r) {
  const cited = [...new Set([...r.text.matchAll(/\[(\d+)\]/g)].map((m) => Number(m[1])))].sort();
  check(`${case_} citations of the cut answer = the [n] it showed`, r.done &&
    J(r.done.citations.map((c) => c.id).sort()) === J(cited), J(r.done?.citations.map((c) => c.id)));
}

async function stopClean(srv, name) {
  try { await srv.stop(); check(`${name}: coachd exited 0 on SIGTERM`, true); }
  catch (e) { check(`${name}: coachd exited 0 on SIGTERM`, false, String(e.message).slice(0, 300)); }
  finally { srv.cleanup(); }
}

// ---------- the cases ----------

const answer = MODEL.answer;
let K = 5;                    // passages coachd gave the model (case 1 reads it)

async function caseStream() {
  console.log('\n== 1. stream an answer: coachd -> llama-server (direct)');
  const srv = await coachd(LLAMA_URL);
  try {
    const r = await ask(srv);
    const prompt = newestPrompt();
    check('1 llama-server logged the rendered prompt', prompt);
    const passages = prompt ? passagesOf(prompt) : {};
    const k = Object.keys(passages).length;
    K = k;
    info(`passages given to the model (k = ${k}): ${J(passages)}`);
    const expected = shown(answer, k);
    const cited = citedIn(answer, k);

    check('1 HTTP 200 text/event-stream', r.status === 200);
    info(`${r.chunks.length} chunk events from ${MODEL.pieces.length} model tokens:`);
    printChunks(r.chunks);
    // words go out as they come; only from a sentence's first number (the
    // "1." list numbers here are not) to its end, or a split [7, do they wait
    check('1 word by word: more than half the model tokens are chunk events of their own',
      r.chunks.length > MODEL.pieces.length / 2, `${r.chunks.length} of ${MODEL.pieces.length}`);
    check('1 no error event', r.errors.length === 0, r.errors.map((e) => J(e.data)).join(' '));
    if (r.text === expected) check('1 answer = model text with the out-of-range [7] removed', true);
    else if (ws(r.text) === ws(expected)) {
      check('1 answer = model text with [7] removed (up to whitespace)', true);
      note(`whitespace differs: got ${J(r.text)}, expected ${J(expected)}`);
    } else check('1 answer = model text with [7] removed', false, `got ${J(r.text)}\n      expected ${J(expected)}`);
    check('1 [7] never shown', !/\[7\]/.test(r.text));
    check('1 done is the last event', r.done, J(r.events[r.events.length - 1]?.data));
    const ids = r.done ? r.done.citations.map((c) => c.id) : [];
    check('1 done.citations = the cited passages', isDeepStrictEqual(ids, cited), `ids ${J(ids)}, cited ${J(cited)}`);
    const titlesOk = r.done && r.done.citations.every((c) => passages[c.id] === c.title);
    check('1 each citation is the passage the model was given under that number', titlesOk,
      r.done ? J(r.done.citations.map((c) => [c.id, c.source, c.title])) : '');
    if (r.done) info(`done: ${J(r.done)}`);

    // What the template made of coachd's messages.
    if (prompt) {
      const nsys = prompt.split('<|im_start|>system\n').length - 1;
      check('1 rendered prompt: one system turn, first', nsys === 1 && prompt.startsWith('<|im_start|>system\n'));
      check('1 rendered prompt ends with the question and the generation prompt',
        prompt.endsWith(`<|im_start|>user\n${Q}<|im_end|>\n<|im_start|>assistant\n`));
      info(`rendered prompt: ${Buffer.byteLength(prompt)} bytes`);
    }

    // Saved: through the API, then tokens from SQLite (the API does not expose them).
    const s = r.saved;
    check('1 history: answer saved, status complete', s && s.role === 'assistant' && s.status === 'complete', s && s.status);
    check('1 history: saved text = streamed text', s && s.content === r.text);
    check('1 history: saved citations = done.citations', s && r.done && isDeepStrictEqual(s.citations, r.done.citations));
    const row = r.done ? dbRow(srv.db, r.done.message_id) : null;
    info(`sqlite: ${J(row)}`);
    return { row, done: r.done, expected, cited, k };
  } finally { await stopClean(srv, '1'); }
}

async function caseWire(first) {
  console.log('\n== 2. the same through a recording proxy: what coachd sent, what llama-server streamed');
  const proxy = await startProxy(LLAMA_URL);
  const srv = await coachd(proxy.url);
  try {
    const r = await ask(srv);
    const up = proxy.log.filter((x) => x.path.endsWith('/chat/completions'));
    check('2 one upstream request', up.length === 1, `${up.length}`);
    const rec = up[0];
    if (!rec) return;
    writeFileSync(join(WORK, 'request.json'), rec.body);
    const body = JSON.parse(rec.body);
    const brief = { ...body, messages: body.messages.map((m) => ({ role: m.role, content: m.content.length > 80
      ? m.content.slice(0, 60) + ` ...(${m.content.length} chars)... ` + m.content.slice(-40) : m.content })) };
    info(`POST ${rec.path}, ${Buffer.byteLength(rec.body)} bytes, headers ${J(Object.keys(rec.headers))}`);
    info(`body: ${J(brief)}`);
    check('2 request: stream, include_usage, max_tokens 700, temperature 0.3, model',
      body.stream === true && body.stream_options?.include_usage === true && body.max_tokens === 700 &&
      Math.abs(body.temperature - 0.3) < 1e-9 && body.model === 'local');
    check('2 request: messages = [system, user(question)]',
      body.messages.length === 2 && body.messages[0].role === 'system' && body.messages[1].role === 'user' &&
      body.messages[1].content === Q);
    check('2 request: no Authorization header without a key', !('authorization' in rec.headers));

    const evs = upstreamEvents(rec.response);
    const deltas = evs.filter((e) => e !== '[DONE]' && e.choices?.[0]?.delta?.content);
    const finish = evs.filter((e) => e !== '[DONE]' && e.choices?.[0]?.finish_reason);
    const usageEv = evs.filter((e) => e !== '[DONE]' && e.usage);
    info(`llama-server: HTTP ${rec.status} ${rec.resHeaders['content-type']}, ${evs.length} data events: ` +
      `1 role, ${deltas.length} content, ${finish.length} finish (${finish.map((e) => e.choices[0].finish_reason)}), ` +
      `${usageEv.length} usage, ${evs.filter((e) => e === '[DONE]').length} [DONE]`);
    check('2 llama-server: first event is the role delta with null content',
      evs[0]?.choices?.[0]?.delta?.role === 'assistant' && evs[0].choices[0].delta.content === null);
    check('2 llama-server: one content delta per model token, in order',
      isDeepStrictEqual(deltas.map((e) => e.choices[0].delta.content), MODEL.pieces),
      `${deltas.length} deltas vs ${MODEL.pieces.length} pieces`);
    check('2 llama-server: finish_reason stop, then a usage chunk with empty choices and timings, then [DONE]',
      finish.length === 1 && finish[0].choices[0].finish_reason === 'stop' && usageEv.length === 1 &&
      Array.isArray(usageEv[0].choices) && usageEv[0].choices.length === 0 && usageEv[0].timings &&
      evs[evs.length - 1] === '[DONE]' && evs[evs.length - 2] === usageEv[0]);
    const u = usageEv[0]?.usage;
    info(`usage: ${J(u)}`);
    check('2 completion_tokens = pieces + end-of-generation token', u && u.completion_tokens === MODEL.pieces.length + 1,
      u && `${u.completion_tokens}`);
    check('2 coachd relayed the same answer as in case 1', first && r.text === first.expected && r.errors.length === 0);
    const row = r.done ? dbRow(srv.db, r.done.message_id) : null;
    info(`sqlite: ${J(row)}`);
    if (row && !row.error) {
      check('2 saved token usage = llama-server usage', u && row.prompt_tokens === u.prompt_tokens &&
        row.completion_tokens === u.completion_tokens, `${row.prompt_tokens}/${row.completion_tokens}`);
      check('2 saved engine openai, prompt version from the prompt file',
        row.engine === 'openai' && /^coach-/.test(row.prompt_version || ''), `${row.engine} ${row.prompt_version}`);
    } else note(`token usage not checked: ${row && row.error}`);
    if (first?.row && !first.row.error && u) {
      check('1 saved token usage = llama-server usage (same prompt)',
        first.row.prompt_tokens === u.prompt_tokens && first.row.completion_tokens === u.completion_tokens,
        `${first.row.prompt_tokens}/${first.row.completion_tokens}`);
    }

    // The same request replayed with curl, for the record.
    const raw = execFileSync('curl', ['-sN', '-H', 'content-type: application/json', '--data-binary',
      '@' + join(WORK, 'request.json'), LLAMA_URL + '/v1/chat/completions'], { encoding: 'utf8' });
    writeFileSync(join(WORK, 'llama-raw.sse'), raw);
    const lines = raw.split('\n').filter((l) => l.startsWith('data:'));
    info('curl replay of that body, straight to llama-server:');
    info('  first content chunk: ' + lines.find((l) => l.includes('"content":"')));
    info('  finish chunk:        ' + lines.find((l) => /"finish_reason":"/.test(l)));
    info('  usage chunk:         ' + lines.find((l) => l.includes('"usage"')));
    info('  last line:           ' + lines[lines.length - 1]);
  } finally { await stopClean(srv, '2'); await proxy.close(); }
}

async function caseTemplate() {
  console.log('\n== 3. the chat template is strict: a second system message is refused');
  const bad = { stream: true, messages: [{ role: 'system', content: 'a' }, { role: 'user', content: Q },
    { role: 'system', content: 'b' }] };
  const res = await fetch(LLAMA_URL + '/v1/chat/completions', { method: 'POST',
    headers: { 'content-type': 'application/json' }, body: J(bad) });
  const text = await res.text();
  info(`[system, user, system] -> HTTP ${res.status} ${text.slice(0, 160).replace(/\n/g, '\\n')}...`);
  check('3 llama-server refuses a late system message (raise_exception in the template)',
    res.status >= 400 && /System message must be the first message/.test(text));
}

async function caseMaxTokens() {
  console.log('\n== 4. --max-tokens 16 (the minimum coachd accepts): llama-server stops with finish_reason "length"');
  const proxy = await startProxy(LLAMA_URL);
  const srv = await coachd(proxy.url, ['--max-tokens', '16']);
  try {
    const r = await ask(srv);
    const evs = upstreamEvents(proxy.log[0]?.response || '');
    const fin = evs.find((e) => e !== '[DONE]' && e.choices?.[0]?.finish_reason);
    info(`llama-server finish_reason: ${fin && fin.choices[0].finish_reason}`);
    printChunks(r.chunks);
    info(`errors: ${J(r.errors.map((e) => e.data))}; done: ${J(r.done && { ...r.done, citations: r.done.citations.map((c) => c.id) })}`);
    info(`saved: status ${r.saved?.status}, content ${J(r.saved?.content)}`);
    const cut = MODEL.pieces.slice(0, 16).join('');
    check('4 done last; shown text is the 16-token head of the answer', r.done &&
      r.text.replace(/\s+$/, '') === cut.replace(/\s+$/, ''), `got ${J(r.text)}, model said ${J(cut)}`);
    check('4 llama-server ended with finish_reason "length"', fin && fin.choices[0].finish_reason === 'length');
    check('4 the cut is said: one error event about the length limit, then done',
      r.errors.length === 1 && /length limit/.test(r.errors[0].data.message) &&
      r.events.at(-2)?.data.type === 'error', J(r.errors.map((e) => e.data)));
    check('4 saved incomplete', r.saved?.status === 'incomplete', r.saved?.status);
    checkCutCitations('4', r);
  } finally { await stopClean(srv, '4'); await proxy.close(); }
}

async function caseOverflow() {
  console.log('\n== 5. prompt larger than the context: llama-server -c 256');
  const proxy = await startProxy(LLAMA_SMALL_URL);
  const srv = await coachd(proxy.url);
  try {
    const r = await ask(srv);
    const up = proxy.log.filter((x) => x.path.endsWith('/chat/completions'));
    for (const x of up) info(`llama-server answered HTTP ${x.status} ${x.resHeaders?.['content-type']}: ${x.response}`);
    check('5 llama-server refuses with HTTP 400 exceed_context_size_error (not in the stream)',
      up.length >= 1 && up[0].status === 400 && /exceed_context_size_error/.test(up[0].response));
    check('5 coachd did not retry a 400', up.length === 1, `${up.length} requests`);
    info(`coachd events: ${J(r.events.map((e) => e.data))}`);
    check('5 no chunk', r.chunks.length === 0);
    const ei = r.events.findIndex((e) => e.data.type === 'error');
    check('5 one error event, then done (last)', r.errors.length === 1 && r.done && ei === r.events.length - 2);
    check('5 saved: status incomplete, no text', r.saved && r.saved.role === 'assistant' &&
      r.saved.status === 'incomplete' && r.saved.content === '', r.saved && `${r.saved.status} ${J(r.saved.content)}`);
    if (r.done) info(`sqlite: ${J(dbRow(srv.db, r.done.message_id))}`);
    const log = srv.logs().split('\n').filter((l) => /upstream/.test(l));
    info(`coachd log: ${J(log)}`);
    const raw = execFileSync('curl', ['-s', '-i', '-H', 'content-type: application/json', '--data-binary',
      '@' + join(WORK, 'request.json'), LLAMA_SMALL_URL + '/v1/chat/completions'], { encoding: 'utf8' });
    info('curl replay to the -c 256 server: ' + raw.split('\r\n')[0] + ' | ' + raw.slice(raw.indexOf('\r\n\r\n') + 4));
  } finally { await stopClean(srv, '5'); await proxy.close(); }
}

async function caseKill() {
  console.log('\n== 6. llama-server killed (SIGKILL) after the first chunk');
  const srv = await coachd(LLAMA_URL);
  try {
    let killedAt = null;
    const r = await ask(srv, (e) => {
      if (killedAt === null && 'chunk' in e.data) {
        killedAt = e.ms;
        try { process.kill(LLAMA_PID, 'SIGKILL'); } catch { /* gone */ }
      }
    });
    let dead = false;
    for (let i = 0; i < 50 && !dead; i++) { try { process.kill(LLAMA_PID, 0); await sleep(100); } catch { dead = true; } }
    info(`killed at ${killedAt && killedAt.toFixed(0)} ms; llama-server gone: ${dead}`);
    printChunks(r.chunks);
    info(`errors: ${J(r.errors.map((e) => e.data))}; done: ${J(r.done && { ...r.done, citations: r.done.citations.map((c) => c.id) })}`);
    info(`saved: status ${r.saved?.status}, content ${J(r.saved?.content)}`);
    if (r.errors.length === 0 && r.done && r.text === shown(answer, K)) {
      note('6 skipped: the whole answer arrived before the kill took effect');
      return;
    }
    const full = shown(answer, K);
    check('6 the text before the cut is a head of the answer', full.startsWith(r.text) && r.text.length < full.length);
    const ei = r.events.findIndex((e) => e.data.type === 'error');
    check('6 one error event, then done (last)', r.errors.length === 1 && r.done && ei === r.events.length - 2);
    checkCutCitations('6', r);
    check('6 saved: status incomplete, with the text shown', r.saved && r.saved.status === 'incomplete' &&
      r.saved.content === r.text);
    info(`coachd log: ${J(srv.logs().split('\n').filter((l) => /upstream/.test(l)))}`);
  } finally { await stopClean(srv, '6'); }
}

async function caseThink() {
  console.log('\n== 7. a thinking model: thoughts in the content (<think>) or as reasoning_content');
  const expected = shown(THINK.answer, K);
  for (const [how, url] of Object.entries(THINK_URLS)) {
    const proxy = await startProxy(url);
    const srv = await coachd(proxy.url);
    try {
      const r = await ask(srv);
      const evs = upstreamEvents(proxy.log[0]?.response || '').filter((e) => e !== '[DONE]');
      const first = evs.find((e) => e.choices?.[0]?.delta?.content || e.choices?.[0]?.delta?.reasoning_content);
      info(`${how}: llama-server's first delta: ${J(first?.choices?.[0]?.delta)}`);
      const thoughtDeltas = evs.filter((e) => e.choices?.[0]?.delta?.reasoning_content).length;
      const inContent = evs.some((e) => (e.choices?.[0]?.delta?.content || '').includes('<think>'));
      info(`${how}: ${thoughtDeltas} reasoning_content deltas; <think> in the content: ${inContent}`);
      // With --reasoning-format deepseek llama-server moves the thoughts to
      // reasoning_content only for templates it knows as thinking ones;
      // this ChatML one is not (seen with 0.7.0), so both send <think>.
      if (how === 'raw') check('7 raw: llama-server sent the thoughts in the content', inContent);
      else note(`7 parsed: --reasoning-format deepseek sent the thoughts ${thoughtDeltas ? 'as reasoning_content' :
        'in the content too (the template is not one llama-server knows as thinking)'}`);
      check(`7 ${how}: no error`, r.errors.length === 0, J(r.errors.map((e) => e.data)));
      check(`7 ${how}: the answer without the thoughts`, r.text === expected || ws(r.text) === ws(expected),
        `got ${J(r.text.slice(0, 120))}`);
      check(`7 ${how}: no thought reached the parent`, !/think>|parent asks|melatonin/.test(r.raw));
      check(`7 ${how}: saved complete, as shown`, r.saved && r.saved.status === 'complete' &&
        r.saved.content === r.text);
    } finally { await stopClean(srv, `7 ${how}`); await proxy.close(); }
  }
}

// ---------- main ----------

console.log(`model answer (${MODEL.pieces.length} tokens): ${J(answer)}`);
let first = null;
for (const [name, fn] of [['1', async () => { first = await caseStream(); }], ['2', () => caseWire(first)],
  ['3', caseTemplate], ['4', caseMaxTokens], ['5', caseOverflow], ['7', caseThink], ['6', caseKill]]) {
  try { await fn(); } catch (e) { check(`${name} ran without an exception`, false, e.stack || String(e)); }
}
const failed = results.filter((r) => !r.ok);
console.log(`\n${failed.length ? 'FAIL' : 'PASS'}: ${results.length - failed.length}/${results.length} checks passed` +
  (failed.length ? '; failed: ' + failed.map((r) => r.name).join('; ') : ''));
process.exit(failed.length ? 1 : 0);
