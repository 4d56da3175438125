// Conversations through the real server, on both ways of asking: the seed's
// stream endpoint (GET /api/coach/stream/{session}?question=) and the POST
// messages endpoint followed by its stream_url. A follow-up is read with the
// session's earlier questions, small talk gets a short reply with no
// citation, a vague first question gets a clarifying question, and the
// honest no-match says so in done ("nomatch": true) and cites nothing.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { startServer, api, newSession, stream, textOf, ROOT } from './lib.mjs';

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
    const s = await ask(sid, 'which ukulele should my 7 year old learn on');
    const done = s.events.at(-1).data;
    assert.equal(done.nomatch, true);
    assert.deepEqual(done.citations, []);
    assert.match(textOf(s.events), /I don't have vetted guidance on .*ukulele.* yet/);
  });

  test(`${name}: an emergency in a conversation is still refused`, async () => {
    const sid = await newSession(srv.base);
    await ask(sid, 'my 2 year old has a cold');
    const s = await ask(sid, 'he is not breathing and his lips are blue');
    assert.ok(s.events.some((e) => e.data.type === 'refusal'));
  });
}

for (const [name, ask] of [['seed stream', viaSeed], ['POST messages', viaPost]]) {
  test(`${name}: a topic switch is read on its own, not with the earlier topic`, async () => {
    const sid = await newSession(srv.base);
    await ask(sid, 'my 2 year old fights bedtime every night');
    const s = await ask(sid, 'how much screen time is ok for her');
    const titles = s.events.at(-1).data.citations.map((c) => c.title).join(' | ');
    assert.match(titles, /screen/i);
  });

  test(`${name}: a clarify turn followed by the details answers the details`, async () => {
    const sid = await newSession(srv.base);
    const c = await ask(sid, 'my son has been acting weird lately');
    assert.match(textOf(c.events), /how old is your child/i);
    assert.deepEqual(c.events.at(-1).data.citations, []);
    const s = await ask(sid, 'he is 3 and has meltdowns every time we leave the park');
    assert.match(s.events.at(-1).data.citations.map((x) => x.title).join(' | '), /tantrum|meltdown/i);
  });

  test(`${name}: thanks inside a longer message is small talk, a question after it is not`, async () => {
    const sid = await newSession(srv.base);
    await ask(sid, 'my 2 year old fights bedtime every night');
    const s = await ask(sid, 'ok thank you, gonna try tonight');
    assert.deepEqual(s.events.at(-1).data.citations, []);
    assert.equal(s.events.at(-1).data.nomatch, undefined);
    assert.match(textOf(s.events), /welcome/i);
    const q = await ask(sid, 'what about naps?');
    assert.match(q.events.at(-1).data.citations.map((x) => x.title).join(' | '), /nap/i);
  });
}

// convo37: "him" in a follow-up is the child the conversation is about (a
// teething baby's cold teether is answered, not refused as a medicine
// question); a partner named in the conversation is never the child;
// thanks with how the parent feels is small talk. convo39: only the fitted
// model's unsafe, medical and out-of-scope verdicts are re-read that way;
// an emergency or a crisis as typed stands.
for (const [name, ask] of [['seed stream', viaSeed], ['POST messages', viaPost]]) {
  test(`${name}: a follow-up's "him" is the child of the conversation`, async () => {
    const sid = await newSession(srv.base);
    await ask(sid, 'my 7 month old is teething and chewing everything');
    const s = await ask(sid, 'can i give him something cold to chew on');
    assert.ok(!s.events.some((e) => e.data.type === 'refusal'), 'not refused');
    assert.ok(s.events.at(-1).data.citations.length >= 1);
    const t = await ask(sid, 'thank you, I feel so much calmer now');
    assert.deepEqual(t.events.at(-1).data.citations, []);
    assert.match(textOf(t.events), /welcome/i);
    const p = await newSession(srv.base);
    await ask(p, "my husband and I keep arguing about our 4 year old's bedtime");
    const r = await ask(p, 'he hits me when I say no');
    assert.ok(r.events.some((e) => e.data.type === 'refusal'), 'a partner hitting is refused');
    const c = await newSession(srv.base);
    await ask(c, 'my 3 year old has tantrums at bedtime');
    const e = await ask(c, 'she is blue');
    assert.ok(e.events.some((x) => x.data.type === 'refusal'), 'an emergency in a follow-up is refused');
  });
}

// convo45: a short follow-up whose own words came up on a passing subject
// (a bath after eczema, dinner after an imaginary friend) keeps the
// conversation's topic when that reading is confident and more so; a
// "separate thing" the knowledge base does not cover is the honest
// no-match, on both ways of asking.
for (const [name, ask] of [['seed stream', viaSeed], ['POST messages', viaPost]]) {
  test(`${name}: a follow-up on a passing subject keeps the conversation's topic`, async () => {
    const sid = await newSession(srv.base);
    await ask(sid, 'babys cheeks have red rough dry patches and she scratches them');
    const s = await ask(sid, 'we bath her every night is that too much');
    assert.match(s.events.at(-1).data.citations.map((x) => x.title).join(' | '), /eczema/i);
    const f = await newSession(srv.base);
    await ask(f, 'my 4yo has an imaginary friend called bob who gets blamed for everything');
    const d = await ask(f, 'is it weird that she talks to him at dinner');
    assert.match(d.events.at(-1).data.citations.map((x) => x.title).join(' | '), /imaginary/i);
  });

  test(`${name}: a "separate thing" the knowledge base does not cover is the no-match`, async () => {
    const sid = await newSession(srv.base);
    await ask(sid, "my mum keeps giving the kids sweets even though I've asked her not to");
    const s = await ask(sid, 'separate thing but should we name my sister as guardian in our will?');
    assert.equal(s.events.at(-1).data.nomatch, true);
    assert.deepEqual(s.events.at(-1).data.citations, []);
  });
}

