// The listening socket: a burst of parents connecting at once must be
// queued by the kernel, not dropped. libevent listens with a backlog of 128;
// past that a SYN is dropped and the browser retries a second later, which
// the relay benchmark's burst mode showed as first tokens at ~1 s and ~2 s.
// With the server stopped (SIGSTOP) nothing is accepted, so the handshakes
// that complete are exactly what the kernel's accept queue holds.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import { startServer, api, sleep } from './lib.mjs';

test('a burst of 400 connections is queued by the kernel while the loop is busy', async () => {
  const srv = await startServer();
  const socks = [];
  let connected = 0;
  try {
    srv.proc.kill('SIGSTOP');
    for (let i = 0; i < 400; i++) {
      const s = net.connect({ host: '127.0.0.1', port: srv.port }, () => { connected++; });
      s.on('error', () => {});
      socks.push(s);
    }
    for (let i = 0; i < 40 && connected < 400; i++) await sleep(50);
    srv.proc.kill('SIGCONT');
    assert.equal(connected, 400, `handshakes completed while the server was stopped: ${connected}`);
    // and the server is fine afterwards
    const r = await api(srv.base, 'GET', '/healthz');
    assert.equal(r.status, 200);
  } finally {
    srv.proc.kill('SIGCONT');
    for (const s of socks) s.destroy();
    await srv.stop();
    srv.cleanup();
  }
});
