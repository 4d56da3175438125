// The README's example answers, kept true. Each example in README.md is a
// marker line naming a question, then a ```text block holding what
// `coachd ask` prints for it, then a closing marker:
//
//   <!-- example: how much formula should my 2 month old drink -->
//   ```text
//   ...
//   ```
//   <!-- /example -->
//
// `node scripts/readme-examples.mjs` checks every block against the binary
// (COACHD_BIN, default ./build/release/coachd) and exits 1 naming the
// examples that differ; `--write` re-takes them in place. The end-to-end
// suite runs the check, so an engine change that alters an example fails
// `make test` until the README is re-taken.
import { readFileSync, writeFileSync } from 'node:fs';
import { execFileSync } from 'node:child_process';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');
const README = join(ROOT, 'README.md');
const BIN = process.env.COACHD_BIN || join(ROOT, 'build', 'release', 'coachd');
const write = process.argv.includes('--write');

// The embedded defaults, whatever the caller's COACH_* settings are.
const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('COACH_')));
const ask = (q) => execFileSync(BIN, ['ask', q], {
  cwd: ROOT, encoding: 'utf8', timeout: 60000, maxBuffer: 1 << 20, env,
}).replace(/\s+$/, '');

const marker = /^<!-- example: (.+) -->$/;
const lines = readFileSync(README, 'utf8').split('\n');
const out = [];
const stale = [];
let n = 0;
for (let i = 0; i < lines.length; i++) {
  const m = marker.exec(lines[i]);
  out.push(lines[i]);
  if (!m) continue;
  const end = lines.indexOf('<!-- /example -->', i);
  if (end < 0) throw new Error(`README.md:${i + 1}: example without <!-- /example -->`);
  const have = lines.slice(i + 1, end).join('\n');
  const want = '```text\n' + ask(m[1]) + '\n```';
  if (have !== want) stale.push(m[1]);
  out.push(want);
  i = end - 1;
  n++;
}
if (n === 0) throw new Error('README.md holds no example');
if (write) {
  writeFileSync(README, out.join('\n'));
  console.log(`readme-examples: ${n} examples taken, ${stale.length} changed`);
} else if (stale.length) {
  console.error(`readme-examples: ${stale.length} of ${n} examples differ from the engine ` +
    `(re-take them with: node scripts/readme-examples.mjs --write):\n  ` + stale.join('\n  '));
  process.exit(1);
} else {
  console.log(`readme-examples: ${n} examples match the engine`);
}
