// Honest saves and readiness (issue 16, item 2): done only after the answer
// is in the database; a failed save gives an error event, keeps the words in
// memory and is retried; /readyz says 503 while writes fail, the disk is
// full, or the database file was deleted. Faults come from a real full
// tmpfs and from SQLite's VFS interface (COACHD_TEST_DB_FAULT: writes fail
// with SQLITE_FULL while the named file exists; src/dbfault.c).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import { execFileSync } from 'node:child_process';
import { closeSync, mkdtempSync, openSync, rmSync, unlinkSync, writeFileSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startServer, api, newSession, parseSSE, sleep } from './lib.mjs';

const Q = 'How do I handle bedtime?';

// A stream whose events can be awaited while it runs.
function liveStream(url) {
  let text = '', ended = false, waiters = [];
  const events = () => {
    const cut = text.lastIndexOf('\n\n');
    return cut < 0 ? [] : parseSSE(text.slice(0, cut + 2)).events;
  };
  const poke = () => { for (const w of waiters.slice()) w(); };
  const req = http.get(url, (res) => {
    res.setEncoding('utf8');
    res.on('data', (d) => { text += d; poke(); });
    res.on('end', () => { ended = true; poke(); });
    res.on('close', () => { ended = true; poke(); });
  });
  req.on('error', () => { ended = true; poke(); });
  return {
    events,
    get ended() { return ended; },
    close: () => req.destroy(),
    // resolves with the events once pred(events) holds; rejects after ms
    until(pred, ms = 20000) {
      return new Promise((resolve, reject) => {
        const check = () => {
          const ev = events();
          if (pred(ev)) { waiters = waiters.filter((w) => w !== check); clearTimeout(timer); resolve(ev); }
          else if (ended) { waiters = waiters.filter((w) => w !== check); clearTimeout(timer); reject(new Error('stream ended: ' + text.slice(-500))); }
        };
        const timer = setTimeout(() => reject(new Error('timed out; got: ' + text.slice(-500))), ms);
        waiters.push(check);
        check();
      });
    },
  };
}

const isDone = (evs) => evs.some((e) => e.data.done === true);
const chunks = (evs) => evs.filter((e) => 'chunk' in e.data).map((e) => e.data.chunk).join('');

async function ask(base, sid) {
  const r = await api(base, 'POST', `/api/coach/sessions/${sid}/messages`, { question: Q });
  assert.equal(r.status, 202, r.text);
  return r.json;
}

async function answerRow(base, sid, mid) {
  const g = await api(base, 'GET', '/api/coach/sessions/' + sid);
  assert.equal(g.status, 200, g.text);
  return g.json.messages.find((m) => m.id === mid);
}

test('a save that fails: error event and no done; retried; done once saved (SQLite VFS fault)', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'coachd-fault-'));
  const fault = join(dir, 'fault-on');
  const srv = await startServer(['--pace-ms', '20'], { COACHD_TEST_DB_FAULT: fault });
  try {
    const sid = await newSession(srv.base);
    const m = await ask(srv.base, sid);
    const s = liveStream(srv.base + m.stream_url);
    await s.until((ev) => ev.some((e) => 'chunk' in e.data));
    writeFileSync(fault, '');                       // from here writes fail
    const ev = await s.until((e) => e.some((x) => x.data.type === 'error'));
    const err = ev.find((x) => x.data.type === 'error').data;
    assert.equal(err.code, 'save_failed');
    assert.equal(err.retrying, true);
    assert.equal(typeof err.message, 'string');
    assert.ok(!isDone(ev), 'no done for an answer that is not saved');
    assert.equal(s.ended, false, 'the stream stays open for the retry');
    let r = await api(srv.base, 'GET', '/readyz');
    assert.equal(r.status, 503, r.text);
    assert.equal(r.json.storage.writable, false);
    assert.equal(r.json.database, false);
    // a second reader (a reload) gets the words from memory, and the notice
    const again = liveStream(srv.base + m.stream_url);
    const ev2 = await again.until((e) => e.some((x) => x.data.type === 'error'));
    assert.equal(chunks(ev2), chunks(ev));
    assert.ok(!isDone(ev2));
    await sleep(1500);                              // some retries fail
    assert.ok(!isDone(s.events()));
    unlinkSync(fault);                              // the disk "has room" again
    const fin = await s.until(isDone, 20000);
    const done = fin.at(-1).data;
    assert.equal(done.done, true);
    assert.equal(done.message_id, m.message_id);
    assert.ok(isDone(await again.until(isDone)));
    const row = await answerRow(srv.base, sid, m.message_id);
    assert.equal(row.status, 'complete');
    assert.equal(row.content, chunks(fin));
    // readiness comes back (its probe write succeeds)
    for (let i = 0; i < 30 && (r = await api(srv.base, 'GET', '/readyz')).status !== 200; i++) await sleep(200);
    assert.equal(r.status, 200, r.text);
    assert.equal(r.json.storage.writable, true);
    assert.match(srv.logs(), /turn finish|commit/);
    assert.ok(!srv.logs().includes(Q), 'no question text in the log');
    await srv.stop();
    // and it is on disk: a restart replays the same words
    const back = await startServer(['--db', srv.db]);
    try {
      const row2 = await answerRow(back.base, sid, m.message_id);
      assert.equal(row2.status, 'complete');
      assert.equal(row2.content, chunks(fin));
    } finally { await back.stop(); back.cleanup(); }
  } finally {
    if (srv.proc.exitCode === null) await srv.stop('SIGKILL');
    srv.cleanup();
    rmSync(dir, { recursive: true, force: true });
  }
});

