// relay.mjs — how much latency coachd's openai engine adds between an
// upstream model and the browser, against a small Node relay doing the same
// job (bench/peer_relay.mjs), in the same run on the same machine.
//
// It starts bench/fake_fast.mjs (stamps every chunk with its send time),
// coachd --engine openai pointed at it, and the peer relay pointed at it;
// then for each N opens N concurrent streams to each relay at once and
// measures, on the client:
//   - per chunk: client receive time - upstream send stamp (p50/p99/max);
//   - TTFT added: (client TTFT) - (upstream's own first-chunk delay, i.e.
//     first-chunk send stamp - request-received stamp): the relay's work on
//     the way in (for coachd: session check, SQLite commit, safety,
//     retrieval, request build, connect) plus the first chunk's way out.
// Run through bench/relay.sh (raises ulimit -n, builds coachd), or:
//   node bench/relay.mjs [--n 1,100,1000] [--chunks 60] [--interval-ms 30] [--first-ms 100]
//                        [--coachd ./coachd] [--json out.json]
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync, readFileSync } from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { performance } from 'node:perf_hooks';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');
const opt = { n: '1,100,1000', chunks: '60', 'interval-ms': '30', 'first-ms': '100',
  coachd: join(ROOT, 'coachd'), json: '', pin: 'auto' };
for (let i = 2; i < process.argv.length; i += 2) opt[process.argv[i].replace(/^--/, '')] = process.argv[i + 1];
const NS = opt.n.split(',').map(Number);
const now = () => performance.timeOrigin + performance.now();
const children = [];
// With --pin (default when there are 2+ CPUs and taskset exists) the relay
// under test gets the last CPU to itself and the fake upstream and this
// client share the others, so the two relays are compared on equal terms
// rather than on how the scheduler mixed them with the load generators.
const NCPU = os.cpus().length;
const PIN = opt.pin === 'auto' ? NCPU >= 2 && spawnSync('taskset', ['-V']).status === 0 : opt.pin === '1';
const RELAY_CPU = String(NCPU - 1), LOAD_CPUS = NCPU > 2 ? `0-${NCPU - 2}` : '0';
const pinned = (cpus, cmd, args) => (PIN ? ['taskset', ['-c', cpus, cmd, ...args]] : [cmd, args]);

