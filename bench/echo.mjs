// Echo throughput: wsbolt against ws (and Bun when it is on PATH), measured by
// bench/loadgen.c, a C load generator that keeps K messages in flight on every
// connection and reports messages/s after a warm-up.
//
//   npm run bench -- echo [--conns 100] [--size 32] [--inflight 16] [--binary]
//                         [--verify] [--mode echo|broadcast] [--only wsbolt,ws]
//   env: ROUNDS (3), DURATION (5 s), WARMUP (1 s), WSBOLT_NO_NATIVE=1 (js backend),
//        QUIET_WAIT (30 s): before each run, wait up to this long for other
//        processes to leave the CPUs alone (0: do not wait)
//
// Fairness: every run gets a fresh server process; contestants are interleaved
// (round 1: A, B; round 2: A, B; ...) so drift (thermal, noisy neighbours) hits
// all of them alike; the server is pinned to CPU 0 and the load generator to
// CPU 1 (when taskset exists) so they do not compete for a core. A run whose
// load generator used more than 90 % of its core measured the load generator,
// not the server, and is flagged. Other processes on the machine (tests in
// another shell) are measured too: runs where they used more than 25 % of a
// core are flagged "busy" and left out of the summary when quiet runs exist.
//
// --mode broadcast: every server sends each message to all connections
// (servers read MODE from the environment); only connection 0 publishes and
// the rate is deliveries/s.
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, statSync } from 'node:fs';
import { createServer } from 'node:net';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createInterface } from 'node:readline';

const here = dirname(fileURLToPath(import.meta.url));
const root = join(here, '..');
const LOADGEN_SRC = join(here, 'loadgen.c');
const LOADGEN = join(here, '.build', 'loadgen');
const LIMITED_CPU = 90; // % of one core: above this the load generator is the bottleneck
// % of one core used by anything but the server and the load generator; above
// this the run shared the machine (tests, builds) and its number is suspect.
const NOISY_CPU = 25;

// ---- options ----------------------------------------------------------------

function parseArgs(argv) {
  const o = { conns: 100, size: 32, inflight: 16, binary: false, verify: false, mode: 'echo', only: null };
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
    else if (a === '--mode') o.mode = value();
    else if (a === '--only') o.only = value().split(',');
    else throw new Error(`unknown option ${a}`);
  }
  if (o.conns < 1 || o.inflight < 1) throw new Error('--conns and --inflight must be at least 1');
  if (o.mode !== 'echo' && o.mode !== 'broadcast') throw new Error('--mode is echo or broadcast');
  return o;
}

let args;
try {
  args = parseArgs(process.argv.slice(2));
} catch (e) {
  console.error(`echo: ${e.message}`);
  process.exit(2);
}
const ROUNDS = Number(process.env.ROUNDS ?? 3);
const DURATION = Number(process.env.DURATION ?? 5);
const WARMUP = Number(process.env.WARMUP ?? 1);
const QUIET_WAIT = Number(process.env.QUIET_WAIT ?? 30);

const hasCommand = (cmd) => spawnSync('sh', ['-c', `command -v ${cmd}`], { stdio: 'ignore' }).status === 0;
const taskset = process.platform === 'linux' && hasCommand('taskset');
const pinned = (cpu, argv) => (taskset ? ['taskset', '-c', String(cpu), ...argv] : argv);

// ---- the load generator -----------------------------------------------------

function buildLoadgen() {
  const stale = !existsSync(LOADGEN) || statSync(LOADGEN).mtimeMs < statSync(LOADGEN_SRC).mtimeMs;
  if (!stale) return;
  mkdirSync(dirname(LOADGEN), { recursive: true });
  console.log(`building ${LOADGEN}`);
  const r = spawnSync('cc', ['-O2', '-o', LOADGEN, LOADGEN_SRC], { stdio: 'inherit' });
  if (r.status !== 0) {
    console.error('echo: could not compile bench/loadgen.c (is a C compiler installed as cc?)');
    process.exit(1);
  }
}

// ---- contestants --------------------------------------------------------------

