// fake_fast.mjs — a fast OpenAI-compatible upstream for bench/relay.mjs.
//
// POST /v1/chat/completions streams, for every request: after --first-ms
// (default 100) one content chunk every --interval-ms (default 30), --chunks
// of them (default 30), then a finish chunk, a usage chunk and [DONE]. Each
// chunk's text stamps the moment it was written, on the wall clock every
// local process shares (performance.timeOrigin + performance.now(), in ms
// with microseconds), so the client can measure what the relay in between
// added:
//   first chunk: "r<request received> s0@<sent>. "     later: "s<i>@<sent>. "
// Each stamp ends a sentence (". "), so a sentence-buffering relay releases
// every chunk as soon as it arrives. No logging, no state.
//   node bench/fake_fast.mjs [--port N] [--chunks N] [--interval-ms N] [--first-ms N]
//   -> prints "listening <port>"
import http from 'node:http';
import { performance } from 'node:perf_hooks';

const opt = { port: 0, chunks: 30, 'interval-ms': 30, 'first-ms': 100 };
for (let i = 2; i < process.argv.length; i += 2) opt[process.argv[i].replace(/^--/, '')] = Number(process.argv[i + 1]);

const now = () => (performance.timeOrigin + performance.now()).toFixed(3);
const frame = (obj) => `data: ${JSON.stringify(obj)}\n\n`;
const delta = (content) => frame({ object: 'chat.completion.chunk',
  choices: [{ index: 0, delta: { content }, finish_reason: null }] });

function stream(req, res, received) {
  res.writeHead(200, { 'Content-Type': 'text/event-stream', 'Cache-Control': 'no-cache' });
  res.write(frame({ object: 'chat.completion.chunk', choices: [{ index: 0, delta: { role: 'assistant', content: '' } }] }));
  let i = 0;
  let timer = null;
  const tick = () => {
    if (res.destroyed) return;
    if (i < opt.chunks) {
      res.write(delta(`${i === 0 ? `r${received} ` : ''}s${i}@${now()}. `));
      i++;
      timer = setTimeout(tick, opt['interval-ms']);
      return;
    }
    res.write(frame({ object: 'chat.completion.chunk', choices: [{ index: 0, delta: {}, finish_reason: 'stop' }] }));
    res.write(frame({ object: 'chat.completion.chunk', choices: [],
      usage: { prompt_tokens: 100, completion_tokens: opt.chunks, total_tokens: 100 + opt.chunks } }));
    res.end('data: [DONE]\n\n');
  };
  res.on('close', () => clearTimeout(timer));
  timer = setTimeout(tick, opt['first-ms']);
}

const server = http.createServer((req, res) => {
  if (req.method !== 'POST' || !req.url.endsWith('/chat/completions')) {
    res.writeHead(404).end();
    return;
  }
  req.resume();
  req.on('end', () => stream(req, res, now()));
});
server.keepAliveTimeout = 30000;
server.maxConnections = 100000;
server.listen(opt.port, '127.0.0.1', () => process.stdout.write(`listening ${server.address().port}\n`));
process.on('SIGTERM', () => process.exit(0));
