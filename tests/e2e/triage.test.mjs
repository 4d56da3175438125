// Triage end to end: one question per protocol family through the seed
// stream endpoint and the POST endpoint, in both locales, with its
// first-aid line and the locale's numbers; the urgent level as its own
// event before the answer, saved in history; preparedness questions get
// first aid, not a refusal; another language gets its note and numbers.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startServer, api, newSession, stream } from './lib.mjs';

let us, uk;
before(async () => {
  us = await startServer();
  uk = await startServer(['--locale', 'UK']);
});
after(async () => {
  await us.stop(); us.cleanup();
  await uk.stop(); uk.cleanup();
});

const seed = async (srv, q) => {
  const sid = await newSession(srv.base);
  const s = await stream(`${srv.base}/api/coach/stream/${sid}?question=${encodeURIComponent(q)}`);
  assert.equal(s.status, 200);
  return { sid, s };
};

const post = async (srv, q) => {
  const sid = await newSession(srv.base);
  const r = await api(srv.base, 'POST', `/api/coach/sessions/${sid}/messages`, { question: q });
  assert.equal(r.status, 202);
  const s = await stream(srv.base + r.json.stream_url);
  return { sid, s };
};

// [family, category, question, a word the first-aid line must contain]
const families = [
  ['head injury', 'emergency', 'fell down the stairs, clear fluid from her nose and she is so sleepy', 'still'],
  ['breathing', 'emergency', 'the skin between his ribs is sucking in with every breath and he is grunting', 'CPR'],
  ['silent choking', 'emergency', 'she was eating grapes and went quiet, hands at her throat, not making any sound', 'back blows'],
  ['seizure', 'emergency', 'my son is having a fit, jerking all over and not responding', 'side'],
  ['screenwash', 'emergency', 'he drank some screenwash in the garage', 'vomit'],
  ['methadone', 'emergency', "found my toddler with my partner's methadone, the cup is empty", 'vomit'],
  ['coin with drooling', 'emergency', 'swallowed a coin and now he is drooling and gagging', 'emergency department'],
  ['button battery', 'emergency', 'my 2 year old swallowed a button battery from the remote', 'two hours'],
  ['nosebleed', 'emergency', 'nosebleed for 40 minutes and now she is dizzy', 'pinch'],
  ['dehydration', 'emergency', 'no tears, no wet nappies since yesterday and he is barely moving', 'dehydration'],
  ['green vomit', 'emergency', 'my baby is vomiting green and his belly is hard and swollen', 'bowel'],
  ['testicle', 'emergency', 'my 13 year old has sudden bad pain in his testicle', 'hours'],
  ['stroke', 'emergency', 'her face is drooping on one side and her speech is slurred', 'time'],
  ['snake bite', 'emergency', 'a snake bit my son on the ankle while camping', 'still'],
  ['fingertip', 'emergency', 'he cut off the tip of his finger with the garden shears', 'ice'],
  ['gunshot', 'emergency', 'my teenager has been shot in the leg', 'Press'],
  ['carbon monoxide', 'emergency', 'the carbon monoxide alarm is going off and the kids have headaches and are vomiting', 'fresh air'],
  ['diving', 'emergency', "he dived into the shallow end and now he can't move his arms", 'neck'],
  ['honey', 'emergency', 'we gave our 5 month old honey and now she is floppy and weak', 'botulism'],
  ['hot car', 'emergency', 'my baby is locked in the hot car and I cannot open it', 'window'],
  ['vomiting blood', 'emergency', 'my son is vomiting blood', 'Press'],
  ['chest pain', 'emergency', 'chest pain and he has gone grey and sweaty', 'resting'],
  ['eye injury', 'emergency', "a stick went in her eye and she can't see out of it", 'rub'],
  ['electric shock', 'emergency', 'my daughter got an electric shock from the socket', 'power'],
  ['suicide, indirect', 'crisis', "everyone would be happier if I wasn't around", 'danger'],
  ['lethal dose search', 'crisis', 'my teen searched how many paracetamol it takes to die', 'medicines'],
  ['snapping', 'crisis', "i'm afraid i'm going to snap and hurt my baby", 'safe'],
  ['sextortion', 'crisis', 'someone online has nude pictures of my son and is demanding money', 'pay'],
  ['strangulation', 'crisis', 'my husband put his hands round my neck last night', 'safety plan'],
  ['carer hitting', 'crisis', 'the nursery worker hit my son and I saw her shake another child', 'report'],
];

