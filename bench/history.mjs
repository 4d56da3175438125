// Reading a long conversation and deleting it (issue 16): the time of
// GET /api/coach/sessions/{id} (a page of 50, newest last; and the largest
// page, 200) against a session of --questions questions, and of DELETE of
// that session (the delete, the TRUNCATE checkpoint of the WAL and dropping
// its turns), measured as HTTP round trips on loopback against the release
// build. Usage: node bench/history.mjs [--questions 1000] [--reads 50]
import { startServer, api, newSession } from '../tests/e2e/lib.mjs';
import { join } from 'node:path';

const arg = (name, dflt) => {
  const i = process.argv.indexOf('--' + name);
  return i > 0 ? Number(process.argv[i + 1]) : dflt;
};
const N = arg('questions', 1000), READS = arg('reads', 50);
process.env.COACHD_BIN ||= join(process.cwd(), 'coachd');

const pct = (xs, p) => { const s = [...xs].sort((a, b) => a - b); return s[Math.min(s.length - 1, Math.floor(p * s.length))]; };
async function timed(fn) { const t0 = performance.now(); await fn(); return performance.now() - t0; }

const srv = await startServer(['--quiet']);
try {
  const sid = await newSession(srv.base);
  for (let i = 0; i < N; i++) {
    const r = await api(srv.base, 'POST', `/api/coach/sessions/${sid}/messages`, { question: `Question ${i}: how do I handle bedtime?` });
    await api(srv.base, 'GET', r.json.stream_url);
  }
  for (const q of ['', '?limit=200']) {
    const ms = [];
    let bytes = 0;
    for (let i = 0; i < READS; i++) ms.push(await timed(async () => { bytes = (await api(srv.base, 'GET', `/api/coach/sessions/${sid}${q}`)).text.length; }));
    console.log(`GET session${q || ' (default page)'}: ${bytes} bytes, p50 ${pct(ms, 0.5).toFixed(2)} ms, p95 ${pct(ms, 0.95).toFixed(2)} ms over ${READS} reads (${2 * N} messages)`);
  }
  const small = await newSession(srv.base);
  const r = await api(srv.base, 'POST', `/api/coach/sessions/${small}/messages`, { question: 'How do I handle bedtime?' });
  await api(srv.base, 'GET', r.json.stream_url);
  console.log(`DELETE a 2-message session right after the writes: ${(await timed(() => api(srv.base, 'DELETE', '/api/coach/sessions/' + small))).toFixed(2)} ms`);
  const idle = [];
  for (let i = 0; i < 5; i++) {
    const s2 = await newSession(srv.base);
    const r2 = await api(srv.base, 'POST', `/api/coach/sessions/${s2}/messages`, { question: 'How do I handle bedtime?' });
    await api(srv.base, 'GET', r2.json.stream_url);
    await new Promise((res) => setTimeout(res, 6000));    // the checkpointer's idle run
    idle.push(await timed(() => api(srv.base, 'DELETE', '/api/coach/sessions/' + s2)));
  }
  console.log(`DELETE a 2-message session after 6 s idle: ${idle.map((x) => x.toFixed(1)).join(', ')} ms`);
  const base = [];
  for (let i = 0; i < 20; i++) base.push(await timed(() => api(srv.base, 'GET', '/healthz')));
  console.log(`GET /healthz round trip p50: ${pct(base, 0.5).toFixed(2)} ms`);
  console.log(`DELETE the ${2 * N}-message session: ${(await timed(() => api(srv.base, 'DELETE', '/api/coach/sessions/' + sid))).toFixed(2)} ms`);
  await srv.stop();
} finally { srv.cleanup(); }
