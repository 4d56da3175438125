// One instance on SQLite against two on PostgreSQL (issue 17).
//
//   node bench/cluster.mjs sqlite [--open 100,300] [--secs 10] [--nginx]
//   COACHD_PG_URL=postgresql://... node bench/cluster.mjs pg [--open 100,300] [--secs 10] [--nginx]
//
// Starts the instances itself (./coachd or $COACHD_BIN, grounded engine,
// pace 0, a fresh database each; on PostgreSQL both instances share one),
// then for each level keeps that many question-and-stream loops open for
// --secs seconds: create a session, POST a question, read its stream to
// done, again. Loops are spread over the instances round robin, directly
// (no proxy), or with --nginx all through one nginx running deploy/nginx.conf
// (tests/e2e/nginx.mjs; the client speaks HTTPS/1.1 with keep-alive to it,
// it speaks HTTP/1.1 to the instances and balances them; one SQLite
// instance is both of its upstreams). Prints questions answered a second, first-chunk time (POST
// sent -> first chunk read) p50/p99, and what the database cost each
// instance's loop (coachd_db_seconds from /metrics: the batched saves and
// event appends, per call and per second of wall time). Client and
// servers share the machine's 2 cores.
import http from 'node:http';
import https from 'node:https';
import { startServer, api, pgDatabase, PG_URL } from '../tests/e2e/lib.mjs';
import { startNginx } from '../tests/e2e/nginx.mjs';

const args = process.argv.slice(2);
const mode = args[0] || 'sqlite';
const opt = (name, def) => { const i = args.indexOf('--' + name); return i >= 0 ? args[i + 1] : def; };
const levels = String(opt('open', '100,300')).split(',').map(Number);
const secs = Number(opt('secs', 10));
const viaNginx = args.includes('--nginx');
const agent = viaNginx ? new https.Agent({ keepAlive: true, maxSockets: 4000, rejectUnauthorized: false })
  : new http.Agent({ keepAlive: true, maxSockets: 4000 });
const lib = viaNginx ? https : http;
const pct = (a, p) => { const s = [...a].sort((x, y) => x - y); return s[Math.min(s.length - 1, Math.floor(s.length * p))]; };
const Q = ['How do I handle bedtime?', 'my 3 year old has tantrums every evening',
  'my toddler bites at daycare', 'tips for reading with my 4yo', 'how do I childproof the kitchen'];

function post(base, path, body) {
  return new Promise((resolve, reject) => {
    const data = JSON.stringify(body);
    const req = lib.request(base + path, { method: 'POST', agent, headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(data) } }, (res) => {
      let t = ''; res.setEncoding('utf8'); res.on('data', (d) => { t += d; }); res.on('end', () => resolve({ status: res.statusCode, json: t ? JSON.parse(t) : null }));
    });
    req.on('error', reject); req.end(data);
  });
}

function read(url, t0) {
  return new Promise((resolve, reject) => {
    let first = null, buf = '';
    lib.get(url, { agent }, (res) => {
      res.setEncoding('utf8');
      res.on('data', (d) => {
        buf += d;
        if (first === null && buf.includes('"chunk"')) first = Number(process.hrtime.bigint() - t0) / 1e6;
      });
      res.on('end', () => resolve({ first, done: buf.includes('"done":true') }));
    }).on('error', reject);
  });
}

async function dbSeconds(base) {
  const r = await api(base, 'GET', '/metrics');
  const sum = Number((/coachd_db_seconds_sum(?:\{[^}]*\})? ([0-9.e+-]+)/.exec(r.text) || [])[1] || 0);
  const count = Number((/coachd_db_seconds_count(?:\{[^}]*\})? ([0-9.e+-]+)/.exec(r.text) || [])[1] || 0);
  return { sum, count };
}

async function level(servers, open, front) {
  const firsts = [];
  let answered = 0, errors = 0, stop = false;
  const before = await Promise.all(servers.map((s) => dbSeconds(s.base)));
  const t0 = Date.now();
  const loop = async (i) => {
    const s = front ? front : servers[i % servers.length];
    let k = i;
    while (!stop) {
      try {
        const ss = await post(s.base, '/api/coach/sessions', {});
        const t = process.hrtime.bigint();
        const m = await post(s.base, `/api/coach/sessions/${ss.json.session_id}/messages`, { question: Q[k++ % Q.length] });
        if (m.status !== 202) { errors++; continue; }
        const r = await read(s.base + m.json.stream_url, t);
        if (!r.done) { errors++; continue; }
        if (r.first !== null) firsts.push(r.first);
        answered++;
      } catch { errors++; }
    }
  };
  const loops = Array.from({ length: open }, (_, i) => loop(i));
  await new Promise((r) => setTimeout(r, secs * 1000));
  stop = true;
  await Promise.all(loops);
  const wall = (Date.now() - t0) / 1000;
  const after = await Promise.all(servers.map((s) => dbSeconds(s.base)));
  const db = after.map((a, i) => ({ perCallMs: (a.sum - before[i].sum) / Math.max(1, a.count - before[i].count) * 1000,
    busy: (a.sum - before[i].sum) / wall }));
  console.log(`${mode}, ${servers.length} instance(s)${front ? ' behind nginx' : ''}, ${open} open: ${(answered / wall).toFixed(0)} questions/s, ` +
    `first chunk p50 ${pct(firsts, 0.5).toFixed(1)} ms p99 ${pct(firsts, 0.99).toFixed(1)} ms, errors ${errors}; ` +
    `db per call ${db.map((d) => d.perCallMs.toFixed(3)).join(' / ')} ms, loop time in db ${db.map((d) => (d.busy * 100).toFixed(1) + '%').join(' / ')}`);
}

const servers = [];
if (mode === 'pg') {
  if (!PG_URL) { console.error('COACHD_PG_URL is not set'); process.exit(2); }
  const db = pgDatabase();
  servers.push(await startServer(['--db', db, '--quiet']), await startServer(['--db', db, '--quiet']));
} else {
  servers.push(await startServer(['--quiet']));
}
const proxy = viaNginx ? await startNginx([servers[0].port, servers.at(-1).port]) : null;
try {
  for (const n of levels) await level(servers, n, proxy);
} finally {
  if (proxy) await proxy.stop();
  for (const s of servers) { await s.stop(); s.cleanup(); }
}
