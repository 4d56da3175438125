// A client that stops reading is dropped once its unsent output passes
// --stream-buffer-kb, so what the server holds for it stays bounded (the
// per-stream memory itself is measured in bench/); the answer goes on for
// everyone else, and the dropped client can resume from its last event id.
// Uses the fake OpenAI upstream ([[words:N]] gives a long stream) and
// build/*/tests/slowclient (a C client with a tiny receive buffer).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import { startServer, api, newSession, stream, textOf, parseSSE, ROOT } from './lib.mjs';

const SLOW = process.env.SLOWCLIENT || join(ROOT, 'build', 'release', 'tests', 'slowclient');

function startFake() {
  return new Promise((resolve, reject) => {
    const proc = spawn(process.execPath, [join(ROOT, 'tests', 'fake_openai.mjs'), '--port', '0'],
      { stdio: ['ignore', 'pipe', 'inherit'] });
    let buf = '';
    proc.stdout.on('data', (d) => {
      buf += d;
      const m = /^listening (\d+)\n/.exec(buf);
      if (m) resolve({ proc, port: Number(m[1]) });
    });
    proc.on('exit', (code) => reject(new Error(`fake exited ${code}`)));
  });
}

// Runs fn(srv) against coachd --engine openai on the fake upstream, with a
// 1,000-word answer already asked; prints the server's log on failure. The
// words start after 1 s, so the clients subscribe while the answer is live:
// a subscriber that comes after the end gets the backlog, which is bounded
// by the answer's size, not by --stream-buffer-kb (a CI run once lost that
// race: the whole answer was relayed before the slow client had connected).
async function withLongAnswer(args, fn) {
  const fake = await startFake();
  const srv = await startServer(['--engine', 'openai', '--grace-s', '30', ...args],
    { OPENAI_BASE_URL: `http://127.0.0.1:${fake.port}/v1`, OPENAI_API_KEY: '' });
  try {
    const sid = await newSession(srv.base);
    const r = await api(srv.base, 'POST', `/api/coach/sessions/${sid}/messages`,
      { question: 'tell me about bedtime routines [[words:1000@1000]]' });
    assert.equal(r.status, 202);
    await fn(srv, r.json.stream_url);
  } catch (e) {
    console.error(srv.logs());
    throw e;
  } finally {
    await srv.stop();
    srv.cleanup();
    fake.proc.kill();
  }
}

function runSlow(port, path, holdMs, env = {}) {
  return new Promise((resolve, reject) => {
    const p = spawn(SLOW, [String(port), path, String(holdMs)], { stdio: ['ignore', 'pipe', 'inherit'],
      env: { ...process.env, ...env } });
    let out = '';
    p.stdout.on('data', (d) => { out += d; });
    p.on('exit', (code) => (code === 0 ? resolve(JSON.parse(out)) : reject(new Error('slowclient ' + code))));
  });
}

// Strictly decodes an HTTP/1.1 chunked body: every size line, every CRLF.
function dechunk(buf) {
  const parts = [];
  let at = 0;
  for (;;) {
    const nl = buf.indexOf('\r\n', at);
    assert.ok(nl > at, `a chunk size line at byte ${at}`);
    const size = parseInt(buf.subarray(at, nl).toString('latin1'), 16);
    assert.ok(Number.isInteger(size), `a hex chunk size at byte ${at}`);
    at = nl + 2;
    if (size === 0) return Buffer.concat(parts);
    parts.push(buf.subarray(at, at + size));
    assert.equal(buf.subarray(at + size, at + size + 2).toString('latin1'), '\r\n', `CRLF after the chunk at ${at}`);
    at += size + 2;
  }
}

// Frames are written straight to the socket while it takes them; when it
// is full the rest of a frame (cut anywhere, even inside the chunk header)
// waits in libevent's buffer. A reader that falls behind and then catches
// up must get exactly the stream a prompt reader got: same events, same
// order, valid chunked framing.
test('a reader that falls behind, then catches up, gets every event once and in order', { skip: !existsSync(SLOW) && 'slowclient not built' }, async () => {
  const dir = mkdtempSync(join(os.tmpdir(), 'coachd-slow-'));
  try {
    await withLongAnswer([], async (srv, url) => {
      const out = join(dir, 'raw');
      const slow = runSlow(srv.port, url, 1500, { SLOWCLIENT_OUT: out });
      await new Promise((res) => setTimeout(res, 200));
      const normal = await stream(srv.base + url);
      assert.equal(normal.events.at(-1).data.done, true);
      const s = await slow;
      assert.equal(s.done, 1, 'the slow reader got to the end');
      const raw = readFileSync(out);
      const head = raw.indexOf('\r\n\r\n');
      assert.match(raw.subarray(0, head).toString(), /transfer-encoding: chunked/i);
      const body = dechunk(raw.subarray(head + 4));
      const got = parseSSE(body.toString('utf8')).events;
      assert.ok(got.length > 900, `a long stream (${got.length} events)`);
      assert.deepEqual(got.map((e) => e.id), normal.events.map((e) => e.id));
      assert.deepEqual(got.map((e) => e.data), normal.events.map((e) => e.data));
    });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('a reader that never reads is dropped; others finish; it can resume', { skip: !existsSync(SLOW) && 'slowclient not built' }, async () => {
  await withLongAnswer(['--stream-buffer-kb', '4'], async (srv, url) => {
    // the slow client subscribes first and sleeps 4 s before reading
    const slow = runSlow(srv.port, url, 4000);
    await new Promise((res) => setTimeout(res, 300));
    // The reading client reconnects from its last id if it is cut, as
    // EventSource does: with a 4 KiB limit a reader on a loaded machine can
    // fall behind for a moment too (CI saw it). It still gets every event
    // once, in order, and the end.
    const normal = { events: [] };
    for (let tries = 0; tries < 20 && normal.events.at(-1)?.data.done !== true; tries++) {
      const last = normal.events.at(-1)?.id;
      let part;
      try {
        part = await stream(srv.base + url, last ? { headers: { 'Last-Event-ID': last } } : {});
      } catch (e) {
        // cut before the response head was written (a loaded machine, once
        // locally): EventSource retries a network error the same way
        if (e.code !== 'ECONNRESET') throw e;
        await new Promise((res) => setTimeout(res, 100));
        continue;
      }
      normal.events.push(...part.events);
    }
    assert.equal(normal.events.at(-1).data.done, true, 'the reading client gets the whole answer');
    const seqs = normal.events.map((e) => Number(e.id.split(':')[1]));
    assert.ok(seqs.every((q, i) => i === 0 || q === seqs[i - 1] + 1), 'every event once, in order');
    const words = textOf(normal.events).split(' ').length;
    assert.ok(words >= 900, `a long answer (${words} words)`);
    const s = await slow;
    assert.equal(s.done, 0, 'the slow client was cut before done');
    assert.equal(s.eof, 1, 'the server closed its connection');
    assert.ok(s.bytes < 64 * 1024, `what it was sent stayed bounded (${s.bytes} bytes)`);
    // it resumes where it was cut, and gets the rest exactly once
    assert.match(s.last_id, /:\d+$/);
    const rest = await stream(srv.base + url, { headers: { 'Last-Event-ID': s.last_id } });
    const next = Number(s.last_id.split(':')[1]) + 1;
    assert.equal(Number(rest.events[0].id.split(':')[1]), next);
    assert.equal(rest.events.at(-1).data.done, true);
  });
});
