// Ad-hoc echo or broadcast runs with any shape of load, on the same machinery
// as the suite (bench/lib/): C load generator, fresh pinned server per run,
// interleaved contestants, busy-machine detection, median with min–max.
//
//   npm run bench -- echo [--conns 100] [--size 32] [--inflight 16] [--binary]
//                         [--verify] [--mode echo|broadcast] [--deflate]
//                         [--only wsbolt,wsbolt-js,wsbolt-ws,ws,ws-js,bun]
//   env: ROUNDS (3), DURATION (5 s), WARMUP (1 s), QUIET_WAIT (30 s)
//
// --mode broadcast: every server sends each message to all connections; only
// connection 0 publishes and the rate is deliveries/s. --deflate: the message
// is JSON-like text of --size bytes, compressed (permessage-deflate).
// Nothing is written to bench/results/: the suite (npm run bench) does that.
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { contestants } from './lib/contestants.mjs';
import { prepare } from './lib/measure.mjs';
import { taskset } from './lib/proc.mjs';
import { scenarioTable } from './lib/report.mjs';
import { runScenario } from './lib/runner.mjs';
import { describeLoad } from './lib/scenarios.mjs';

const here = dirname(fileURLToPath(import.meta.url));

function parseArgs(argv) {
  const o = { mode: 'echo', conns: 100, size: 32, inflight: 16, binary: false, verify: false, deflate: false, only: null };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const value = () => {
      if (i + 1 >= argv.length) throw new Error(`${a} needs a value`);
      return argv[++i];
    };
    const int = () => {
      const v = Number(value());
      if (!Number.isInteger(v) || v < 0) throw new Error(`${a} needs a whole number`);
      return v;
    };
    if (a === '--conns') o.conns = int();
    else if (a === '--size') o.size = int();
    else if (a === '--inflight') o.inflight = int();
    else if (a === '--binary') o.binary = true;
    else if (a === '--text') o.binary = false;
    else if (a === '--verify') o.verify = true;
    else if (a === '--deflate') o.deflate = true;
    else if (a === '--mode') o.mode = value();
    else if (a === '--only') o.only = value().split(',');
    else throw new Error(`unknown option ${a}`);
  }
  if (o.conns < 1 || o.inflight < 1) throw new Error('--conns and --inflight must be at least 1');
  if (o.mode !== 'echo' && o.mode !== 'broadcast') throw new Error('--mode is echo or broadcast');
  if (o.deflate) o.binary = false;
  return o;
}

let args;
try {
  args = parseArgs(process.argv.slice(2));
} catch (e) {
  console.error(`echo: ${e.message}`);
  process.exit(2);
}
const { only, ...load } = args;
const opts = {
  rounds: Number(process.env.ROUNDS ?? 3),
  duration: Number(process.env.DURATION ?? 5),
  warmup: Number(process.env.WARMUP ?? 1),
  quietWait: Number(process.env.QUIET_WAIT ?? 30),
};
const scenario = {
  id: 'echo',
  name: 'echo',
  title: describeLoad(load),
  unit: load.mode === 'broadcast' ? 'deliveries/s' : 'msgs/s',
  better: 'higher',
  load: { ...load, verify: load.verify && !load.deflate },
};

const { list, skipped } = contestants(only);
for (const note of skipped) console.log(`note: ${note}`);
if (!list.length) {
  console.error('echo: no contestant to run');
  process.exit(1);
}
try {
  await prepare(scenario, join(here, '.build'));
} catch (e) {
  console.error(`echo: ${e.message}`);
  process.exit(1);
}
console.log(`scenario: ${scenario.title}`);
console.log(
  `${opts.rounds} rounds × ${opts.duration} s (+${opts.warmup} s warm-up), ${taskset ? 'server on CPU 0, load generator on CPU 1' : 'no taskset: processes not pinned'}`,
);
const result = await runScenario(scenario, list, opts);
console.log(`\n### ${scenario.title}\n\n${scenarioTable(result)}`);
if (Object.values(result.summary).some((s) => s.allNoisy))
  console.log('⚠ some contestant had no run with the machine to itself: compare with care, or rerun on a quiet machine');
if (Object.values(result.summary).some((s) => s.limited))
  console.log('⚠ some runs had the load generator above 90 % CPU: those numbers are a floor for the server, not its rate');
if (result.trouble) {
  console.log('\nerrors or failed runs: see the per-run lines above');
  process.exitCode = 1;
}
