// The README's example answers are what the engine prints today: the
// grounded engine's text for each example question, as `coachd ask` gives
// it (scripts/readme-examples.mjs; re-take with --write after an engine
// change).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { ROOT } from './lib.mjs';

test('README example answers match the engine', () => {
  let out = '';
  try {
    out = execFileSync('node', [join(ROOT, 'scripts', 'readme-examples.mjs')], {
      cwd: ROOT, encoding: 'utf8', timeout: 120000, stdio: ['ignore', 'pipe', 'pipe'],
    });
  } catch (e) {
    assert.fail(String(e.stderr || e.message));
  }
  assert.match(out, /examples match the engine/);
});