function contestants() {
  const list = [];
  const skipped = [];
  if (existsSync(join(root, 'dist', 'index.mjs'))) {
    list.push({ name: 'wsbolt', argv: [process.execPath, join(here, 'servers', 'wsbolt.mjs')] });
    list.push({ name: 'wsbolt-ws', argv: [process.execPath, join(here, 'servers', 'wsbolt-ws.mjs')] });
  } else {
    skipped.push('wsbolt: dist/index.mjs is missing; run `npm run build:ts` first');
  }
  list.push({ name: 'ws', argv: [process.execPath, join(here, 'servers', 'ws.mjs')] });
  if (hasCommand('bun')) list.push({ name: 'bun', argv: ['bun', join(here, 'servers', 'bun.mjs')] });
  else skipped.push('bun: not on PATH, skipped');
  const chosen = args.only ? list.filter((c) => args.only.includes(c.name)) : list;
  return { list: chosen, skipped };
}

function freePort() {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });
}

const CLK_TCK = Number(spawnSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).stdout) || 100;

/** CPU seconds (user + system, all threads) a process has used, from /proc; null when unavailable. */
function cpuOf(pid) {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(fields[11]) + Number(fields[12])) / CLK_TCK; // utime, stime (fields 14, 15)
  } catch {
    return null;
  }
}

/** Busy CPU seconds of the whole machine (all cores, softirq included), from /proc/stat; null when unavailable. */
function machineBusy() {
  try {
    const [, ...v] = readFileSync('/proc/stat', 'utf8').split('\n')[0].trim().split(/\s+/).map(Number);
    const [user, nice, system, , , irq, softirq, steal] = v;
    return (user + nice + system + irq + softirq + steal) / CLK_TCK;
  } catch {
    return null;
  }
}

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * Waits (up to QUIET_WAIT seconds) until the machine's busy time over half a
 * second is under NOISY_CPU % of a core: a shared machine (tests, builds in
 * other shells) skews whichever contestant happens to run at the time.
 * Returns the seconds waited, or -1 when it stayed busy.
 */
async function waitForQuiet() {
  const started = performance.now();
  for (;;) {
    const a = machineBusy();
    await sleep(500);
    const b = machineBusy();
    if (a === null || b === null || (100 * (b - a)) / 0.5 < NOISY_CPU) return (performance.now() - started) / 1000 - 0.5;
    if (performance.now() - started > QUIET_WAIT * 1000) return -1;
  }
}

function lines(stream, onLine) {
  createInterface({ input: stream }).on('line', onLine);
}

// The server and load generator of the current run: killed if we are
// interrupted, so neither outlives us.
let current = null;
let currentLoadgen = null;
process.on('exit', () => {
  current?.kill('SIGKILL');
  currentLoadgen?.kill('SIGKILL');
});
for (const signal of ['SIGINT', 'SIGTERM']) process.on(signal, () => process.exit(130));

/** Starts a server on CPU 0 and waits for its "ready" line. */
async function startServer(contestant, port) {
  const [cmd, ...rest] = pinned(0, contestant.argv); // taskset execs the server: same pid
  const child = spawn(cmd, rest, {
    cwd: root,
    env: { ...process.env, PORT: String(port), MODE: args.mode }, // WSBOLT_NO_NATIVE passes through
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  current = child;
  const stderr = [];
  lines(child.stderr, (l) => stderr.push(l) > 20 && stderr.shift());
  const exited = new Promise((resolve) => child.once('exit', (code, signal) => resolve({ code, signal })));
  const ready = await new Promise((resolve) => {
    const timer = setTimeout(() => resolve(null), 15_000);
    lines(child.stdout, (l) => {
      if (l.startsWith('ready')) {
        clearTimeout(timer);
        resolve(l);
      }
    });
    child.once('error', (e) => {
      stderr.push(String(e));
      clearTimeout(timer);
      resolve(null);
    });
    exited.then(() => {
      clearTimeout(timer);
      resolve(null);
    });
  });
  const backend = ready?.match(/backend=(\w+)/)?.[1] ?? null;
  return { child, ready: ready !== null, backend, stderr, exited };
}

async function stopServer(server) {
  if (server.child.exitCode === null && server.child.signalCode === null) server.child.kill('SIGKILL');
  await server.exited;
  current = null;
}

/** Runs the load generator on CPU 1 against port; resolves with its JSON report (or an error). */
function runLoadgen(port, serverPid) {
  const argv = [
    LOADGEN,
    '--port', String(port),
    '--conns', String(args.conns),
    '--size', String(args.size),
    '--inflight', String(args.inflight),
    args.binary ? '--binary' : '--text',
    '--duration', String(DURATION),
    '--warmup', String(WARMUP),
    '--mode', args.mode,
    ...(args.verify ? ['--verify'] : []),
  ];
  const [cmd, ...rest] = pinned(1, argv);
  return new Promise((resolve) => {
    const child = spawn(cmd, rest, { stdio: ['ignore', 'pipe', 'pipe'] });
    currentLoadgen = child;
    let out = '';
    const diag = [];
    let serverCpuStart = null;
    let busyStart = null;
    let measureStart = 0;
    child.stdout.on('data', (d) => (out += d));
    lines(child.stderr, (l) => {
      if (l === 'loadgen: measuring') {
        serverCpuStart = cpuOf(serverPid);
        busyStart = machineBusy();
        measureStart = performance.now();
      } else diag.push(l);
    });
    // Bounded: connect phase (at most 5 s per attempt, in waves) + warm-up + duration + slack.
    const limit = (WARMUP + DURATION + 30) * 1000;
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      child.kill('SIGKILL');
    }, limit);
    child.once('close', (code) => {
      clearTimeout(timer);
      currentLoadgen = null;
      const serverCpuEnd = cpuOf(serverPid);
      const busyEnd = machineBusy();
      const seconds = (performance.now() - measureStart) / 1000;
      let report = null;
      try {
        report = JSON.parse(out.trim().split('\n').pop());
      } catch {}
      const serverCpu =
        serverCpuStart !== null && serverCpuEnd !== null && seconds > 0 ? (100 * (serverCpuEnd - serverCpuStart)) / seconds : null;
      // What the rest of the machine did meanwhile: busy time minus our two processes.
      const otherCpu =
        serverCpu !== null && busyStart !== null && busyEnd !== null && report
          ? Math.max(0, (100 * (busyEnd - busyStart)) / seconds - serverCpu - report.cpu_pct)
          : null;
      if (timedOut) resolve({ error: `load generator did not finish within ${limit / 1000} s`, diag });
      else if (!report || code !== 0) resolve({ error: `load generator exited with ${code}`, report, diag });
      else resolve({ report, serverCpu, otherCpu, diag });
    });
  });
}

