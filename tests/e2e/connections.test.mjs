// Connection hygiene (issue 16, item 1): connections count from accept,
// request heads and bodies have deadlines, the default cap leaves room
// under the descriptor limit, over the cap is a JSON 503, and running out
// of descriptors neither spins nor floods stderr.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import { readFileSync } from 'node:fs';
import { startServer, api, raw, sleep } from './lib.mjs';

const SECURITY = ['x-content-type-options', 'content-security-policy', 'x-frame-options'];

function assertJsonError(r, status, code) {
  assert.equal(r.status, status, r.text.slice(0, 300));
  assert.ok(r.json && r.json.error, 'a JSON error body: ' + r.text.slice(0, 300));
  if (code) assert.equal(r.json.error.code, code);
  assert.match(r.head, /content-type: application\/json/i);
  for (const h of SECURITY) assert.match(r.head, new RegExp('^' + h + ':', 'im'), h);
}

// CPU seconds (user + system) the process has used, from /proc.
function cpuSeconds(pid) {
  const f = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = f.slice(f.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[11]) + Number(fields[12])) / 100;   // utime, stime in clock ticks
}

// Opens n sockets and keeps them; each records what the server sent.
// The other languages' dictionaries load on a thread at start-up (about
// 6 s of CPU under ASan since the session-13 glossary): wait for them, so
// that the CPU measured below is the event loop's and not the loader's.
// (a closed connection each time: a kept-alive one would count against the
// connection cap the tests below fill)
async function dictionariesLoaded(port) {
  for (let i = 0; i < 600; i++) {
    const r = await raw(port, ['GET /readyz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n']);
    if (r.json && r.json.dictionaries && r.json.dictionaries.ready) return;
    await sleep(100);
  }
  throw new Error('dictionaries did not load in 60 s');
}

async function openMany(port, n) {
  const socks = [];
  await Promise.all(Array.from({ length: n }, () => new Promise((resolve) => {
    const s = net.connect({ host: '127.0.0.1', port });
    s.got = '';
    s.setEncoding('latin1');
    s.on('data', (d) => { s.got += d; });
    s.on('error', () => {});
    s.on('connect', resolve);
    s.on('close', resolve);
    socks.push(s);
  })));
  return socks;
}

test('a head sent one byte at a time, or not at all, is closed after 10 s with a JSON 408', async () => {
  const srv = await startServer();
  try {
    const slow = [];
    for (const ch of 'GET /healthz HTTP/1.1\r\nHost: x\r\n') slow.push(ch, 700);
    const [a, b, c] = await Promise.all([
      raw(srv.port, slow, { timeoutMs: 20000 }),
      raw(srv.port, [], { timeoutMs: 20000 }),
      // a whole head, then a body that never finishes
      raw(srv.port, ['POST /api/coach/sessions HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n' +
                     'Content-Length: 20\r\n\r\n{"pa'], { timeoutMs: 20000 }),
    ]);
    for (const [r, code] of [[a, 'header_timeout'], [b, 'header_timeout'], [c, 'body_timeout']]) {
      assertJsonError(r, 408, code);
      assert.ok(r.closed, 'the server closed the connection');
      assert.ok(r.ms >= 9000 && r.ms < 14000, `closed after ${r.ms} ms`);
      assert.match(r.head, /^connection: close/im);
    }
    assert.equal((await api(srv.base, 'GET', '/healthz')).status, 200);
  } finally {
    await srv.stop();
    srv.cleanup();
  }
});

