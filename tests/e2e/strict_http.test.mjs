// Strict HTTP (issue 16, item 6): framing that could be read two ways is
// refused with a JSON 400 and the connection closed; POST bodies must be
// application/json; every error, those libevent would have written as
// HTML included, is our JSON with our security headers; length limits
// count characters where the docs say characters. Raw sockets, so the
// bytes on the wire are exactly the case.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startServer, api, raw, newSession, stream } from './lib.mjs';

let srv;
before(async () => { srv = await startServer(); });
after(async () => { await srv.stop(); srv.cleanup(); });

const SECURITY = ['x-content-type-options', 'content-security-policy', 'x-frame-options',
                  'referrer-policy', 'cache-control'];

// A JSON error with our headers, then the connection closed, and nothing
// after the one response (no second request was run from leftover bytes).
function refused(r, status, code) {
  assert.equal(r.status, status, r.text.slice(0, 300));
  assert.ok(r.json && r.json.error, 'a JSON body: ' + r.text.slice(0, 300));
  assert.equal(r.json.error.code, code);
  assert.match(r.head, /^content-type: application\/json/im);
  for (const h of SECURITY) assert.match(r.head, new RegExp('^' + h + ':', 'im'), h);
  assert.match(r.head, /^connection: close/im);
  assert.ok(r.closed, 'the server closed the connection');
  assert.equal((r.text.match(/HTTP\/1\.1 \d{3}/g) || []).length, 1, 'one response: ' + r.text);
}

const post = (extra, body = '') =>
  `POST /api/coach/sessions HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n${extra}\r\n${body}`;
// what a smuggled second request would be: it must never run
const SMUGGLED = 'GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n';

test('two different Content-Length headers: 400, closed, the rest is not run as a request', async () => {
  refused(await raw(srv.port, [post('Content-Length: 2\r\nContent-Length: ' + (2 + SMUGGLED.length) + '\r\n',
                                    '{}' + SMUGGLED)]), 400, 'duplicate_content_length');
});

test('two equal Content-Length headers: 400', async () => {
  refused(await raw(srv.port, [post('Content-Length: 2\r\nContent-Length: 2\r\n', '{}')]),
          400, 'duplicate_content_length');
});

test('a Content-Length that is not plain digits: 400', async () => {
  refused(await raw(srv.port, [post('Content-Length: 2, 2\r\n', '{}')]), 400, 'invalid_content_length');
});

test('Transfer-Encoding with Content-Length: 400', async () => {
  refused(await raw(srv.port, [post('Content-Length: 7\r\nTransfer-Encoding: chunked\r\n', '2\r\n{}\r\n0\r\n\r\n')]),
          400, 'conflicting_framing');
});

test('"Transfer-Encoding : chunked" (a space before the colon): 400', async () => {
  refused(await raw(srv.port, [post('Transfer-Encoding : chunked\r\nContent-Length: 2\r\n', '{}')]),
          400, 'invalid_header_name');
});

test('Transfer-Encoding alone: 411, bodies are read by length only', async () => {
  refused(await raw(srv.port, [post('Transfer-Encoding: chunked\r\n', '2\r\n{}\r\n0\r\n\r\n' + SMUGGLED)]),
          411, 'length_required');
});

test('a malformed header name: 400', async () => {
  refused(await raw(srv.port, ['GET /healthz HTTP/1.1\r\nHost: x\r\nX(bad): 1\r\n\r\n']), 400, 'invalid_header_name');
});

test('obsolete line folding: 400', async () => {
  refused(await raw(srv.port, ['GET /healthz HTTP/1.1\r\nHost: x\r\nX-A: b\r\n folded\r\n\r\n']),
          400, 'obsolete_line_folding');
});

test('a body on GET is framed by its length: the next request starts after it', async () => {
  const body = SMUGGLED;   // bytes that look like a request, inside the body
  const r = await raw(srv.port, [`GET /healthz HTTP/1.1\r\nHost: x\r\nContent-Length: ${body.length}\r\n\r\n${body}` +
                                 'GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n']);
  assert.equal((r.text.match(/HTTP\/1\.1 200/g) || []).length, 2, r.text);
});