// ---- statistics and output ----------------------------------------------------

const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
};
const fmt = (n) => Math.round(n).toLocaleString('en-US');
const pct = (n) => (n === null || Number.isNaN(n) ? 'n/a' : `${Math.round(n)} %`);

async function main() {
  buildLoadgen();
  const { list, skipped } = contestants();
  for (const note of skipped) console.log(`note: ${note}`);
  if (list.length === 0) {
    console.error('echo: no contestant to run');
    process.exit(1);
  }
  const scenario = `${args.mode}, ${args.conns} connections, ${args.size} B ${args.binary ? 'binary' : 'text'}, ${args.inflight} in flight${args.verify ? ', verify' : ''}`;
  console.log(`scenario: ${scenario}`);
  console.log(`${ROUNDS} rounds × ${DURATION} s (+${WARMUP} s warm-up), ${taskset ? 'server on CPU 0, load generator on CPU 1' : 'no taskset: processes not pinned'}`);
  if (process.env.WSBOLT_NO_NATIVE) console.log(`WSBOLT_NO_NATIVE=${process.env.WSBOLT_NO_NATIVE}`);

  const results = new Map(list.map((c) => [c.name, { runs: [], failures: [], backend: null }]));
  let trouble = false;
  for (let round = 1; round <= ROUNDS; round++) {
    for (const contestant of list) {
      const r = results.get(contestant.name);
      const label = `round ${round}  ${contestant.name.padEnd(7)}`;
      if (QUIET_WAIT > 0) {
        const waited = await waitForQuiet();
        if (waited < 0) console.log(`${label} (machine still busy after ${QUIET_WAIT} s: running anyway)`);
        else if (waited >= 1) console.log(`${label} (waited ${Math.round(waited)} s for a quiet machine)`);
      }
      const port = await freePort();
      const server = await startServer(contestant, port);
      if (!server.ready) {
        await stopServer(server);
        const why = `server did not print ready${server.stderr.length ? `: ${server.stderr.join(' | ')}` : ''}`;
        r.failures.push(why);
        trouble = true;
        console.log(`${label} FAILED: ${why}`);
        continue;
      }
      if (server.backend) r.backend = server.backend;
      const run = await runLoadgen(port, server.child.pid);
      const crashed = server.child.exitCode !== null || server.child.signalCode !== null;
      await stopServer(server);
      if (crashed) {
        const why = `server exited during the run: ${server.stderr.join(' | ')}`;
        r.failures.push(why);
        trouble = true;
        console.log(`${label} FAILED: ${why}`);
      }
      if (run.error) {
        r.failures.push(run.error);
        trouble = true;
        console.log(`${label} FAILED: ${run.error}${run.diag.length ? ` (${run.diag.join(' | ')})` : ''}`);
        continue;
      }
      const rep = run.report;
      const limited = rep.cpu_pct > LIMITED_CPU;
      const noisy = run.otherCpu !== null && run.otherCpu > NOISY_CPU;
      r.runs.push({ ...rep, serverCpu: run.serverCpu, otherCpu: run.otherCpu, limited, noisy });
      if (rep.errors) trouble = true;
      const errs = rep.errors ? `  ERRORS ${rep.errors} ${JSON.stringify(rep.error_kinds)}` : '';
      console.log(
        `${label} ${fmt(rep.msgs_per_s).padStart(11)} msgs/s  ${rep.mib_per_s.toFixed(1).padStart(7)} MiB/s  ` +
          `loadgen CPU ${pct(rep.cpu_pct)}  server CPU ${pct(run.serverCpu)}  other CPU ${pct(run.otherCpu)}${errs}` +
          `${limited ? '  [limited by the load generator]' : ''}${noisy ? '  [machine busy with other work]' : ''}`,
      );
      for (const l of run.diag) console.log(`    ${l}`);
    }
  }

  // ---- summary
  // Statistics use the runs that had the machine to themselves when there are
  // any (a busy neighbour only ever slows a run down); errors count every run.
  const unit = args.mode === 'broadcast' ? 'deliveries/s' : 'msgs/s';
  const summary = new Map();
  for (const [name, r] of results) {
    if (!r.runs.length) continue;
    const quiet = r.runs.filter((x) => !x.noisy);
    const used = quiet.length ? quiet : r.runs;
    const rates = used.map((x) => x.msgs_per_s);
    summary.set(name, {
      median: median(rates),
      min: Math.min(...rates),
      max: Math.max(...rates),
      mib: median(used.map((x) => x.mib_per_s)),
      cpu: median(used.map((x) => x.cpu_pct)),
      serverCpu: used.some((x) => x.serverCpu === null) ? null : median(used.map((x) => x.serverCpu)),
      errors: r.runs.reduce((n, x) => n + x.errors, 0),
      limited: used.filter((x) => x.limited).length,
      used: quiet.length ? `${quiet.length} quiet` : `${r.runs.length} busy`,
      total: r.runs.length,
      allNoisy: quiet.length === 0,
    });
  }
  const ws = summary.get('ws');
  console.log(`\n### ${scenario}\n`);
  console.log(`| contestant | median ${unit} | min–max | MiB/s | loadgen CPU % | server CPU % | runs used | errors | vs ws |`);
  console.log('|---|---:|---:|---:|---:|---:|---:|---:|---:|');
  for (const [name, r] of results) {
    const s = summary.get(name);
    const label = name === 'wsbolt' && r.backend ? `wsbolt (${r.backend})` : name;
    if (!s) {
      console.log(`| ${label} | failed | | | | | | ${r.failures.length} failed runs | |`);
      continue;
    }
    const flag = s.limited ? ` ⚠ ${s.limited} run(s) limited by the load generator` : '';
    const ratio = ws ? `${(s.median / ws.median).toFixed(2)}×` : 'n/a';
    console.log(
      `| ${label} | ${fmt(s.median)} | ${fmt(s.min)}–${fmt(s.max)} | ${s.mib.toFixed(1)} | ${Math.round(s.cpu)}${flag} | ` +
        `${s.serverCpu === null ? 'n/a' : Math.round(s.serverCpu)} | ${s.used} of ${s.total} | ` +
        `${s.errors}${r.failures.length ? ` (+${r.failures.length} failed runs)` : ''} | ${ratio} |`,
    );
  }
  const bolt = summary.get('wsbolt');
  if (bolt && ws) console.log(`\nwsbolt/ws = ${(bolt.median / ws.median).toFixed(2)} (median ${unit})`);
  if ([...summary.values()].some((s) => s.allNoisy))
    console.log(`⚠ some contestant had no run with the machine to itself (other processes above ${NOISY_CPU} % of a core): compare with care, or rerun on a quiet machine`);
  if ([...summary.values()].some((s) => s.limited))
    console.log(`⚠ some runs had the load generator above ${LIMITED_CPU} % CPU: those numbers are a floor for the server, not its rate`);
  if (trouble) {
    console.log('\nerrors or failed runs: see the per-run lines above');
    process.exitCode = 1;
  }
}

await main();
