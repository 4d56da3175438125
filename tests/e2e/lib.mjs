// Shared helpers for the end-to-end tests: start the real coachd binary on
// a free port with a fresh database, speak HTTP to it, and read its
// Server-Sent Events with a real streaming client.
import { spawn, execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import http from 'node:http';
import net from 'node:net';

export const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
export const BIN = process.env.COACHD_BIN || join(ROOT, 'coachd');

// With COACHD_PG_URL (a PostgreSQL server the suite may create databases
// on, as scripts/pgtmp.sh starts one) every server gets a fresh PostgreSQL
// database instead of a fresh SQLite file.
export const PG_URL = process.env.COACHD_PG_URL || '';
export const isPg = (db) => /^postgres(ql)?:\/\//.test(db);

// A fresh, empty PostgreSQL database on the COACHD_PG_URL server; its URL.
export function pgDatabase() {
  const name = 'e2e_' + randomBytes(6).toString('hex');
  execFileSync('psql', [PG_URL, '-qAt', '-c', `CREATE DATABASE ${name}`], { encoding: 'utf8' });
  const u = new URL(PG_URL);
  u.pathname = '/' + name;
  return u.toString();
}

// Runs one SQL query on a test database (SQLite file or PostgreSQL URL) and
// returns its rows as text, one a line, columns separated by '|'.
export function sql(db, query) {
  if (isPg(db)) return execFileSync('psql', [db, '-qAt', '-c', query], { encoding: 'utf8' }).trim();
  return execFileSync('sqlite3', [db, query], { encoding: 'utf8' }).trim();
}

// The suites ask many questions from 127.0.0.1: every server gets generous
// limits unless a test sets its own (later flags win) or asks for the
// defaults with { defaultLimits: true }.
const GENEROUS = ['--max-questions-per-minute', '1000000', '--max-sessions-per-hour', '1000000',
  '--max-messages-per-session', '1000000'];

// Starts coachd; resolves to { port, base, db, proc, logs(), stop() }.
// opts.shell runs it through `sh -c '<shell> exec coachd ...'` (e.g.
// 'ulimit -n 64;').
export async function startServer(args = [], env = {}, opts = {}) {
  const dir = mkdtempSync(join(tmpdir(), 'coachd-e2e-'));
  const given = args.indexOf('--db');
  const db = given >= 0 ? args[given + 1] : PG_URL ? pgDatabase() : join(dir, 'coach.db');
  const limits = opts.defaultLimits ? [] : GENEROUS;
  const argv = ['--port', '0', '--db', db, '--pace-ms', '0', ...limits, ...args];
  const [cmd, cmdArgs] = opts.shell
    ? ['sh', ['-c', `${opts.shell} exec "$0" "$@"`, BIN, ...argv]] : [BIN, argv];
  const proc = spawn(cmd, cmdArgs, {
    cwd: ROOT,
    env: { ...process.env, ...env },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let stderr = '';
  const port = await new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('coachd did not start:\n' + stderr)), 20000);
    proc.stderr.on('data', (d) => {
      stderr += d;
      const m = /listening on http:\/\/[^:]+:(\d+)/.exec(stderr);
      if (m) { clearTimeout(timer); resolve(Number(m[1])); }
    });
    proc.on('exit', (code) => { clearTimeout(timer); reject(new Error(`coachd exited ${code}:\n${stderr}`)); });
  });
  const base = `http://127.0.0.1:${port}`;
  const exited = new Promise((resolve) => proc.on('exit', (code, sig) => resolve({ code, sig })));
  return {
    port, base, db, dir, proc, exited,
    logs: () => stderr,
    // Stops the server; with SIGTERM it must exit 0 with no sanitizer report
    // (LeakSanitizer runs at exit in the sanitizer build).
    async stop(signal = 'SIGTERM') {
      if (proc.exitCode === null && proc.signalCode === null) proc.kill(signal);
      const r = await exited;
      if (signal === 'SIGTERM') {
        if (r.code !== 0 || /Sanitizer|runtime error/.test(stderr))
          throw new Error(`coachd did not exit cleanly (code ${r.code}):\n${stderr.slice(-4000)}`);
      }
      return r;
    },
    cleanup() { rmSync(dir, { recursive: true, force: true }); },
  };
}

export async function api(base, method, path, body, headers = {}) {
  const res = await fetch(base + path, {
    method,
    headers: body !== undefined ? { 'content-type': 'application/json', ...headers } : headers,
    body: body === undefined ? undefined : (typeof body === 'string' ? body : JSON.stringify(body)),
  });
  const text = await res.text();
  let json = null;
  try { json = text ? JSON.parse(text) : null; } catch { /* not JSON */ }
  return { status: res.status, headers: res.headers, text, json };
}

