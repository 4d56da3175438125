// relay.mjs — how much latency coachd's openai engine adds between an
// upstream model and the browser, against a small Node relay doing the same
// job (bench/peer_relay.mjs), in the same run on the same machine.
//
// The load and the upstream are bench/relayload.c (one C process): a fake
// OpenAI-compatible upstream that stamps every delta with its send time,
// and clients that read the relays' SSE with kernel receive timestamps, so
// what is measured is the relay's own addition, not the load generator's
// scheduling. This script only starts the processes, pins them and prints.
//
// Each N is measured two ways for each relay:
//   steady: N streams always open (each client asks again as soon as its
//           answer ends), figures from a window of --seconds;
//   burst:  N clients ask at the same instant (a thundering herd).
// Run through bench/relay.sh (raises ulimit -n, builds), or:
//   node bench/relay.mjs [--n 1,100,1000] [--chunks 200] [--interval-ms 30] [--first-ms 100]
//                        [--seconds 10] [--modes steady,burst] [--json out.json]
//                        [--relays coachd,peer] (measure only one of them) [--pm-qos auto|0|1]
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync, readFileSync } from 'node:fs';
import os from 'node:os';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import readline from 'node:readline';
import { holdCpuLatency, describe } from './pmqos.mjs';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');
const opt = { n: '1,100,1000', chunks: '200', 'interval-ms': '30', 'first-ms': '100', seconds: '10',
  modes: 'steady,burst', coachd: join(ROOT, 'coachd'), load: join(ROOT, 'build/release/bench_relayload'),
  json: '', pin: 'auto', args: '', relays: 'coachd,peer', 'pm-qos': 'auto' };
for (let i = 2; i < process.argv.length; i += 2) opt[process.argv[i].replace(/^--/, '')] = process.argv[i + 1];
const NS = opt.n.split(',').map(Number);
const MODES = opt.modes.split(',');
const children = [];
// With --pin (default when there are 2+ CPUs and taskset exists) the relay
// under test gets the last CPU to itself and relayload gets the others, so
// the two relays are compared on equal terms.
const NCPU = os.cpus().length;
const PIN = opt.pin === 'auto' ? NCPU >= 2 && spawnSync('taskset', ['-V']).status === 0 : opt.pin === '1';
const RELAY_CPU = String(NCPU - 1), LOAD_CPUS = NCPU > 2 ? `0-${NCPU - 2}` : '0';
// With --pm-qos (default when /dev/cpu_dma_latency is writable, i.e. root)
// idle CPUs poll instead of halting for the whole run (bench/pmqos.mjs).
const PM_QOS = holdCpuLatency(opt['pm-qos']);
const pinned = (cpus, cmd, args) => (PIN ? ['taskset', ['-c', cpus, cmd, ...args]] : [cmd, args]);

function start(cmd, args, env, pattern, stream = 'stdout') {
  return new Promise((resolve, reject) => {
    const p = spawn(cmd, args, { cwd: ROOT, env: { ...process.env, ...env }, stdio: ['pipe', 'pipe', 'pipe'] });
    children.push(p);
    let out = '';
    const timer = setTimeout(() => reject(new Error(`${cmd} did not start:\n${out}`)), 30000);
    const onData = (d) => {
      out += d;
      const m = pattern.exec(out);
      if (m) { clearTimeout(timer); p[stream].off('data', onData); resolve({ proc: p, port: Number(m[1]) }); }
    };
    p[stream].on('data', onData);
    p.on('exit', (c) => reject(new Error(`${cmd} exited ${c}:\n${out}`)));
  });
}

// CPU time (user + system, ms) a process has used so far.
function cpuMs(pid) {
  const f = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
  return ((Number(f[11]) + Number(f[12])) * 1000) / 100;   // clock ticks (USER_HZ = 100)
}

function machine() {
  const cpu = /model name\s*:\s*(.*)/.exec(readFileSync('/proc/cpuinfo', 'utf8'));
  return { nproc: os.cpus().length, pinned: PIN, pm_qos_0us: PM_QOS, cpu: cpu ? cpu[1] : os.cpus()[0]?.model,
    mem_gib: +(os.totalmem() / 2 ** 30).toFixed(1), node: process.version, kernel: os.release() };
}

const f = (x) => (x === null || Number.isNaN(x) ? '-' : x < 10 ? x.toFixed(2) : x.toFixed(0));

