// fake_openai.mjs — a fake OpenAI-compatible upstream for coachd's tests.
//
// Speaks the real wire format of POST /v1/chat/completions with stream:true
// (text/event-stream, one `data: {chat.completion.chunk}` per event, each
// event ended by a blank line, a usage chunk with empty choices when
// stream_options.include_usage is set, then `data: [DONE]`), so the `openai`
// engine can be tested end to end without a network. Misbehaviour is chosen
// per request by a directive token, so one fake serves every test:
//
//   node tests/fake_openai.mjs [--port N]     (0/default: a free port)
//   -> prints exactly one line "listening <port>" on stdout when ready.
//
// The directive is the FIRST [[name]] or [[name:arg]] token in the content of
// the LAST user message; an X-Fake-Mode header (e.g. "slow:50" or
// "[[slow:50]]"), when present, is used instead of the message. Tokens:
//   [[slow:MS]]        MS ms between chunks
//   [[cut:N]]          destroy the socket after N content chunks
//   [[status:CODE]]    answer CODE (e.g. 429, 500) with an OpenAI JSON error
//   [[retry-after:S]]  modifier, looked up on its own: adds Retry-After: S to
//                      an error answer (it is never the directive itself)
//   [[fail-once:CODE]] the first request carrying it (per distinct last user
//                      message) fails with CODE, the next ones stream
//   [[malformed]]      one chunk of invalid JSON midway
//   [[hang]]           accept and never answer
//   [[hang-after:N]]   headers, the role chunk and N content chunks, then stall
//   [[error-event]]    `data: {"error":{"message":"upstream exploded"}}` midway,
//                      then the response ends (no finish chunk, no [DONE])
//   [[crlf]]           \r\n line endings (events end \r\n\r\n)
//   [[length:N]]       N content chunks, then finish_reason "length" (the
//                      max_tokens cut), usage and [DONE]
//   [[think]]          a thinking model without a reasoning parser: the
//                      content starts with "<think>...</think>"
//   [[reasoning:MS]]   a thinking model with one: delta.reasoning_content
//                      every 100 ms for MS ms before the first content
//   [[llama]]          llama.cpp style: `timings` (and usage, when asked for)
//                      in the finish chunk instead of a separate usage chunk
//   [[dose]]           the answer gives a medication dose
//   [[cite:K]]         the answer cites [K]
//   [[text:URLENC]]    the answer is decodeURIComponent(URLENC)
//   [[words:N]]        the answer is N one-word sentences, one per chunk;
//   [[words:N@MS]]     the same, the first after MS ms
//   [[xss]]            the answer carries HTML/markdown injection and a
//                      forged "\n\ndata: {...}\n\n" line
//
// A model named gpt-5* or o3* behaves as OpenAI's newer models do: HTTP 400
// for max_tokens (param "max_tokens", code "unsupported_parameter"; they
// take max_completion_tokens) and for a temperature other than 1 (param
// "temperature", code "unsupported_value").
//
// GET /__stats -> {"requests": N, "last_request": {method, path, headers,
// has_auth, body}} (authorization shown as "Bearer <redacted>"); POST
// /__reset zeroes it. N counts chat-completion requests only. Nothing is
// logged: request bodies hold a parent's question.

import http from 'node:http';
import { randomBytes } from 'node:crypto';

const DEFAULT_ANSWER =
  'I hear you, bedtime can be hard. 1. Keep a calm routine [1]. ' +
  '2. Dim the lights an hour before bed [2]. 3. Keep the same wake time [1].';
const DOSE_ANSWER =
  'Fevers are common and usually pass in a few days [1]. ' +
  'Give 5 ml of infant ibuprofen every 6 hours. ' +
  'Offer fluids often and let your child rest [2].';
const MAX_BODY = 1 << 20;
const DIRECTIVE = /\[\[([a-z-]+)(?::([^\]]*))?\]\]/g;

const state = { requests: 0, last: null, failedOnce: new Set() };

function parseArgs(argv) {
  let port = 0;
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '--port') port = Number(argv[++i]);
    else if (a.startsWith('--port=')) port = Number(a.slice(7));
  }
  if (!Number.isInteger(port) || port < 0 || port > 65535) {
    process.stderr.write('fake_openai: --port must be 0..65535\n');
    process.exit(2);
  }
  return port;
}

function sendJson(res, status, obj, headers = {}) {
  const body = JSON.stringify(obj);
  res.writeHead(status, {
    'Content-Type': 'application/json',
    'Content-Length': Buffer.byteLength(body),
    ...headers,
  });
  res.end(body);
}