export async function newSession(base) {
  const r = await api(base, 'POST', '/api/coach/sessions', {});
  if (r.status !== 201) throw new Error('session: ' + r.status + ' ' + r.text);
  return r.json.session_id;
}

// Parses an SSE byte stream (per the WHATWG rules we emit: "id:", "data:",
// "retry:", comments). Returns { events: [{id, data}], comments, retry }.
export function parseSSE(text) {
  const events = [];
  const comments = [];
  let retry = null;
  for (const block of text.split('\n\n')) {
    if (!block.trim()) continue;
    let id = null; const data = [];
    for (const line of block.split('\n')) {
      if (line.startsWith(':')) comments.push(line);
      else if (line.startsWith('id: ')) id = line.slice(4);
      else if (line.startsWith('data: ')) data.push(line.slice(6));
      else if (line.startsWith('retry: ')) retry = Number(line.slice(7));
    }
    if (data.length) events.push({ id, data: JSON.parse(data.join('\n')) });
  }
  return { events, comments, retry };
}

// Opens a stream with node:http so we can read raw bytes and cut the
// connection at any byte. opts: { headers, stopAfterBytes, stopWhen(text) }.
// Resolves { status, headers, text, events, complete } where complete means
// the server ended the response.
export function stream(url, opts = {}) {
  return new Promise((resolve, reject) => {
    const req = http.get(url, { headers: opts.headers || {} }, (res) => {
      let text = '';
      let done = false;
      const finish = (complete) => {
        if (done) return; done = true;
        let parsed = { events: [], comments: [], retry: null };
        const cut = text.lastIndexOf('\n\n');
        try { parsed = parseSSE(cut >= 0 ? text.slice(0, cut + 2) : ''); } catch (e) { return reject(e); }
        resolve({ status: res.statusCode, headers: res.headers, text, ...parsed, complete });
      };
      res.setEncoding('utf8');
      res.on('data', (d) => {
        text += d;
        if ((opts.stopAfterBytes && Buffer.byteLength(text) >= opts.stopAfterBytes) ||
            (opts.stopWhen && opts.stopWhen(text))) {
          if (opts.stopAfterBytes) text = Buffer.from(text).subarray(0, opts.stopAfterBytes).toString();
          req.destroy();
          finish(false);
        }
      });
      res.on('end', () => finish(true));
      res.on('error', () => finish(false));
      res.on('close', () => finish(false));
    });
    req.on('error', (e) => { if (opts.stopAfterBytes || opts.stopWhen) return; reject(e); });
    if (opts.timeoutMs) req.setTimeout(opts.timeoutMs, () => req.destroy(new Error('timeout')));
  });
}

export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

// Speaks raw bytes to the server on one connection. `parts` is a list of
// strings/Buffers and numbers (a number waits that many ms before the next
// part). Resolves { text, closed, ms, status, json } when the server closes
// the connection or opts.timeoutMs (default 15 s) passes; json is the body
// of the first response when it parses.
export function raw(port, parts, opts = {}) {
  return new Promise((resolve) => {
    const t0 = Date.now();
    const sock = net.connect({ host: '127.0.0.1', port });
    let text = '';
    let done = false;
    const finish = (closed) => {
      if (done) return; done = true;
      clearTimeout(timer);
      sock.destroy();
      const m = /^HTTP\/1\.[01] (\d{3})/.exec(text);
      let json = null;
      const body = text.indexOf('\r\n\r\n');
      if (body >= 0) {
        const rest = text.slice(body + 4);
        try { json = JSON.parse(rest.split('\n')[0]); } catch { /* not JSON */ }
      }
      resolve({ text, closed, ms: Date.now() - t0, status: m ? Number(m[1]) : null, json,
                head: body >= 0 ? text.slice(0, body) : text });
    };
    const timer = setTimeout(() => finish(false), opts.timeoutMs || 15000);
    sock.setEncoding('latin1');
    sock.on('data', (d) => { text += d; });
    sock.on('end', () => finish(true));
    sock.on('close', () => finish(true));
    sock.on('error', () => finish(true));
    sock.on('connect', async () => {
      for (const p of parts) {
        if (done) return;
        if (typeof p === 'number') await sleep(p);
        else sock.write(p);
      }
    });
  });
}

// The answer text of a list of events (concatenated chunks).
export const textOf = (events) => events.filter((e) => 'chunk' in e.data).map((e) => e.data.chunk).join('');
