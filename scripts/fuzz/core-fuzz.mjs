#!/usr/bin/env node
/**
 * Long fuzz run of the protocol core on the built package (dist/): the cases
 * of test/fuzz/core-engine.mjs, seed after seed, for FUZZ_SECONDS (default
 * 300). Compares the TypeScript fallback, the raw addon and the addon behind
 * its thresholds when the addon is built.
 *
 *   npm run build:ts && node scripts/fuzz/core-fuzz.mjs        # FUZZ_SECONDS=300
 *   FUZZ_SEED=123 FUZZ_SECONDS=60 node scripts/fuzz/core-fuzz.mjs
 *   node scripts/fuzz/core-fuzz.mjs --replay <seed>             # one case, verbosely
 *   node scripts/fuzz/core-fuzz.mjs --libfuzzer [seconds]      # then the libFuzzer target too
 *
 * Findings are printed and written to test/fuzz/findings/core-<seed>.json.
 * FUZZ_IGNORE=buffered leaves out the known bufferedInput finding (see the
 * report) so that a long run looks for other ones. Exit status 1 on any
 * finding that is not ignored.
 */
import { spawnSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const require = createRequire(import.meta.url);
let Protocol, PerMessageDeflate, nat;
try {
  ({ Protocol } = require(join(root, 'dist/core/protocol.js')));
  ({ PerMessageDeflate } = require(join(root, 'dist/extensions/permessage-deflate.js')));
  nat = require(join(root, 'dist/native/index.js'));
} catch (error) {
  console.error(`core-fuzz: cannot load dist/ (run npm run build:ts first): ${error.message}`);
  process.exit(2);
}
const { fuzz, makeCase, runCase } = await import(join(root, 'test/fuzz/core-engine.mjs'));

const mods = { Protocol, PerMessageDeflate, backends: { js: nat.backends.js, native: nat.backends.native, active: nat.active } };
const args = process.argv.slice(2);

if (args[0] === '--replay') {
  const seed = Number(args[1]);
  const c = makeCase(seed);
  console.log(
    JSON.stringify({ seed, config: c.cfg, mutations: c.mutations, actions: [...c.actions], cuts: c.cuts, otherCuts: c.other, length: c.bytes.length }, null, 1),
  );
  console.log(`bytes: ${c.bytes.toString('hex').slice(0, 4000)}`);
  const { finding, log } = runCase(mods, c);
  console.log(`events (js): ${log.join(' ').slice(0, 4000)}`);
  if (c.expected) console.log(`model:       ${c.expected.join(' ').slice(0, 4000)}`);
  console.log(finding ? `FINDING:\n  ${finding.problems.join('\n  ')}` : 'no finding');
  process.exit(finding ? 1 : 0);
}

const seconds = Number(process.env.FUZZ_SECONDS ?? 300);
const seed = Number(process.env.FUZZ_SEED ?? Date.now() % 1_000_000_000);
const ignore = new Set((process.env.FUZZ_IGNORE ?? '').split(',').filter(Boolean));
const findingsDir = join(root, 'test/fuzz/findings');
console.log(
  `core-fuzz: ${seconds}s from seed ${seed}, backends: js${mods.backends.native ? ' + native + active(thresholds)' : ' only (addon not loaded: ' + nat.backendError + ')'}${ignore.size ? `, ignoring ${[...ignore]}` : ''}`,
);

let reported = 0;
const kept = [];
const byKind = {};
const started = Date.now();
let nextSeed = seed;
let total = { cases: 0, modelled: 0, messages: 0, errors: 0, closes: 0, codes: {}, worstBufferedRatio: 0 };
// Slices of 10 s, so progress shows and a finding is saved at once.
while (Date.now() - started < seconds * 1000) {
  const ms = Math.min(10_000, seconds * 1000 - (Date.now() - started));
  const { stats, findings } = fuzz(mods, { seed: nextSeed, ms, maxFindings: 1e9 }); // every finding, to save them
  nextSeed += stats.cases;
  total.cases += stats.cases;
  total.modelled += stats.modelled;
  total.messages += stats.messages;
  total.errors += stats.errors;
  total.closes += stats.closes;
  total.worstBufferedRatio = Math.max(total.worstBufferedRatio, stats.worstBufferedRatio);
  for (const [k, v] of Object.entries(stats.codes)) total.codes[k] = (total.codes[k] ?? 0) + v;
  for (const f of findings) {
    for (const k of f.kinds) byKind[k] = (byKind[k] ?? 0) + 1;
    if (f.kinds.every((k) => ignore.has(k))) continue;
    reported++;
    if (kept.length < 50) {
      kept.push(f.seed);
      mkdirSync(findingsDir, { recursive: true });
      writeFileSync(join(findingsDir, `core-${f.seed}.json`), JSON.stringify(f, null, 1));
      console.log(`FINDING seed ${f.seed} [${f.kinds}] ${JSON.stringify(f.config)}\n  ${f.problems.join('\n  ').slice(0, 2000)}`);
    }
  }
  const elapsed = (Date.now() - started) / 1000;
  console.log(
    `core-fuzz: ${elapsed.toFixed(0)}s ${total.cases} cases (${(total.cases / elapsed).toFixed(0)}/s), ${reported} findings reported, by kind ${JSON.stringify(byKind)}`,
  );
}
console.log(`core-fuzz: done: ${JSON.stringify(total)}`);
console.log(
  `core-fuzz: findings by kind ${JSON.stringify(byKind)}; reported ${reported}${kept.length ? `; seeds ${kept.join(', ')} (files in test/fuzz/findings/)` : ''}`,
);

let status = reported > 0 ? 1 : 0;
const lf = args.indexOf('--libfuzzer');
if (lf !== -1) {
  const r = spawnSync(join(root, 'scripts/fuzz/run-libfuzzer.sh'), [args[lf + 1] ?? String(Math.min(seconds, 300))], { stdio: 'inherit' });
  if (r.status !== 0) status = 1;
}
process.exit(status);
