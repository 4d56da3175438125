// Streaming benchmarks for coachd (grounded engine).
//
//   node bench/stream.mjs ttfc   [--n 2000]        time from request to first chunk, pace 0
//   node bench/stream.mjs load   [--streams 1000]  that many concurrent streams at the default pace
//   node bench/stream.mjs idle   [--subs 10000]    idle subscribers held open: memory per stream,
//                                                 and first-chunk time for new questions meanwhile
//
// Each mode starts its own coachd (./coachd, or $COACHD_BIN) on a free port
// with a fresh database, and prints one summary block. Client and server
// share the machine's cores, so figures include the client's own cost.
// As root the run holds a 0 us CPU-latency request (bench/pmqos.mjs) so
// idle cores poll; --pm-qos 0 lets them halt.
import http from 'node:http';
import { readFileSync } from 'node:fs';
import { startServer, api, newSession, sleep } from '../tests/e2e/lib.mjs';
import { holdCpuLatency, describe } from './pmqos.mjs';

const args = process.argv.slice(2);
const mode = args[0] || 'ttfc';
const opt = (name, def) => {
  const i = args.indexOf('--' + name);
  return i >= 0 ? Number(args[i + 1]) : def;
};
{
  const i = args.indexOf('--pm-qos');
  console.log(describe(holdCpuLatency(i >= 0 ? args[i + 1] : 'auto')));
}
const agent = new http.Agent({ keepAlive: true, maxSockets: 20000 });
const pct = (arr, p) => {
  const s = [...arr].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor(s.length * p))];
};
const fmt = (ms) => `${ms.toFixed(3)} ms`;
const rssKiB = (pid) => Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))[1]);
const QUESTIONS = [
  'How do I handle bedtime?', 'my 3 year old has tantrums every evening',
  'how much milk should my 2 year old drink', 'my toddler bites at daycare',
  'tips for reading with my 4yo', 'how do I childproof the kitchen',
];

// Opens a stream; resolves when the first chunk arrives (ttfc) and when
// the response ends. onEvent is called per data line.
function openStream(url, { onFirstChunk, onEnd, onError, keep = false }) {
  const t0 = process.hrtime.bigint();
  let first = false, buf = '', done = false, events = 0, pings = 0;
  const req = http.get(url, { agent: keep ? undefined : agent }, (res) => {
    if (res.statusCode !== 200) { onError?.(new Error('status ' + res.statusCode)); res.resume(); return; }
    res.setEncoding('utf8');
    res.on('data', (d) => {
      buf += d;
      let i;
      while ((i = buf.indexOf('\n\n')) >= 0) {
        const block = buf.slice(0, i); buf = buf.slice(i + 2);
        if (block.startsWith(': ping')) { pings++; continue; }
        const line = block.split('\n').find((l) => l.startsWith('data: '));
        if (!line) continue;
        events++;
        const data = JSON.parse(line.slice(6));
        if (!first && ('chunk' in data || data.type)) {
          first = true;
          onFirstChunk?.(Number(process.hrtime.bigint() - t0) / 1e6);
        }
        if (data.done) done = true;
      }
    });
    res.on('end', () => onEnd?.({ done, events, pings }));
    res.on('error', (e) => onError?.(e));
  });
  req.on('error', (e) => onError?.(e));
  return { req, stats: () => ({ done, events, pings }) };
}

function streamOnce(base, sid, q) {
  return new Promise((resolve, reject) => {
    let ttfc = null;
    openStream(`${base}/api/coach/stream/${sid}?question=${encodeURIComponent(q)}`, {
      onFirstChunk: (ms) => { ttfc = ms; },
      onEnd: ({ done }) => (done ? resolve(ttfc) : reject(new Error('stream ended without done'))),
      onError: reject,
    });
  });
}

async function ttfc() {
  const n = opt('n', 2000);
  const srv = await startServer(['--pace-ms', '0', '--quiet']);
  const sid = await newSession(srv.base);
  for (let i = 0; i < 50; i++) await streamOnce(srv.base, sid, QUESTIONS[i % QUESTIONS.length]); // warm up
  const lat = [];
  for (let i = 0; i < n; i++) lat.push(await streamOnce(srv.base, sid, QUESTIONS[i % QUESTIONS.length]));
  console.log(`ttfc: ${n} sequential questions, pace 0, one keep-alive client`);
  console.log(`ttfc: request -> first chunk  p50 ${fmt(pct(lat, 0.5))}  p99 ${fmt(pct(lat, 0.99))}  max ${fmt(Math.max(...lat))}`);
  await srv.stop();
  srv.cleanup();
}