for (const [family, category, q, word] of families) {
  for (const [name, srv, phone] of [['US', () => us, '911'], ['UK', () => uk, '999']]) {
    test(`${family} (${name}, seed and POST): ${category} with first aid and ${phone}`, async () => {
      for (const how of [seed, post]) {
        const { s } = await how(srv(), q);
        const ref = s.events.find((e) => e.data.type === 'refusal');
        assert.ok(ref, `${how.name}: refused (${JSON.stringify(s.events[0].data).slice(0, 200)})`);
        const r = ref.data.data;
        assert.equal(r.category, category);
        assert.ok(r.first_aid && r.first_aid.includes(word), `first aid "${r.first_aid}" has "${word}"`);
        assert.ok(r.source && r.source.length > 3, 'names its source');
        const text = r.message + ' ' + r.resources.map((x) => x.phone).join(' ');
        assert.ok(text.includes(phone), `the locale's number ${phone}`);
        assert.equal(s.events.at(-1).data.done, true);
      }
    });
  }
}

test('urgent: a triage event before the answer, saved in history, both endpoints', async () => {
  for (const how of [seed, post]) {
    const { sid, s } = await how(us, 'my 2 year old has had a fever for 4 days, how do I keep her comfy');
    assert.equal(s.events[0].data.type, 'triage');
    const t = s.events[0].data.data;
    assert.equal(t.level, 'urgent');
    assert.ok(t.message.includes('today'));
    assert.ok(t.reason.length > 0 && t.resources.length > 0);
    assert.ok(s.events.some((e) => typeof e.data.chunk === 'string'), 'the answer still comes');
    const g = await api(us.base, 'GET', '/api/coach/sessions/' + sid);
    assert.deepEqual(g.json.messages[1].triage, t);
    assert.equal(g.json.messages[1].refusal, null);
  }
});

test('a dose question on day 4 of a fever: the urgent notice and the medical refusal', async () => {
  const { s } = await seed(us, "how much ibuprofen can I give, it's day 4 of the fever");
  assert.equal(s.events[0].data.type, 'triage');
  assert.equal(s.events[0].data.data.level, 'urgent');
  assert.equal(s.events[1].data.type, 'refusal');
  assert.equal(s.events[1].data.data.category, 'medical');
});

test('preparedness: "what should I do if she chokes" gets first aid and an answer, not a refusal', async () => {
  const { s } = await seed(us, 'what should I do if my baby chokes');
  assert.equal(s.events[0].data.type, 'triage');
  assert.equal(s.events[0].data.data.level, 'prepare');
  assert.match(s.events[0].data.data.message, /back blows/);
  assert.ok(!s.events.some((e) => e.data.type === 'refusal'));
});

test('another language: an ordinary question is answered in English after the note in that language with the numbers, saved in history; an emergency is refused', async () => {
  for (const how of [seed, post]) {
    const { sid, s } = await how(uk, 'mi hijo no quiere dormir en su cama por la noche, que hago');
    assert.ok(!s.events.some((e) => e.data.type === 'refusal'), 'not refused');
    assert.equal(s.events[0].data.type, 'triage');
    const t = s.events[0].data.data;
    assert.equal(t.level, 'language');
    assert.equal(t.language, 'es');
    assert.match(t.message, /inglés/);
    assert.ok(t.resources.some((x) => x.phone === '999'), 'the UK emergency number');
    const text = s.events.filter((e) => typeof e.data.chunk === 'string').map((e) => e.data.chunk).join('');
    assert.match(text, /sleep|bed/i, 'an English answer on sleep');
    const done = s.events.at(-1).data;
    assert.equal(done.done, true);
    assert.ok(done.citations.length > 0, 'cites its passages');
    const g = await api(uk.base, 'GET', '/api/coach/sessions/' + sid);
    assert.deepEqual(g.json.messages[1].triage, t);
  }
  const e = (await seed(us, 'mi hijo no respira y tiene los labios morados')).s;
  assert.equal(e.events.find((x) => x.data.type === 'refusal').data.data.category, 'emergency');
});