function start(cmd, args, env, pattern, stream = 'stdout') {
  return new Promise((resolve, reject) => {
    const p = spawn(cmd, args, { cwd: ROOT, env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    children.push(p);
    let out = '';
    const timer = setTimeout(() => reject(new Error(`${cmd} did not start:\n${out}`)), 30000);
    p[stream].on('data', (d) => {
      out += d;
      const m = pattern.exec(out);
      if (m) { clearTimeout(timer); resolve({ proc: p, port: Number(m[1]) }); }
    });
    p.on('exit', (c) => reject(new Error(`${cmd} exited ${c}:\n${out}`)));
  });
}

const agent = new http.Agent({ keepAlive: false, maxSockets: Infinity });

function post(port, path) {
  return new Promise((resolve, reject) => {
    const req = http.request({ host: '127.0.0.1', port, path, method: 'POST', agent,
      headers: { 'content-type': 'application/json' } }, (res) => {
      let b = '';
      res.on('data', (d) => (b += d));
      res.on('end', () => resolve(JSON.parse(b)));
    });
    req.on('error', reject);
    req.end('{}');
  });
}

// One stream: resolves { ttftAdded, lat: [ms...], chunks, ok }.
function one(port, path) {
  return new Promise((resolve) => {
    const r = { lat: [], sent: [], chunks: 0, ok: false, ttftAdded: null, first: null };
    const t0 = now();
    const req = http.get({ host: '127.0.0.1', port, path, agent }, (res) => {
      let buf = '';
      res.setEncoding('utf8');
      res.on('data', (d) => {
        const at = now();
        buf += d;
        let i;
        while ((i = buf.indexOf('\n\n')) >= 0) {
          const line = buf.slice(0, i).split('\n').find((l) => l.startsWith('data: '));
          buf = buf.slice(i + 2);
          if (!line) continue;
          const ev = JSON.parse(line.slice(6));
          if (ev.done) r.ok = true;
          if (typeof ev.chunk !== 'string') continue;
          const rm = /r(\d+\.\d+) s0@(\d+\.\d+)/.exec(ev.chunk);
          if (rm) { r.ttftAdded = (at - t0) - (Number(rm[2]) - Number(rm[1])); r.first = at; }
          for (const m of ev.chunk.matchAll(/s\d+@(\d+\.\d+)\. /g)) {
            r.lat.push(at - Number(m[1]));
            r.sent.push(Number(m[1]));
            r.chunks++;
          }
        }
      });
      res.on('end', () => resolve(r));
      res.on('error', () => resolve(r));
    });
    req.on('error', () => resolve(r));
  });
}

const Q = encodeURIComponent('How do I handle bedtime?');

// CPU time (user + system, ms) a process has used so far.
function cpuMs(pid) {
  const f = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
  return ((Number(f[11]) + Number(f[12])) * 1000) / 100;   // clock ticks (USER_HZ = 100)
}

// N = 1 is measured as 20 streams one after another (an idle relay).
async function round(target, n) {
  if (n !== 1) return roundOf(target, n, [await burst(target, n)]);
  const runs = [];
  for (let i = 0; i < 20; i++) runs.push(await burst(target, 1));
  return roundOf(target, 1, runs);
}

async function burst(target, n) {
  let paths;
  if (target.name === 'coachd') {
    const sids = await Promise.all(Array.from({ length: n }, () => post(target.port, '/api/coach/sessions')));
    paths = sids.map((s) => `/api/coach/stream/${s.session_id}?question=${Q}`);
  } else {
    paths = Array.from({ length: n }, () => `/stream?question=${Q}`);
  }
  const t0 = now(), cpu0 = cpuMs(target.pid);
  const rs = await Promise.all(paths.map((p) => one(target.port, p)));
  // "after ramp": chunks the upstream sent after every stream had its first
  // chunk, i.e. once the relay stopped setting up new answers
  const rampEnd = Math.max(...rs.map((r) => r.first ?? Infinity));
  return { rs, rampEnd, wall: now() - t0, cpu: cpuMs(target.pid) - cpu0 };
}

function roundOf(target, n, bursts) {
  const rs = bursts.flatMap((b) => b.rs);
  const wall = bursts.reduce((a, b) => a + b.wall, 0), cpu = bursts.reduce((a, b) => a + b.cpu, 0);
  const lat = rs.flatMap((r) => r.lat).sort((a, b) => a - b);
  const steady = bursts.flatMap((b) => b.rs.flatMap((r) => r.lat.filter((_, i) => r.sent[i] > b.rampEnd)))
    .sort((a, b) => a - b);
  const ttft = rs.map((r) => r.ttftAdded).filter((x) => x !== null).sort((a, b) => a - b);
  const q = (a, p) => (a.length ? a[Math.min(a.length - 1, Math.floor(p * a.length))] : NaN);
  return { target: target.name, n, streams: rs.length,
    ok: rs.filter((r) => r.ok && r.chunks === Number(opt.chunks)).length,
    chunks: lat.length, chunk_p50: q(lat, 0.5), chunk_p99: q(lat, 0.99), chunk_max: lat.at(-1),
    steady_chunks: steady.length, steady_p50: q(steady, 0.5), steady_p99: q(steady, 0.99),
    ttft_added_p50: q(ttft, 0.5), ttft_added_p99: q(ttft, 0.99), wall_ms: wall, relay_cpu_ms: cpu };
}

function machine() {
  const cpu = /model name\s*:\s*(.*)/.exec(readFileSync('/proc/cpuinfo', 'utf8'));
  return { nproc: os.cpus().length, pinned: PIN, cpu: cpu ? cpu[1] : os.cpus()[0]?.model,
    mem_gib: +(os.totalmem() / 2 ** 30).toFixed(1), node: process.version, kernel: os.release() };
}

async function main() {
  const dir = mkdtempSync(join(os.tmpdir(), 'coachd-bench-'));
  try {
    if (PIN) spawnSync('taskset', ['-pc', LOAD_CPUS, String(process.pid)]);
    const fake = await start(...pinned(LOAD_CPUS, process.execPath, [join(ROOT, 'bench/fake_fast.mjs'),
      '--chunks', opt.chunks, '--interval-ms', opt['interval-ms'], '--first-ms', opt['first-ms']]), {},
    /listening (\d+)/);
    const base = `http://127.0.0.1:${fake.port}/v1`;
    const coachd = await start(...pinned(RELAY_CPU, opt.coachd, ['--engine', 'openai', '--port', '0',
      '--db', join(dir, 'bench.db'), '--quiet', '--session-token-budget', '0', '--daily-token-budget', '0',
      '--grace-s', '60']),
    { OPENAI_BASE_URL: base, OPENAI_API_KEY: 'sk-bench' }, /listening on http:\/\/[^:]+:(\d+)/, 'stderr');
    const peer = await start(...pinned(RELAY_CPU, process.execPath, [join(ROOT, 'bench/peer_relay.mjs')]),
      { UPSTREAM: base }, /listening (\d+)/);
    console.log(PIN ? `pinned: relays on CPU ${RELAY_CPU}, upstream + client on CPU ${LOAD_CPUS}` : 'not pinned');
    const targets = [{ name: 'coachd', port: coachd.port, pid: coachd.proc.pid },
      { name: 'peer', port: peer.port, pid: peer.proc.pid }];
    for (const t of targets) await round(t, 10);                    // warm-up
    const results = [];
    for (const n of NS) {
      for (const t of targets) {
        const r = await round(t, n);
        results.push(r);
        console.log(`${r.target.padEnd(6)} N=${String(n).padStart(4)}  ok ${r.ok}/${r.streams}  ` +
          `chunk latency p50 ${r.chunk_p50.toFixed(2)} ms  p99 ${r.chunk_p99.toFixed(2)} ms  ` +
          `max ${r.chunk_max.toFixed(1)} ms  after ramp p50 ${r.steady_p50.toFixed(2)} ms ` +
          `p99 ${r.steady_p99.toFixed(2)} ms (${r.steady_chunks})  TTFT added p50 ${r.ttft_added_p50.toFixed(2)} ms  ` +
          `p99 ${r.ttft_added_p99.toFixed(2)} ms  relay CPU ${r.relay_cpu_ms} ms  ` +
          `(${r.chunks} chunks, ${(r.wall_ms / 1000).toFixed(2)} s)`);
      }
      const [c, p] = results.slice(-2);
      console.log(`ratio coachd/peer at N=${n}: chunk p50 ${(c.chunk_p50 / p.chunk_p50).toFixed(2)}, ` +
        `p99 ${(c.chunk_p99 / p.chunk_p99).toFixed(2)}, after ramp p50 ${(c.steady_p50 / p.steady_p50).toFixed(2)}, ` +
        `p99 ${(c.steady_p99 / p.steady_p99).toFixed(2)}, TTFT added p50 ${(c.ttft_added_p50 / p.ttft_added_p50).toFixed(2)}, ` +
        `p99 ${(c.ttft_added_p99 / p.ttft_added_p99).toFixed(2)}`);
    }
    // peak resident memory of each relay over the whole run
    const hwm = (pid) => Number(/VmHWM:\s*(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))[1]) / 1024;
    const peak_rss_mib = Object.fromEntries(targets.map((t) => [t.name, +hwm(t.pid).toFixed(1)]));
    console.log(`peak RSS: coachd ${peak_rss_mib.coachd} MiB, peer ${peak_rss_mib.peer} MiB`);
    const out = { machine: machine(), settings: { chunks: +opt.chunks, interval_ms: +opt['interval-ms'],
      first_ms: +opt['first-ms'] }, results, peak_rss_mib };
    console.log(JSON.stringify(out.machine));
    if (opt.json) writeFileSync(opt.json, JSON.stringify(out, null, 2));
  } finally {
    for (const c of children) if (c.exitCode === null) c.kill('SIGTERM');
    rmSync(dir, { recursive: true, force: true });
  }
}

main().catch((e) => { console.error(e); for (const c of children) c.kill('SIGTERM'); process.exit(1); });