test('readyz is 503 while writes fail, even with nothing to save, and 200 after', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'coachd-fault-'));
  const fault = join(dir, 'fault-on');
  const srv = await startServer([], { COACHD_TEST_DB_FAULT: fault });
  try {
    assert.equal((await api(srv.base, 'GET', '/readyz')).status, 200);
    writeFileSync(fault, '');
    const c = await api(srv.base, 'POST', '/api/coach/sessions', {});
    assert.equal(c.status, 500);
    assert.equal(c.json.error.code, 'storage_error');
    const r = await api(srv.base, 'GET', '/readyz');
    assert.equal(r.status, 503);
    assert.equal(r.json.storage.writable, false);
    unlinkSync(fault);
    await sleep(1100);                               // the probe runs at most once a second
    const ok = await api(srv.base, 'GET', '/readyz');
    assert.equal(ok.status, 200, ok.text);
    await srv.stop();
  } finally {
    if (srv.proc.exitCode === null) await srv.stop('SIGKILL');
    srv.cleanup();
    rmSync(dir, { recursive: true, force: true });
  }
});

test('a deleted database file: readyz 503 and no new questions', async () => {
  const srv = await startServer();
  try {
    const sid = await newSession(srv.base);
    assert.equal((await api(srv.base, 'GET', '/readyz')).status, 200);
    unlinkSync(srv.db);
    const r = await api(srv.base, 'GET', '/readyz');
    assert.equal(r.status, 503, r.text);
    assert.equal(r.json.storage.file_present, false);
    assert.equal(r.json.database, false);
    const p = await api(srv.base, 'POST', `/api/coach/sessions/${sid}/messages`, { question: Q });
    assert.equal(p.status, 503, p.text);
    assert.equal(p.json.error.code, 'storage_unavailable');
    await srv.stop();
  } finally {
    if (srv.proc.exitCode === null) await srv.stop('SIGKILL');
    srv.cleanup();
  }
});

// Fills the file system at dir until ENOSPC; returns the filler's path.
function fill(dir) {
  const path = join(dir, 'filler');
  const fd = openSync(path, 'w');
  const big = Buffer.alloc(64 * 1024, 1), small = Buffer.alloc(512, 1);
  try {
    for (;;) writeSync(fd, big);
  } catch (e) {
    if (e.code !== 'ENOSPC') throw e;
  }
  try { for (;;) writeSync(fd, small); } catch (e) { if (e.code !== 'ENOSPC') throw e; }
  closeSync(fd);
  return path;
}

test('a real full disk (2 MB tmpfs): readyz 503, questions refused, done only for saved answers', async (t) => {
  const mnt = mkdtempSync(join(tmpdir(), 'coachd-tmpfs-'));
  try {
    execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=2M', 'tmpfs', mnt], { stdio: 'pipe' });
  } catch (e) {
    rmSync(mnt, { recursive: true, force: true });
    t.skip('cannot mount a tmpfs here (needs root and mount permission): ' + String(e.stderr || e.message).trim());
    return;
  }
  const db = join(mnt, 'coach.db');
  let srv = null;
  try {
    srv = await startServer(['--db', db, '--pace-ms', '20']);
    let r = await api(srv.base, 'GET', '/readyz');
    assert.equal(r.status, 200, r.text);
    assert.equal(r.json.storage.disk_full, false);
    const sid = await newSession(srv.base);

    // the disk fills while an answer streams: whatever the save does, a
    // done means the answer is in the database
    const m = await ask(srv.base, sid);
    const s = liveStream(srv.base + m.stream_url);
    await s.until((ev) => ev.some((e) => 'chunk' in e.data));
    const filler = fill(mnt);
    r = await api(srv.base, 'GET', '/readyz');
    assert.equal(r.status, 503, r.text);
    assert.equal(r.json.storage.disk_full, true);
    const p = await api(srv.base, 'POST', `/api/coach/sessions/${sid}/messages`, { question: Q });
    assert.equal(p.status, 503, p.text);
    assert.equal(p.json.error.code, 'storage_unavailable');
    const ev = await s.until((e) => isDone(e) || e.some((x) => x.data.type === 'error'));
    const sawFailure = ev.some((x) => x.data.code === 'save_failed');
    unlinkSync(filler);
    const fin = await s.until(isDone, 30000);
    const text = chunks(fin);
    r = await api(srv.base, 'GET', '/readyz');
    for (let i = 0; i < 30 && r.status !== 200; i++) { await sleep(200); r = await api(srv.base, 'GET', '/readyz'); }
    assert.equal(r.status, 200, r.text);
    await srv.stop();
    srv = await startServer(['--db', db]);
    const row = await answerRow(srv.base, sid, m.message_id);
    assert.equal(row.status, 'complete', `saved after done (save failed first: ${sawFailure})`);
    assert.equal(row.content, text);
    await srv.stop();
    srv = null;
  } finally {
    if (srv && srv.proc.exitCode === null) await srv.stop('SIGKILL');
    if (srv) srv.cleanup();
    try { execFileSync('umount', [mnt]); } catch { /* already gone */ }
    rmSync(mnt, { recursive: true, force: true });
  }
});