test('a POST body that is not application/json: 415', async () => {
  const sid = await newSession(srv.base);
  for (const ct of [null, 'text/plain', 'application/x-www-form-urlencoded', 'multipart/form-data; boundary=x',
                    'application/jsonp']) {
    const body = '{"question":"my toddler bites"}';
    const r = await raw(srv.port, [`POST /api/coach/sessions/${sid}/messages HTTP/1.1\r\nHost: x\r\nConnection: close\r\n` +
                                   (ct ? `Content-Type: ${ct}\r\n` : '') + `Content-Length: ${body.length}\r\n\r\n${body}`]);
    assert.equal(r.status, 415, `${ct}: ${r.text.slice(0, 200)}`);
    assert.equal(r.json.error.code, 'unsupported_media_type');
  }
  // the page's own requests: JSON with a charset, and a body-less POST
  const ok = await api(srv.base, 'POST', `/api/coach/sessions/${sid}/messages`, { question: 'my toddler bites' },
                       { 'content-type': 'application/json; charset=utf-8' });
  assert.equal(ok.status, 202);
  assert.equal((await api(srv.base, 'POST', '/api/coach/start')).status, 201);
  // nothing was saved for the refused ones
  const g = await api(srv.base, 'GET', '/api/coach/sessions/' + sid);
  assert.equal(g.json.messages.filter((m) => m.role === 'user').length, 1);
});

test("errors libevent would write as HTML are our JSON with our headers", async () => {
  const cases = [
    ['BREW /healthz HTTP/1.1\r\nHost: x\r\n\r\n', 501, 'method_not_implemented'],
    ['GET /healthz HTTP/2.0\r\nHost: x\r\n\r\n', 505, 'http_version_not_supported'],
    ['GET /healthz HTTP/1.1\r\nHost: x\r\nExpect: tea\r\n\r\n', 417, 'expectation_failed'],
    ['GARBAGE\r\n\r\n', 400, 'invalid_request_line'],
    ['GET http://elsewhere/ HTTP/1.1\r\nHost: x\r\n\r\n', 400, 'invalid_target'],
    [post('Content-Length: 100000\r\n', '{}'), 413, 'body_too_large'],
    ['GET /healthz HTTP/1.1\r\nHost: x\r\nX-Big: ' + 'a'.repeat(40000) + '\r\n\r\n', 431, 'headers_too_large'],
  ];
  for (const [bytes, status, code] of cases) refused(await raw(srv.port, [bytes]), status, code);
  assert.equal((await api(srv.base, 'GET', '/healthz')).status, 200);
});

test('parent_name is limited to 100 characters, not bytes', async () => {
  const ok = await api(srv.base, 'POST', '/api/coach/sessions', { parent_name: 'é'.repeat(100) });
  assert.equal(ok.status, 201, ok.text);
  const g = await api(srv.base, 'GET', '/api/coach/sessions/' + ok.json.session_id);
  assert.equal(g.json.parent_name, 'é'.repeat(100));
  const long = await api(srv.base, 'POST', '/api/coach/sessions', { parent_name: 'é'.repeat(101) });
  assert.equal(long.status, 400);
  assert.equal(long.json.error.code, 'invalid_parent_name');
});

test('a 2,000-character question written with \\u escapes is accepted', async () => {
  const sid = await newSession(srv.base);
  const q = '😴'.repeat(1999) + '?';                  // 2,000 characters
  const body = JSON.stringify({ question: q }).replace(/[\u007f-\uffff]/g,
    (c) => '\\u' + c.charCodeAt(0).toString(16).padStart(4, '0'));
  assert.ok(body.length > 16 * 1024);                 // over the old byte limit
  const r = await api(srv.base, 'POST', `/api/coach/sessions/${sid}/messages`, body);
  assert.equal(r.status, 202, r.text.slice(0, 200));
  const over = JSON.stringify({ question: q + 'x' });
  const r2 = await api(srv.base, 'POST', `/api/coach/sessions/${sid}/messages`, over);
  assert.equal(r2.status, 413);
  assert.equal(r2.json.error.code, 'question_too_long');
});

test('a 2,000-character question in the seed endpoint\'s query fits the head limit', async () => {
  const sid = await newSession(srv.base);
  const q = encodeURIComponent('😴'.repeat(1999) + '?');
  assert.ok(q.length > 8 * 1024);                     // over the old header limit
  const r = await stream(`${srv.base}/api/coach/stream/${sid}?question=${q}`, { timeoutMs: 20000 });
  assert.equal(r.status, 200);
});
