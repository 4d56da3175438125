// peer_relay.mjs — the relay a team might write instead of coachd's C
// engine, for bench/relay.mjs to compare against: Node's fetch to the
// upstream, the same SSE framing out ("id:" + one `data: {"chunk":...}` per
// release, then done), and the same look-behind in a simpler form (words go
// out as they come until the sentence has a digit; from there the rest waits
// for the sentence end and a dose-like rest is replaced). No retrieval,
// database or safety classifier: only the relay's own work.
//   UPSTREAM=http://127.0.0.1:PORT/v1 node bench/peer_relay.mjs [port]  -> "listening <port>"
import http from 'node:http';
import { randomUUID } from 'node:crypto';

const UPSTREAM = process.env.UPSTREAM || 'http://127.0.0.1:11434/v1';
const DOSE = /\d\s*(ml|mg|mcg|tsp|teaspoons?|tablets?|drops?)\b/i;
const lastEnd = (s) => Math.max(s.lastIndexOf('. '), s.lastIndexOf('! '), s.lastIndexOf('? '), s.lastIndexOf('\n') - 1);

http.createServer(async (req, res) => {
  const url = new URL(req.url, 'http://x');
  if (url.pathname !== '/stream') return res.writeHead(404).end();
  const id = randomUUID();
  let seq = 0;
  const send = (obj) => res.write(`id: ${id}:${++seq}\ndata: ${JSON.stringify(obj)}\n\n`);
  const release = (text) => {
    const out = text.split(/(?<=[.!?] |\n)/).map((s) => (DOSE.test(s) ? 'Ask your pharmacist about doses. ' : s)).join('');
    if (out) send({ chunk: out });
  };
  res.writeHead(200, { 'Content-Type': 'text/event-stream', 'Cache-Control': 'no-store' });
  const ac = new AbortController();
  res.on('close', () => ac.abort());
  try {
    const up = await fetch(`${UPSTREAM}/chat/completions`, {
      method: 'POST', signal: ac.signal,
      headers: { 'Content-Type': 'application/json', Authorization: `Bearer ${process.env.OPENAI_API_KEY || 'none'}` },
      body: JSON.stringify({ model: 'm', stream: true, stream_options: { include_usage: true },
        messages: [{ role: 'system', content: 'You are a parenting coach.' }, { role: 'user', content: url.searchParams.get('question') || '' }] }),
    });
    if (!up.ok) throw new Error('upstream status');
    const dec = new TextDecoder();
    let buf = '', pending = '';
    for await (const bytes of up.body) {
      buf += dec.decode(bytes, { stream: true });
      let i;
      while ((i = buf.indexOf('\n\n')) >= 0) {
        const data = buf.slice(0, i).split('\n').filter((l) => l.startsWith('data:')).map((l) => l.slice(5).trim()).join('\n');
        buf = buf.slice(i + 2);
        if (!data || data === '[DONE]') continue;
        const content = JSON.parse(data).choices?.[0]?.delta?.content;
        if (!content) continue;
        pending += content;
        const end = lastEnd(pending);
        if (end >= 0) { release(pending.slice(0, end + 2)); pending = pending.slice(end + 2); }
        if (pending && !/\d/.test(pending)) { send({ chunk: pending }); pending = ''; }
      }
    }
    release(pending);
    send({ done: true, message_id: id, citations: [] });
  } catch {
    if (!res.destroyed) send({ type: 'error', message: 'The answer was interrupted. Please try again.' });
  }
  res.end();
}).listen(Number(process.argv[2] || 0), '127.0.0.1', function () {
  process.stdout.write(`listening ${this.address().port}\n`);
});