// The other languages' dictionaries load on a thread at start-up (about
// 3.5 s for all); a question asked before its language's is there waits
// for it, so it gets the verdict it gets later, and /readyz and /metrics
// say how many are loaded. The questions are ones only the dictionaries
// read ("llore" is "llorar", "bedje" is "bed"; test_safety has them too).
test('dictionaries loading at start-up: an other-language question asked at once gets the same verdict as later; readiness reports them', async () => {
  const qs = ['que hago para que mi hija de 2 años deje el chupete sin que llore toda la noche',
    'mijn dochtertje van 2 wil niet in haar eigen bedje slapen',
    'mi prima me contó que su padrastro se mete en su cama por la noche'];
  const verdict = (s) => {
    const r = s.events.find((e) => e.data.type === 'refusal');
    const t = s.events.find((e) => e.data.type === 'triage');
    return r ? 'refusal:' + r.data.data.category : t ? 'answer:' + t.data.data.level : 'answer';
  };
  const fresh = await startServer();
  try {
    const early = await Promise.all(qs.map(async (q) => verdict((await seed(fresh, q)).s)));
    let ready;
    for (let i = 0; i < 1200; i++) {   // 60 s: sanitizer builds are slow
      ready = (await api(fresh.base, 'GET', '/readyz')).json.dictionaries;
      if (ready.ready) break;
      await new Promise((r) => setTimeout(r, 50));
    }
    assert.equal(ready.ready, true, 'every dictionary loaded within 60 s');
    assert.equal(ready.loaded, ready.installed);
    const m = await fetch(fresh.base + '/metrics').then((r) => r.text());
    assert.match(m, new RegExp(`coachd_dictionaries_loaded ${ready.loaded}\\b`));
    const later = [];
    for (const q of qs) later.push(verdict((await seed(fresh, q)).s));
    assert.deepEqual(early, later);
    if (ready.installed > 0)      // with the Debian dictionaries (scripts/deps.sh)
      assert.deepEqual(later, ['answer:language', 'answer:language', 'refusal:crisis']);
  } finally {
    await fresh.stop(); fresh.cleanup();
  }
});

// Indonesian had no entry of its own until session 10 (lang35 declared it),
// Hungarian until session 12 (lang40); Danish still has none. Since lang41
// the glossary reads enough Danish to answer "min søn vil ikke sove om
// eftermiddagen, hvad skal jeg gøre" from its reading; a question it reads
// too little of still gets the note.
test('a language with no entry of its own (Danish): the note in English with the numbers, never out of scope', async () => {
  for (const [srv, phone] of [[uk, '999'], [us, '911']]) {
    const { s } = await seed(srv, 'min pige bider de andre børn, hvad gør man');
    const r = s.events.find((e) => e.data.type === 'refusal').data.data;
    assert.equal(r.category, 'language');
    assert.match(r.empathy, /only answer in English/);
    assert.ok(r.resources.some((x) => x.phone === phone));
  }
});

// Other languages and scripts read by their own red flags (round S2): the
// refusal opens with that language's line and carries the locale's number.
const foreign = [
  ['Vietnamese', 'emergency', 'con tôi bị hóc hạt lạc, không thở được', /khẩn cấp/],
  ['Chinese', 'emergency', '我的孩子不呼吸了', /紧急/],
  ['Russian', 'emergency', 'Мой ребенок не дышит', /экстренный/],
  ['Turkish (short)', 'emergency', 'Oğlum çamaşır suyu içti kusuyor', /acil/],
  ['Portuguese crisis', 'crisis', 'Meu filho de 12 anos disse que vai se matar', /Obrigado/],
  ['Arabic crisis', 'crisis', 'ابني يقول إنه يريد أن يموت', /شكراً/],
  // no Swedish red flag matches, the reading is "baby battery" (keyword
  // text the English rules miss): an emergency, not the bare note (lang39)
  ['Swedish keyword reading', 'emergency', 'bebisen har tuggat på ett batteri', /nödläge/],
];
for (const [name, category, q, line] of foreign) {
  test(`${name}: ${category} with the language's own line and the number (seed and POST, US and UK)`, async () => {
    for (const [srv, phone] of [[us, '911'], [uk, '999']]) {
      for (const how of [seed, post]) {
        const { s } = await how(srv, q);
        const r = s.events.find((e) => e.data.type === 'refusal').data.data;
        assert.equal(r.category, category);
        assert.match(r.empathy, line);
        assert.ok(r.empathy.includes(phone) || r.message.includes(phone) ||
                  r.resources.some((x) => x.phone === phone), `the number ${phone}`);
      }
    }
  });
}
