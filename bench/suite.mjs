// The benchmark suite of issue 6: scenarios a–h (and i, of issue 7; j, g read once the heap settled), every contestant, one run.
//
//   npm run bench                        every scenario
//   npm run bench -- c                   one scenario (letter or name: echo-32, echo-1k,
//   npm run bench -- echo-1k storm       echo-64k, echo-1m, broadcast, storm, idle, deflate,
//                                        idle-deflate, idle-settled)
//   options: --only wsbolt,ws            some contestants (wsbolt wsbolt-stream wsbolt-js wsbolt-ws ws ws-js
//                                        uws bun node-net; wsbolt-dc, only when named: wsbolt with a
//                                        subscriber on every diagnostics_channel)
//            --verify                    the load generator checks every byte of every echo
//            --publish / --no-publish    write latest.json, latest.svg and bench/README.md's figures
//                                        (default: only after a full run of everything)
//   env: ROUNDS (3), DURATION (3 s), WARMUP (1 s), QUIET_WAIT (10 s: before each run, wait up to
//        this long for other processes to leave the CPUs alone; 0: do not wait),
//        IDLE_CONNS (10000: scenario g), IDLE_DEFLATE_CONNS (1000: scenario i),
//        BUN_BINARY (a Bun to use instead of the npm one), UWS_PATH (uWebSockets.js instead of
//        ../shared/anchors/uws; skipped with a note when it is missing or does not load here)
//
// Output: a table per scenario as it finishes, then the overview and the
// targets; bench/results/<timestamp>.json always.
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { contestants } from './lib/contestants.mjs';
import { loadReference, referenceMismatch } from './lib/reference.mjs';
import { prepare } from './lib/measure.mjs';
import { hardFdLimit, taskset } from './lib/proc.mjs';
import { machine, machineLine, overviewTable, resultDocument, scenarioTable, targetsTable } from './lib/report.mjs';
import { updateReadme } from './lib/readme.mjs';
import { runScenario } from './lib/runner.mjs';
import { describeLoad, findScenario, SCENARIOS } from './lib/scenarios.mjs';
import { chartSvg } from './lib/svg.mjs';

const here = dirname(fileURLToPath(import.meta.url));
const root = join(here, '..');
const RESULTS = join(here, 'results');

function parseArgs(argv) {
  const o = { scenarios: [], only: null, verify: false, publish: null };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '--only') {
      if (i + 1 >= argv.length) throw new Error('--only needs a list of contestants');
      o.only = argv[++i].split(',');
    } else if (a === '--verify') o.verify = true;
    else if (a === '--publish') o.publish = true;
    else if (a === '--no-publish') o.publish = false;
    else if (a === 'all') o.scenarios.push(...SCENARIOS);
    else {
      const s = findScenario(a);
      if (!s) throw new Error(`unknown scenario or option "${a}"; scenarios: ${SCENARIOS.map((x) => `${x.id} (${x.name})`).join(', ')}`);
      o.scenarios.push(s);
    }
  }
  const full = o.scenarios.length === 0;
  if (full) o.scenarios = [...SCENARIOS];
  o.publish ??= full && !o.only;
  return o;
}

let args;
try {
  args = parseArgs(process.argv.slice(2));
} catch (e) {
  console.error(`bench: ${e.message}`);
  process.exit(2);
}
const settings = {
  rounds: Number(process.env.ROUNDS ?? 3),
  duration: Number(process.env.DURATION ?? 3),
  warmup: Number(process.env.WARMUP ?? 1),
  quietWait: Number(process.env.QUIET_WAIT ?? 10),
  idleConns: Number(process.env.IDLE_CONNS ?? 10_000),
  idleDeflateConns: Number(process.env.IDLE_DEFLATE_CONNS ?? 1_000),
  verify: args.verify,
};

// Idle connections need a descriptor each in the server (and in the load
// generator): stay under the hard limit the server can raise itself to.
function idleConns(wanted) {
  const hard = hardFdLimit();
  if (hard !== null && hard < wanted + 256) {
    const n = Math.max(100, hard - 256);
    console.log(`note: the descriptor limit (${hard}) allows ${n} idle connections, not ${wanted}`);
    return n;
  }
  return wanted;
}

async function main() {
  const started = performance.now();
  const { list, skipped } = contestants(args.only);
  for (const note of skipped) console.log(`note: ${note}`);
  if (!list.length) throw new Error('no contestant to run');
  const bun = list.find((c) => c.name === 'bun')?.version ?? null;
  const m = machine({ taskset });
  console.log(`machine: ${machineLine(m, bun)}`);
  console.log(`${settings.rounds} rounds × ${settings.duration} s (+${settings.warmup} s warm-up); contestants: ${list.map((c) => c.name).join(', ')}`);
  const stored = loadReference();
  const mismatch = referenceMismatch(stored, m);
  if (mismatch) console.log(`note: wsbolt-stream's "within 5 %" targets get no verdict: ${mismatch}`);
  const reference = stored && mismatch ? { ...stored, mismatch } : stored;

  const results = [];
  for (const base of args.scenarios) {
    const idle = base.load.mode === 'idle';
    const conns = idle ? idleConns(base.load.deflate ? settings.idleDeflateConns : settings.idleConns) : undefined;
    const scenario = { ...base, load: { ...base.load, ...(idle ? { conns } : {}), verify: settings.verify && !base.load.deflate } };
    await prepare(scenario, join(here, '.build'));
    console.log(`\n## ${scenario.id}) ${scenario.title}: ${describeLoad(scenario.load)}`);
    if (scenario.load.compressedSize) console.log(`(each message: ${scenario.load.size} B of text, ${scenario.load.compressedSize} B compressed)`);
    const result = await runScenario(
      scenario,
      list.filter((c) => !c.scenarios || c.scenarios.includes(scenario.id)),
      { ...settings, conns },
    );
    console.log(`\n${scenarioTable(result)}`);
    results.push(result);
  }

  const wallSeconds = Math.round((performance.now() - started) / 1000);
  console.log(`\n## Overview (${machineLine(m, bun)})\n\n${overviewTable(results)}`);
  console.log(`\n## Targets\n\n${targetsTable(results, reference)}`);
  console.log(`\nwall time: ${Math.floor(wallSeconds / 60)} min ${wallSeconds % 60} s`);

  const doc = resultDocument({ results, settings, machine: m, skipped, wallSeconds, bun, reference });
  mkdirSync(RESULTS, { recursive: true });
  const stamp = m.date.replace(/[:.]/g, '-');
  writeFileSync(join(RESULTS, `${stamp}.json`), `${JSON.stringify(doc, null, 2)}\n`);
  console.log(`results: bench/results/${stamp}.json`);
  if (args.publish) {
    writeFileSync(join(RESULTS, 'latest.json'), `${JSON.stringify(doc, null, 2)}\n`);
    writeFileSync(join(RESULTS, 'latest.svg'), chartSvg(doc.scenarios, { caption: machineLine(m, bun) }));
    updateReadme(join(root, 'bench', 'README.md'), doc);
    console.log('published: bench/results/latest.json, bench/results/latest.svg, bench/README.md (the figures section)');
  } else {
    console.log('not published (a partial run): latest.json, latest.svg and bench/README.md keep the last full run; --publish to override');
  }
  if (results.some((r) => r.trouble)) {
    console.log('\nerrors or failed runs: see the per-run lines above');
    process.exitCode = 1;
  }
}

try {
  await main();
} catch (e) {
  console.error(`bench: ${e.message}`);
  process.exit(1);
}
