// Conversations through the real server, on both ways of asking: the seed's
// stream endpoint (GET /api/coach/stream/{session}?question=) and the POST
// messages endpoint followed by its stream_url. A follow-up is read with the
// session's earlier questions, small talk gets a short reply with no
// citation, a vague first question gets a clarifying question, and the
// honest no-match says so in done ("nomatch": true) and cites nothing.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startServer, api, newSession, stream, textOf } from './lib.mjs';

let srv;
before(async () => { srv = await startServer(); });
after(async () => { await srv.stop(); srv.cleanup(); });

const viaSeed = async (sid, q) =>
  stream(`${srv.base}/api/coach/stream/${sid}?question=${encodeURIComponent(q)}`);

const viaPost = async (sid, q) => {
  const r = await api(srv.base, 'POST', `/api/coach/sessions/${sid}/messages`, { question: q });
  assert.equal(r.status, 202, r.text);
  return stream(srv.base + r.json.stream_url);
};

for (const [name, ask] of [['seed stream', viaSeed], ['POST messages', viaPost]]) {
  test(`${name}: a follow-up is read with the question before it`, async () => {
    const sid = await newSession(srv.base);
    const first = await ask(sid, 'my toddler hits other kids at playgroup');
    const d1 = first.events.at(-1).data;
    assert.ok(d1.citations.length >= 1);
    assert.equal(d1.nomatch, undefined);
    const second = await ask(sid, 'and if he bites?');
    const d2 = second.events.at(-1).data;
    assert.ok(d2.citations.length >= 1, 'the follow-up is answered, cited');
    assert.match(d2.citations.map((c) => c.title).join(' | '), /bit/i);
    // "she's 6" alone has no concept: it is read with the earlier question
    const third = await ask(sid, "she's 6");
    const d3 = third.events.at(-1).data;
    assert.ok(d3.citations.length >= 1, 'an age alone continues the conversation');
  });

  test(`${name}: small talk gets a warm reply and no citation`, async () => {
    const sid = await newSession(srv.base);
    for (const q of ['hi', 'thanks, that helps']) {
      const s = await ask(sid, q);
      const done = s.events.at(-1).data;
      assert.equal(done.done, true);
      assert.deepEqual(done.citations, []);
      assert.equal(done.nomatch, undefined);
      assert.ok(!s.events.some((e) => e.data.type === 'refusal'), 'not refused');
      const text = textOf(s.events);
      assert.ok(text.length > 10 && text.length < 400);
      assert.doesNotMatch(text, /\[\d\]|vetted guidance/);
    }
  });

  test(`${name}: a vague first question gets a clarifying question`, async () => {
    const sid = await newSession(srv.base);
    const s = await ask(sid, 'is that normal?');
    assert.ok(!s.events.some((e) => e.data.type === 'refusal'), 'not refused');
    const text = textOf(s.events);
    assert.match(text, /how old is your child/i);
    assert.deepEqual(s.events.at(-1).data.citations, []);
  });

  test(`${name}: the honest no-match says so in done and cites nothing`, async () => {
    const sid = await newSession(srv.base);
    const s = await ask(sid, 'which musical instrument should my 7 year old learn first');
    const done = s.events.at(-1).data;
    assert.equal(done.nomatch, true);
    assert.deepEqual(done.citations, []);
    assert.match(textOf(s.events), /I don't have vetted guidance on .*instrument.* yet/);
  });

  test(`${name}: an emergency in a conversation is still refused`, async () => {
    const sid = await newSession(srv.base);
    await ask(sid, 'my 2 year old has a cold');
    const s = await ask(sid, 'he is not breathing and his lips are blue');
    assert.ok(s.events.some((e) => e.data.type === 'refusal'));
  });
}