test('connections count from accept: idle sockets fill the cap and the next gets a JSON 503', async () => {
  const srv = await startServer(['--max-connections', '5', '--quiet']);
  let socks = [];
  try {
    socks = await openMany(srv.port, 5);       // they send nothing
    await sleep(300);
    const r = await raw(srv.port, ['GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n']);
    assertJsonError(r, 503, 'overloaded');
    assert.match(r.head, /^retry-after: 1/im);
    // a socket over the cap that sends nothing is answered too, at once
    const idle = await raw(srv.port, [], { timeoutMs: 3000 });
    assertJsonError(idle, 503, 'overloaded');
    assert.ok(idle.ms < 2000, `answered after ${idle.ms} ms`);
    for (const s of socks) s.destroy();
    await sleep(300);
    const m = await api(srv.base, 'GET', '/metrics');
    assert.equal(m.status, 200);
    assert.match(m.text, /^coachd_connections 1$/m);           // the scrape itself
    assert.match(m.text, /^coachd_connections_rejected_total 2$/m);
  } finally {
    for (const s of socks) s.destroy();
    await srv.stop();
    srv.cleanup();
  }
});

test('under a 64-descriptor limit the default cap leaves room: extras get a JSON 503, no spin, and it recovers', async () => {
  const srv = await startServer(['--quiet'], {}, { shell: 'ulimit -n 64;' });
  let socks = [];
  try {
    assert.match(srv.logs(), /up to 16 connections/);      // (64 - 32) / 2
    await dictionariesLoaded(srv.port);
    socks = await openMany(srv.port, 300);
    await sleep(1500);
    const answered = socks.filter((s) => /^HTTP\/1\.1 503 /.test(s.got));
    const bodies = answered.map((s) => JSON.parse(s.got.slice(s.got.indexOf('\r\n\r\n') + 4)));
    assert.ok(answered.length >= 300 - 16, `503s: ${answered.length}`);
    assert.ok(bodies.every((b) => b.error.code === 'overloaded'));
    // the loop is idle while the 16 sockets are held, and still answers
    const cpu0 = cpuSeconds(srv.proc.pid);
    await sleep(1000);
    assert.ok(cpuSeconds(srv.proc.pid) - cpu0 < 0.5, 'the server is not spinning');
    assert.equal((await api(srv.base, 'GET', '/healthz')).status, 503);
    for (const s of socks) s.destroy();
    await sleep(500);
    assert.equal((await api(srv.base, 'GET', '/healthz')).status, 200);
    assert.ok(Buffer.byteLength(srv.logs()) < 2048, `stderr: ${Buffer.byteLength(srv.logs())} bytes`);
  } finally {
    for (const s of socks) s.destroy();
    await srv.stop();
    srv.cleanup();
  }
});

test('out of descriptors, accept() pauses and logs once, silent under --quiet, and recovers', async () => {
  for (const quiet of [false, true]) {
    // a cap above what the limit allows, so that accept() itself fails
    const srv = await startServer(['--max-connections', '1000', ...(quiet ? ['--quiet'] : [])], {},
                                  { shell: 'ulimit -n 64;' });
    let socks = [];
    try {
      assert.match(srv.logs(), /warning: --max-connections 1000 needs more descriptors/);
      await dictionariesLoaded(srv.port);
      const before = Buffer.byteLength(srv.logs());
      socks = await openMany(srv.port, 200);
      await sleep(1000);
      const cpu0 = cpuSeconds(srv.proc.pid);
      await sleep(1500);
      assert.ok(cpuSeconds(srv.proc.pid) - cpu0 < 0.5, 'the server is not spinning');
      const log = srv.logs();
      const lines = (log.match(/accept\(\) failed/g) || []).length;
      if (quiet) assert.equal(lines, 0, log);
      else assert.ok(lines >= 1 && lines <= 2, `accept() lines: ${lines}`);
      assert.ok(Buffer.byteLength(log) - before < 1024, `stderr grew ${Buffer.byteLength(log) - before} bytes`);
      for (const s of socks) s.destroy();
      await sleep(800);
      assert.equal((await api(srv.base, 'GET', '/healthz')).status, 200);
      const m = await api(srv.base, 'GET', '/metrics');
      assert.match(m.text, /^coachd_accept_errors_total [1-9]\d*$/m);
    } finally {
      for (const s of socks) s.destroy();
      await srv.stop();
      srv.cleanup();
    }
  }
});