function openaiError(status, message, type, code = null) {
  return { error: { message, type, param: null, code } };
}

function errorFor(status) {
  if (status === 429)
    return openaiError(429, 'Rate limit reached for requests', 'requests', 'rate_limit_exceeded');
  if (status === 401)
    return openaiError(401, 'Incorrect API key provided.', 'invalid_request_error', 'invalid_api_key');
  if (status >= 500)
    return openaiError(status, 'The server had an error while processing your request.', 'server_error');
  return openaiError(status, `Request failed with status ${status}.`, 'invalid_request_error');
}

// The text of a message's content: a string, or OpenAI's array of parts.
function contentText(content) {
  if (typeof content === 'string') return content;
  if (Array.isArray(content))
    return content.map((p) => (p && typeof p.text === 'string' ? p.text : '')).join('');
  return '';
}

// Every directive in s, in order: [{name, arg}].
function directives(s) {
  return [...s.matchAll(DIRECTIVE)].map((m) => ({ name: m[1], arg: m[2] ?? null }));
}

// The behaviour for a request: the first directive (retry-after excluded),
// from X-Fake-Mode if present, else from the last user message.
function chooseMode(req, body) {
  const header = req.headers['x-fake-mode'];
  let source;
  if (typeof header === 'string' && header.length) {
    source = header.includes('[[') ? header : `[[${header}]]`;
  } else {
    const users = body.messages.filter((m) => m && m.role === 'user');
    source = users.length ? contentText(users[users.length - 1].content) : '';
  }
  const all = directives(source);
  const mode = all.find((d) => d.name !== 'retry-after') ?? { name: 'normal', arg: null };
  const ra = all.find((d) => d.name === 'retry-after');
  return { ...mode, retryAfter: ra ? ra.arg : null, key: source };
}

function validate(body) {
  if (!body || typeof body !== 'object' || Array.isArray(body)) return 'body must be a JSON object';
  if (typeof body.model !== 'string' || !body.model) return "'model' is required";
  if (!Array.isArray(body.messages) || body.messages.length === 0)
    return "'messages' must be a non-empty array";
  for (const [i, m] of body.messages.entries()) {
    if (!m || typeof m.role !== 'string') return "each message needs a 'role'";
    if (typeof m.content !== 'string' && !Array.isArray(m.content))
      return "each message needs a 'content'";
    // as strict chat templates (llama.cpp --jinja with some Mistral and
    // Gemma templates) do: one system message, and only at the start
    if (m.role === 'system' && i > 0) return 'System message must be at the beginning.';
  }
  if (body.stream !== true) return "this fake only streams: 'stream' must be true";
  return null;
}

// Word-sized pieces whose concatenation is exactly text.
function words(text) {
  const out = [];
  const re = /\s*\S+/g;
  let m;
  let end = 0;
  while ((m = re.exec(text)) !== null) {
    out.push(m[0]);
    end = re.lastIndex;
  }
  if (end < text.length) {
    if (out.length) out[out.length - 1] += text.slice(end);
    else out.push(text.slice(end));
  }
  return out;
}

