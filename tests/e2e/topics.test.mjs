// Every knowledge-base topic added for issue 15 answers a plain question on
// it with an on-topic first citation, through the seed stream endpoint: the
// first question of each topic in tests/retrieval/plain-*.tsv (written with
// the passages) must cite, first, a passage whose topics include it.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { startServer, newSession, stream, ROOT } from './lib.mjs';

// title -> topics, from the passages' front matter
const byTitle = new Map();
for (const dir of readdirSync(join(ROOT, 'kb'))) {
  const d = join(ROOT, 'kb', dir);
  if (!statSync(d).isDirectory()) continue;
  for (const f of readdirSync(d).filter((x) => x.endsWith('.md'))) {
    const fm = readFileSync(join(d, f), 'utf8').split('---')[1] || '';
    const title = /^title:\s*(.*)$/m.exec(fm);
    const topics = /^topics:\s*\[(.*)\]/m.exec(fm);
    if (title && topics) byTitle.set(title[1].trim(), topics[1].split(',').map((x) => x.trim()));
  }
}
const idTopic = (id) => {
  for (const dir of readdirSync(join(ROOT, 'kb'))) {
    try { if (statSync(join(ROOT, 'kb', dir, id + '.md')).isFile()) return dir; } catch { /* next */ }
  }
  return null;
};

const plain = [];
const seen = new Set();
for (const f of readdirSync(join(ROOT, 'tests', 'retrieval')).filter((x) => /^plain-.*\.tsv$/.test(x)).sort()) {   // sorted: readdir order is the file system's
  for (const line of readFileSync(join(ROOT, 'tests', 'retrieval', f), 'utf8').split('\n')) {
    if (!line.trim()) continue;
    const [ids, q] = line.split('\t');
    const topic = idTopic(ids.split(',')[0]);
    if (topic && !seen.has(topic)) { seen.add(topic); plain.push([topic, q]); }
  }
}

let srv;
before(async () => { srv = await startServer(); });
after(async () => { await srv.stop(); srv.cleanup(); });

test('there is a plain question for every new topic', () => {
  const newTopics = readFileSync(join(ROOT, 'kb', 'topics-d.tsv'), 'utf8').split('\n')
    .concat(readFileSync(join(ROOT, 'kb', 'topics-e.tsv'), 'utf8').split('\n'))
    .concat(readFileSync(join(ROOT, 'kb', 'topics-f.tsv'), 'utf8').split('\n'))
    .concat(readFileSync(join(ROOT, 'kb', 'topics-g.tsv'), 'utf8').split('\n'))
    .concat(readFileSync(join(ROOT, 'kb', 'topics-h.tsv'), 'utf8').split('\n'))
    .concat(readFileSync(join(ROOT, 'kb', 'topics-j.tsv'), 'utf8').split('\n'))
    .concat(readFileSync(join(ROOT, 'kb', 'topics-k.tsv'), 'utf8').split('\n'))
    .concat(readFileSync(join(ROOT, 'kb', 'topics-l.tsv'), 'utf8').split('\n'))
    .concat(readFileSync(join(ROOT, 'kb', 'topics-m.tsv'), 'utf8').split('\n'))
    .filter((l) => l.trim()).map((l) => l.split('\t')[0]);
  assert.ok(newTopics.length >= 56);
  for (const t of newTopics) assert.ok(seen.has(t), `a plain question for ${t}`);
});

// A plain question the shipped reader answers first from another topic's
// passage that is about it too (session 16, nomatch45: the refitted reader
// reads "how do I get grandparents to follow our rules?" as the CDC passage
// on keeping rules the same across carers, keywords "grandparents spoil";
// over all 353 plain questions the first citation's topic went 323 -> 332).
const alsoOn = new Map([['grandparents', 'discipline']]);

for (const [topic, q] of plain) {
  test(`${topic}: "${q}" is answered from its own topic`, async () => {
    const sid = await newSession(srv.base);
    const s = await stream(`${srv.base}/api/coach/stream/${sid}?question=${encodeURIComponent(q)}`);
    const done = s.events.at(-1).data;
    assert.equal(done.done, true);
    assert.ok(!s.events.some((e) => e.data.type === 'refusal'), 'not refused');
    assert.ok(done.citations.length > 0, 'cites a passage');
    const topics = byTitle.get(done.citations[0].title) || [];
    assert.ok(topics.includes(topic) || topics.includes(alsoOn.get(topic)),
      `first citation "${done.citations[0].title}" is on ${topic} (${topics})`);
  });
}