async function load() {
  const n = opt('streams', 1000);
  const srv = await startServer(['--pace-ms', '25', '--quiet']);
  const sids = [];
  for (let i = 0; i < n; i++) sids.push(await newSession(srv.base));
  const rss0 = rssKiB(srv.proc.pid);
  let errors = 0, completed = 0, peak = rss0;
  const lat = [];
  const t0 = Date.now();
  const sampler = setInterval(() => { peak = Math.max(peak, rssKiB(srv.proc.pid)); }, 100);
  await Promise.all(sids.map((sid, i) => streamOnce(srv.base, sid, QUESTIONS[i % QUESTIONS.length])
    .then((ms) => { lat.push(ms); completed++; })
    .catch(() => { errors++; })));
  clearInterval(sampler);
  const wall = (Date.now() - t0) / 1000;
  console.log(`load: ${n} concurrent streams at pace 25 ms (each answer ~150 words)`);
  console.log(`load: completed ${completed}, errors ${errors}, wall ${wall.toFixed(1)} s`);
  console.log(`load: first chunk under load p50 ${fmt(pct(lat, 0.5))}  p99 ${fmt(pct(lat, 0.99))}`);
  console.log(`load: server RSS ${(rss0 / 1024).toFixed(1)} MiB before, peak ${(peak / 1024).toFixed(1)} MiB`);
  await srv.stop();
  srv.cleanup();
  if (errors) process.exitCode = 1;
}

async function idle() {
  const subs = opt('subs', 10000);
  const hold = opt('hold', 20);
  const perTurn = 1000;
  const srv = await startServer(['--pace-ms', '5000', '--ping-s', '2', '--quiet', '--max-connections', String(subs + 1000)]);
  const sid = await newSession(srv.base);
  const turns = [];
  for (let i = 0; i < Math.ceil(subs / perTurn); i++) {
    const r = await api(srv.base, 'POST', `/api/coach/sessions/${sid}/messages`, { question: QUESTIONS[i % QUESTIONS.length] });
    turns.push(r.json.stream_url);
  }
  await sleep(500);
  const rss0 = rssKiB(srv.proc.pid);
  const open = [];
  let errors = 0;
  for (let i = 0; i < subs; i++) {
    open.push(openStream(srv.base + turns[i % turns.length], { onError: () => { errors++; }, keep: true }));
    if (i % 500 === 499) await sleep(50);
  }
  await sleep(3000);
  const rss1 = rssKiB(srv.proc.pid);
  // questions asked while the subscribers are held
  const sid2 = await newSession(srv.base);
  const fresh = await startFresh(srv.base, sid2, 200);
  await sleep(hold * 1000);
  const pings = open.reduce((a, s) => a + (s.stats().pings > 0 ? 1 : 0), 0);
  console.log(`idle: ${subs} subscribers on ${turns.length} running answers, held ${hold + 3} s, errors ${errors}`);
  console.log(`idle: server RSS ${(rss0 / 1024).toFixed(1)} MiB -> ${(rss1 / 1024).toFixed(1)} MiB: ${((rss1 - rss0) * 1024 / subs / 1024).toFixed(2)} KiB per stream`);
  console.log(`idle: subscribers that received a ping (--ping-s 2, chunks every 5 s): ${pings}`);
  console.log(`idle: new question first chunk while held  p50 ${fmt(pct(fresh, 0.5))}  p99 ${fmt(pct(fresh, 0.99))}`);
  for (const s of open) s.req.destroy();
  await srv.stop('SIGKILL');
  srv.cleanup();
}

async function startFresh(base, sid, n) {
  const lat = [];
  for (let i = 0; i < n; i++) {
    lat.push(await new Promise((resolve, reject) => {
      const s = openStream(`${base}/api/coach/stream/${sid}?question=${encodeURIComponent(QUESTIONS[i % QUESTIONS.length])}`, {
        onFirstChunk: (ms) => { resolve(ms); s.req.destroy(); },
        onError: reject,
      });
    }));
  }
  return lat;
}

const modes = { ttfc, load, idle };
if (!modes[mode]) { console.error('modes: ttfc | load | idle'); process.exit(2); }
await modes[mode]();
agent.destroy();