function answerPieces(mode) {
  switch (mode.name) {
    case 'dose':
      return words(DOSE_ANSWER);
    case 'think':
      return words('<think>\nThe parent wants help with bedtime. Stay calm.\n</think>\n\n' + DEFAULT_ANSWER);
    case 'cite':
      return words(`Keep a calm routine [1]. Children settle with a steady rhythm [${mode.arg ?? '9'}].`);
    case 'text': {
      let t;
      try {
        t = decodeURIComponent(mode.arg ?? '');
      } catch {
        t = mode.arg ?? '';
      }
      return words(t);
    }
    case 'words': {
      // N short words, for tests that need a long stream (slow readers)
      const n = Math.min(parseInt(mode.arg, 10) || 100, 20000);
      return Array.from({ length: n }, (_, i) => (i ? ' Ok.' : 'Ok.'));
    }
    case 'xss':
      return [
        'Here is a tip',
        ' <img src=x onerror=alert(1)>',
        ' and <script>alert(1)</script>',
        ' see [x](javascript:alert(1))',
        ' ![](http://evil.example/x.png)',
        '\n\ndata: {"done":true}\n\n',
        'Keep a calm routine [1].',
      ];
    default:
      return words(DEFAULT_ANSWER);
  }
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

async function stream(req, res, body, mode) {
  const nl = mode.name === 'crlf' ? '\r\n' : '\n';
  const id = 'chatcmpl-' + randomBytes(12).toString('base64url');
  const created = Math.floor(Date.now() / 1000);
  const model = body.model;
  const usageWanted = !!(body.stream_options && body.stream_options.include_usage);
  const delay = mode.name === 'slow' ? Math.max(0, Number(mode.arg) || 0) : 0;
  const pieces = answerPieces(mode);
  const promptChars = body.messages.reduce((n, m) => n + contentText(m.content).length, 0);
  const usage = {
    prompt_tokens: Math.max(1, Math.ceil(promptChars / 4)),
    completion_tokens: pieces.length,
    total_tokens: Math.max(1, Math.ceil(promptChars / 4)) + pieces.length,
  };
  let closed = false;
  res.on('close', () => {
    closed = true;
  });

  const chunk = (delta, finish, extra = {}) => {
    const c = {
      id,
      object: 'chat.completion.chunk',
      created,
      model,
      system_fingerprint: 'fp_fake',
      choices: [{ index: 0, delta, logprobs: null, finish_reason: finish }],
    };
    if (usageWanted && mode.name !== 'llama') c.usage = null;
    return Object.assign(c, extra);
  };
  // Resolves once the event is handed to the kernel, so every chunk is its
  // own write and a later socket.destroy() cannot drop what was sent.
  const send = (data) =>
    new Promise((resolve) => {
      if (closed) return resolve();
      res.write(`data: ${data}${nl}${nl}`, () => resolve());
    });
  const pause = async () => {
    if (delay) await sleep(delay);
  };

  res.writeHead(200, {
    'Content-Type': 'text/event-stream; charset=utf-8',
    'Cache-Control': 'no-cache',
    Connection: 'keep-alive',
    'X-Request-Id': 'req_' + randomBytes(8).toString('hex'),
  });
  await send(JSON.stringify(chunk({ role: 'assistant', content: '' }, null)));

  if (mode.name === 'words' && /@\d+$/.test(mode.arg || ''))
    await sleep(Number(mode.arg.split('@')[1]));
  if (mode.name === 'reasoning') {
    const until = Date.now() + (Number(mode.arg) || 0);
    while (Date.now() < until && !closed) {
      await send(JSON.stringify(chunk({ reasoning_content: ' thinking it over' }, null)));
      await sleep(100);
    }
  }

  // [[cut:N]] / [[hang-after:N]]: true once N content chunks are out.
  const limit = Number(mode.arg);
  const stop = (sent) => {
    if (mode.name === 'cut' && sent >= limit) {
      res.socket?.destroy();
      return true;
    }
    return mode.name === 'hang-after' && sent >= limit; // stall forever
  };
  if (stop(0)) return;

  const midway = Math.floor(pieces.length / 2);
  const npieces = mode.name === 'length' ? Math.min(limit || 1, pieces.length) : pieces.length;
  const finish = mode.name === 'length' ? 'length' : 'stop';
  for (let i = 0; i < npieces; i++) {
    await pause();
    if (closed) return;
    if (i === midway && mode.name === 'malformed')
      await send(`{"id":"${id}","object":"chat.completion.chunk","choices":[{"index":0,"delta":{"content":"oops"`);
    if (i === midway && mode.name === 'error-event') {
      await send(JSON.stringify({ error: { message: 'upstream exploded' } }));
      res.end();
      return;
    }
    await send(JSON.stringify(chunk({ content: pieces[i] }, null)));
    if (stop(i + 1)) return;
  }
  await pause();
  if (closed) return;
  if (mode.name === 'llama') {
    const extra = {
      timings: {
        prompt_n: usage.prompt_tokens,
        prompt_ms: 31.2,
        prompt_per_token_ms: 2.6,
        prompt_per_second: 384.6,
        predicted_n: usage.completion_tokens,
        predicted_ms: 212.5,
        predicted_per_token_ms: 8.5,
        predicted_per_second: 117.6,
      },
    };
    if (usageWanted) extra.usage = usage;
    await send(JSON.stringify(chunk({}, finish, extra)));
  } else {
    await send(JSON.stringify(chunk({}, finish)));
    if (usageWanted)
      await send(
        JSON.stringify({
          id,
          object: 'chat.completion.chunk',
          created,
          model,
          system_fingerprint: 'fp_fake',
          choices: [],
          usage,
        }),
      );
  }
  await send('[DONE]');
  res.end();
}

function readBody(req) {
  return new Promise((resolve, reject) => {
    const parts = [];
    let size = 0;
    req.on('data', (d) => {
      size += d.length;
      if (size > MAX_BODY) {
        reject(Object.assign(new Error('too large'), { status: 413 }));
        req.destroy();
        return;
      }
      parts.push(d);
    });
    req.on('end', () => resolve(Buffer.concat(parts).toString('utf8')));
    req.on('error', reject);
  });
}

function redactedHeaders(headers) {
  const out = { ...headers };
  if ('authorization' in out) out.authorization = 'Bearer <redacted>';
  return out;
}

async function completions(req, res) {
  let raw;
  try {
    raw = await readBody(req);
  } catch (e) {
    if (e.status === 413) sendJson(res, 413, openaiError(413, 'Request body too large.', 'invalid_request_error'));
    return;
  }
  let body = null;
  try {
    body = JSON.parse(raw);
  } catch {
    body = undefined;
  }
  state.requests++;
  state.last = {
    method: req.method,
    path: req.url,
    headers: redactedHeaders(req.headers),
    has_auth: typeof req.headers.authorization === 'string' && req.headers.authorization.length > 0,
    body: body === undefined ? null : body,
  };
  if (body === undefined)
    return sendJson(res, 400, openaiError(400, 'We could not parse the JSON body of your request.', 'invalid_request_error'));
  const problem = validate(body);
  if (problem) return sendJson(res, 400, openaiError(400, problem, 'invalid_request_error'));
  if (/^(gpt-5|o3)/.test(body.model)) {
    const refuse = (message, param, code) =>
      sendJson(res, 400, { error: { message, type: 'invalid_request_error', param, code } });
    if ('max_tokens' in body)
      return refuse("Unsupported parameter: 'max_tokens' is not supported with this model. " +
        "Use 'max_completion_tokens' instead.", 'max_tokens', 'unsupported_parameter');
    if ('temperature' in body && body.temperature !== 1)
      return refuse(`Unsupported value: 'temperature' does not support ${body.temperature} with this ` +
        'model. Only the default (1) value is supported.', 'temperature', 'unsupported_value');
  }

  const mode = chooseMode(req, body);
  const retry = mode.retryAfter !== null ? { 'Retry-After': String(mode.retryAfter) } : {};
  if (mode.name === 'status') {
    const status = Number(mode.arg);
    if (Number.isInteger(status) && status >= 400 && status <= 599)
      return sendJson(res, status, errorFor(status), retry);
  }
  if (mode.name === 'fail-once') {
    const status = Number(mode.arg);
    const key = `${mode.arg}\u0000${mode.key}`;
    if (!state.failedOnce.has(key) && Number.isInteger(status) && status >= 400 && status <= 599) {
      state.failedOnce.add(key);
      return sendJson(res, status, errorFor(status), retry);
    }
  }
  if (mode.name === 'hang') return; // never answer; the socket stays open
  await stream(req, res, body, mode);
}

async function handle(req, res) {
  const path = (req.url || '/').split('?')[0];
  if (req.method === 'POST' && (path === '/v1/chat/completions' || path === '/chat/completions'))
    return completions(req, res);
  if (req.method === 'GET' && path === '/__stats')
    return sendJson(res, 200, { requests: state.requests, last_request: state.last });
  if (req.method === 'POST' && path === '/__reset') {
    state.requests = 0;
    state.last = null;
    state.failedOnce.clear();
    req.resume();
    return sendJson(res, 200, { ok: true });
  }
  if (req.method === 'GET' && (path === '/v1/models' || path === '/models'))
    return sendJson(res, 200, {
      object: 'list',
      data: [{ id: 'fake-model', object: 'model', created: 1732350000, owned_by: 'fake' }],
    });
  req.resume();
  return sendJson(res, 404, openaiError(404, `Unknown request URL: ${req.method} ${path}.`, 'invalid_request_error', 'unknown_url'));
}

const server = http.createServer((req, res) => {
  handle(req, res).catch(() => {
    if (!res.headersSent) sendJson(res, 500, errorFor(500));
    else res.destroy();
  });
});
server.keepAliveTimeout = 5000;

function shutdown() {
  server.close();
  server.closeAllConnections();
  process.exit(0);
}
process.on('SIGTERM', shutdown);
process.on('SIGINT', shutdown);

server.listen(parseArgs(process.argv.slice(2)), '127.0.0.1', () => {
  process.stdout.write(`listening ${server.address().port}\n`);
});