async function main() {
  const dir = mkdtempSync(join(os.tmpdir(), 'coachd-bench-'));
  try {
    if (PIN) spawnSync('taskset', ['-pc', LOAD_CPUS, String(process.pid)]);
    const load = await start(...pinned(LOAD_CPUS, opt.load, ['--chunks', opt.chunks,
      '--interval-ms', opt['interval-ms'], '--first-ms', opt['first-ms']]), {}, /upstream (\d+)/);
    const lines = readline.createInterface({ input: load.proc.stdout })[Symbol.asyncIterator]();
    const base = `http://127.0.0.1:${load.port}/v1`;
    const coachd = await start(...pinned(RELAY_CPU, opt.coachd, ['--engine', 'openai', '--port', '0',
      '--db', join(dir, 'bench.db'), '--quiet', '--session-token-budget', '0', '--daily-token-budget', '0',
      '--grace-s', '60', // every parent comes from 127.0.0.1: lift the per-address limits
      '--max-questions-per-minute', '1000000', '--max-sessions-per-hour', '1000000',
      '--max-messages-per-session', '1000000', ...opt.args.split(' ').filter(Boolean)]),
    { OPENAI_BASE_URL: base, OPENAI_API_KEY: 'sk-bench' }, /listening on http:\/\/[^:]+:(\d+)/, 'stderr');
    const peer = await start(...pinned(RELAY_CPU, process.execPath, [join(ROOT, 'bench/peer_relay.mjs')]),
      { UPSTREAM: base }, /listening (\d+)/);
    console.log(PIN ? `pinned: relays on CPU ${RELAY_CPU}, relayload on CPU ${LOAD_CPUS}` : 'not pinned');
    console.log(describe(PM_QOS));
    console.log(`each answer: ${opt.chunks} deltas, one every ${opt['interval-ms']} ms after ${opt['first-ms']} ms`);
    const targets = [{ name: 'coachd', port: coachd.port, pid: coachd.proc.pid },
      { name: 'peer', port: peer.port, pid: peer.proc.pid }].filter((t) => opt.relays.split(',').includes(t.name));
    const ask = async (t, n, mode, secs) => {
      const cpu0 = cpuMs(t.pid), wall0 = Date.now();
      load.proc.stdin.write(`run ${t.name} ${t.port} ${n} ${mode} ${secs}\n`);
      const { value } = await lines.next();
      const r = JSON.parse(value);
      r.relay_cpu_ms = cpuMs(t.pid) - cpu0;
      r.relay_cpu_share = +(r.relay_cpu_ms / (Date.now() - wall0)).toFixed(2);   // of one core, whole run
      return r;
    };
    for (const t of targets) await ask(t, 10, 'burst', 0);              // warm-up
    const results = [];
    for (const mode of MODES) {
      for (const n of NS) {
        const pair = [];
        for (const t of targets) {
          const r = await ask(t, n, mode, opt.seconds);
          results.push(r);
          pair.push(r);
          console.log(`${mode.padEnd(6)} N=${String(n).padStart(4)} ${t.name.padEnd(6)} ` +
            `answers ${r.complete}/${r.answered}${r.errors ? ` (${r.errors} errors)` : ''}  ` +
            `chunk relay p50 ${f(r.chunk_ms.p50)} p99 ${f(r.chunk_ms.p99)} p99.9 ${f(r.chunk_ms.p999)} ` +
            `max ${f(r.chunk_ms.max)} ms (${r.chunk_ms.n})  TTFT added p50 ${f(r.ttft_added_ms.p50)} ` +
            `p99 ${f(r.ttft_added_ms.p99)} ms  relay CPU ${r.relay_cpu_ms} ms (${Math.round(r.relay_cpu_share * 100)}% of a core)`);
        }
        const [c, p] = pair;
        if (!p) continue;
        console.log(`       ratio coachd/peer: chunk p50 ${(c.chunk_ms.p50 / p.chunk_ms.p50).toFixed(2)} ` +
          `p99 ${(c.chunk_ms.p99 / p.chunk_ms.p99).toFixed(2)}, TTFT added p50 ` +
          `${(c.ttft_added_ms.p50 / p.ttft_added_ms.p50).toFixed(2)} p99 ` +
          `${(c.ttft_added_ms.p99 / p.ttft_added_ms.p99).toFixed(2)}, CPU ${(c.relay_cpu_ms / p.relay_cpu_ms).toFixed(2)}`);
      }
    }
    const hwm = (pid) => Number(/VmHWM:\s*(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))[1]) / 1024;
    const peak_rss_mib = Object.fromEntries(targets.map((t) => [t.name, +hwm(t.pid).toFixed(1)]));
    console.log(`peak RSS: ${Object.entries(peak_rss_mib).map(([k, v]) => `${k} ${v} MiB`).join(", ")}`);
    const out = { machine: machine(), settings: { chunks: +opt.chunks, interval_ms: +opt['interval-ms'],
      first_ms: +opt['first-ms'], seconds: +opt.seconds }, results, peak_rss_mib };
    console.log(JSON.stringify(out.machine));
    if (opt.json) writeFileSync(opt.json, JSON.stringify(out, null, 2));
    load.proc.stdin.end('quit\n');
  } finally {
    for (const c of children) if (c.exitCode === null) c.kill('SIGTERM');
    rmSync(dir, { recursive: true, force: true });
  }
}

main().catch((e) => { console.error(e); for (const c of children) c.kill('SIGTERM'); process.exit(1); });