test('history reload: after a restart the session still reads a follow-up with its earlier question', async () => {
  const a = await startServer();
  let b;
  try {
    const sid = await newSession(a.base);
    const r = await api(a.base, 'POST', `/api/coach/sessions/${sid}/messages`,
      { question: 'my toddler hits other kids at playgroup' });
    assert.equal(r.status, 202, r.text);
    await stream(a.base + r.json.stream_url);
    await a.stop();
    b = await startServer(['--db', a.db]);
    const s = await stream(`${b.base}/api/coach/stream/${sid}?question=${encodeURIComponent('and if he bites?')}`);
    assert.match(s.events.at(-1).data.citations.map((c) => c.title).join(' | '), /bit/i);
  } finally {
    if (b) { await b.stop(); b.cleanup(); }
    a.cleanup();
  }
});

// The openai engine is given the passages retrieved for the question in its
// conversation (the same ones the grounded engine answers from) and the
// child's age the conversation remembers, also after a restart: checked in
// the request body tests/fake_openai.mjs receives.
function startFake() {
  return new Promise((resolve, reject) => {
    const proc = spawn(process.execPath, [join(ROOT, 'tests', 'fake_openai.mjs'), '--port', '0'],
      { stdio: ['ignore', 'pipe', 'inherit'] });
    let buf = '';
    const timer = setTimeout(() => reject(new Error('fake did not start')), 10000);
    proc.stdout.on('data', (d) => {
      buf += d;
      const m = /^listening (\d+)\n/.exec(buf);
      if (m) { clearTimeout(timer); resolve({ proc, base: `http://127.0.0.1:${m[1]}` }); }
    });
    proc.on('exit', (code) => reject(new Error(`fake exited ${code}`)));
  });
}

test('openai engine: a follow-up sends the conversation\'s passages and age, also after a restart', async () => {
  const fake = await startFake();
  const stats = async () => (await fetch(`${fake.base}/__stats`)).json();
  const oargs = ['--engine', 'openai', '--total-timeout-s', '10', '--grace-s', '2'];
  const env = { OPENAI_BASE_URL: `${fake.base}/v1`, OPENAI_API_KEY: 'sk-test-convo' };
  const post = async (s, sid, q) => {
    const r = await api(s.base, 'POST', `/api/coach/sessions/${sid}/messages`, { question: q });
    assert.equal(r.status, 202, r.text);
    return stream(s.base + r.json.stream_url);
  };
  let a, b;
  try {
    a = await startServer(oargs, env);
    const sid = await newSession(a.base);
    await post(a, sid, 'my 2 year old fights bedtime every night');
    await post(a, sid, 'what about naps?');
    let sys = (await stats()).last_request.body.messages[0].content;
    assert.match(sys, /The child's age[^\n]*: 24 months/);
    // the grounded engine's passages for the same conversation are the ones sent
    const gsid = await newSession(srv.base);
    await viaPost(gsid, 'my 2 year old fights bedtime every night');
    const g = await viaPost(gsid, 'what about naps?');
    const cited = g.events.at(-1).data.citations;
    assert.ok(cited.length >= 1);
    assert.match(cited.map((c) => c.title).join(' | '), /nap/i);
    for (const c of cited) assert.ok(sys.includes(`] ${c.title}`), `openai was sent '${c.title}'`);
    // small talk never reaches the upstream
    const n = (await stats()).requests;
    const t = await post(a, sid, 'thanks, that helps');
    assert.deepEqual(t.events.at(-1).data.citations, []);
    assert.equal((await stats()).requests, n);
    // after a restart the session still knows the age and the topic
    await a.stop();
    b = await startServer(['--db', a.db, ...oargs], env);
    // (on the seed stream endpoint this time)
    await stream(`${b.base}/api/coach/stream/${sid}?question=${encodeURIComponent('and how long should they be?')}`);
    sys = (await stats()).last_request.body.messages[0].content;
    assert.match(sys, /The child's age[^\n]*: 24 months/);
    assert.match(sys, /^\[1\] [^\n]*nap/im);
    // an age correction replaces the remembered age for the turns after it
    await post(b, sid, "sorry, she's actually 3. she still naps for two hours, is that too long?");
    await post(b, sid, 'what about bedtime then?');
    sys = (await stats()).last_request.body.messages[0].content;
    assert.match(sys, /The child's age[^\n]*: 36 months/);
  } finally {
    if (b) { await b.stop(); b.cleanup(); }
    if (a) a.cleanup();
    fake.proc.kill('SIGTERM');
  }
});
