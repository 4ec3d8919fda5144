#!/usr/bin/env node
// Broadcast with workers: does pub/sub scale across processes?
//
//   npm run build:ts && node bench/scale/broadcast-workers.mjs [--duration 5] [--runs 3] [--redis] [--json]
//
// 1. Throughput (scenario e): bench/.build/loadgen opens 200 connections, all
//    subscribed to one topic; connection 0 publishes 32-byte messages with 16
//    outstanding; deliveries/s = messages received over all connections.
//    Configurations: one plain process; serveCluster with 1 worker; with 2
//    workers (IPC relay through the primary). loadgen's flow control is the
//    publisher's own copies, which its own worker delivers: the other worker
//    could fall behind without slowing the publisher, so besides the total
//    we report the floor, connections × the slowest connection's rate (what
//    every subscriber actually got).
// 2. Latency between two workers: a publisher client on one worker, a
//    subscriber on the other (and one on the publisher's worker, for the
//    baseline); the payload carries a timestamp (both clients live in this
//    process: one clock). One message at a time, then a paced stream.
//    --redis adds two plain processes joined by the Redis adapter (needs
//    redis-server; one is started on a free port).
//
// The load generator shares the machine: on 2 cores it needs about 0.3 of a
// core per million deliveries/s, so the servers never get both cores. Runs
// where other processes used more than a quarter of a core are flagged busy
// (and left out of the medians when quiet ones exist); the round-by-round
// ratio compares runs made back to back.
import { execFileSync, spawn } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, readdirSync } from 'node:fs';
import * as net from 'node:net';
import * as os from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import WebSocket from 'ws';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '../..');
const SERVER = join(ROOT, 'bench/scale/broadcast-server.mjs');
const LOADGEN = join(ROOT, 'bench/.build/loadgen');
const args = process.argv.slice(2);
const flag = (name) => args.includes(name);
const opt = (name, dflt) => {
  const i = args.indexOf(name);
  return i >= 0 ? Number(args[i + 1]) : dflt;
};
const DURATION = opt('--duration', 5);
const RUNS = opt('--runs', 3);
const SAMPLES = opt('--samples', 2000);
const RATE = opt('--rate', 2000);

const log = (...a) => console.error(...a);

if (!existsSync(join(ROOT, 'dist/scale/index.js'))) {
  console.error('dist/scale is missing: run `npm run build:ts` first');
  process.exit(1);
}
if (!existsSync(LOADGEN)) {
  log('building bench/.build/loadgen');
  mkdirSync(dirname(LOADGEN), { recursive: true });
  execFileSync('cc', ['-O2', '-o', LOADGEN, join(ROOT, 'bench/loadgen.c')], { stdio: 'inherit' });
}

async function freePort() {
  const s = net.createServer();
  await new Promise((r) => s.listen(0, '127.0.0.1', r));
  const { port } = s.address();
  await new Promise((r) => s.close(r));
  return port;
}

function withTimeout(promise, ms, label) {
  let t;
  return Promise.race([promise, new Promise((_, f) => (t = setTimeout(() => f(new Error(`${label}: timed out after ${ms} ms`)), ms)))]).finally(() =>
    clearTimeout(t),
  );
}

/** Starts a program; resolves once a stdout line matches ready. */
async function start(command, argv, env, ready, label) {
  const proc = spawn(command, argv, { cwd: ROOT, env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  proc.stderr.on('data', (c) => (err += c));
  const exited = new Promise((r) => proc.once('exit', (code, signal) => r({ code, signal })));
  const match = await withTimeout(
    new Promise((resolve, fail) => {
      proc.stdout.on('data', (c) => {
        out += c;
        const m = out.match(ready);
        if (m) resolve(m);
      });
      exited.then(() => fail(new Error(`${label} exited:\n${out}\n${err}`)));
    }),
    20_000,
    label,
  );
  return {
    match,
    proc,
    async stop() {
      if (proc.exitCode === null && proc.signalCode === null) proc.kill('SIGTERM');
      await withTimeout(exited, 5000, `${label} exit`).catch(() => proc.kill('SIGKILL'));
      await exited;
    },
  };
}

function startServer(workers, extra = {}) {
  return freePort().then(async (port) => {
    const s = await start(
      process.execPath,
      [SERVER],
      { PORT: String(port), WORKERS: String(workers), ...extra },
      /ready port=(\d+) .*backend=(\w+)/,
      `server (workers=${workers})`,
    );
    return { ...s, port: Number(s.match[1]), backend: s.match[2] };
  });
}

// ---- CPU accounting (Linux /proc): who used the cores during the measured window -------

const hasProc = existsSync('/proc/stat');

function machineJiffies() {
  const f = readFileSync('/proc/stat', 'utf8').split('\n')[0].trim().split(/\s+/).slice(1).map(Number);
  const idle = f[3] + (f[4] || 0);
  const total = f.slice(0, 8).reduce((a, b) => a + b, 0);
  return { total, busy: total - idle };
}

function ownJiffies(pid) {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const rest = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return Number(rest[11]) + Number(rest[12]);
  } catch {
    return 0;
  }
}

/** utime+stime of root and all its descendants. */
function treeJiffies(roots) {
  const parent = new Map();
  const used = new Map();
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    try {
      const stat = readFileSync(`/proc/${name}/stat`, 'utf8');
      const rest = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      parent.set(Number(name), Number(rest[1]));
      used.set(Number(name), Number(rest[11]) + Number(rest[12]));
    } catch {
      // gone meanwhile
    }
  }
  let sum = 0;
  for (const [pid, jiffies] of used) {
    for (let p = pid, depth = 0; p > 1 && depth < 10; p = parent.get(p) ?? 0, depth++) {
      if (roots.includes(p)) {
        sum += jiffies;
        break;
      }
    }
  }
  return sum;
}

function snapshot(serverPid, loadgenPid) {
  if (!hasProc) return null;
  return { machine: machineJiffies(), server: treeJiffies([serverPid]), primary: ownJiffies(serverPid), loadgen: treeJiffies([loadgenPid]) };
}

/** Cores used over the window: by the server processes, by loadgen, by everything else. */
function coresUsed(a, b) {
  if (!a || !b) return null;
  const cores = os.cpus().length;
  const window = (b.machine.total - a.machine.total) / cores; // jiffies per core
  if (window <= 0) return null;
  const server = (b.server - a.server) / window;
  const primary = (b.primary - a.primary) / window; // the cluster primary (the relay), or the one process
  const loadgen = (b.loadgen - a.loadgen) / window;
  const busy = (b.machine.busy - a.machine.busy) / window;
  return { server, primary, loadgen, other: Math.max(0, busy - server - loadgen) };
}

function loadgen(port, serverPid) {
  return new Promise((resolve, fail) => {
    const argv = [
      '--port',
      String(port),
      '--conns',
      '200',
      '--size',
      '32',
      '--inflight',
      '16',
      '--mode',
      'broadcast',
      '--binary',
      '--duration',
      String(DURATION),
      '--warmup',
      '1',
    ];
    const proc = spawn(LOADGEN, argv, { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    let first = null;
    let last = null;
    proc.stdout.on('data', (c) => (out += c));
    proc.stderr.on('data', (c) => {
      err += c;
      if (!first && err.includes('loadgen: measuring')) first = snapshot(serverPid, proc.pid);
    });
    // The window ends when loadgen prints its result (it exits right after).
    proc.stdout.once('data', () => (last = snapshot(serverPid, proc.pid)));
    proc.once('exit', (code) => {
      try {
        const result = JSON.parse(out.trim().split('\n').pop());
        resolve({ ...result, cores: coresUsed(first, last) });
      } catch {
        fail(new Error(`loadgen exited ${code}: ${out}\n${err}`));
      }
    });
  });
}

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const fmt = (n) => Math.round(n).toLocaleString('en-US');
const BUSY = 0.25; // cores used by other processes above which a run is "busy"

async function run(config) {
  const server = await startServer(config.workers);
  try {
    const r = await loadgen(server.port, server.proc.pid);
    const floor = (r.per_conn_min * r.conns_open) / r.seconds;
    const c = r.cores;
    const busy = c ? c.other > BUSY : false;
    const row = {
      total: r.msgs_per_s,
      floor,
      errors: r.errors,
      open: r.conns_open,
      cores: c,
      busy,
      perServerCore: c && c.server > 0 ? r.msgs_per_s / c.server : null,
      backend: server.backend,
    };
    const cpu = c
      ? `, cores: server ${c.server.toFixed(2)}${config.workers ? ` (primary ${c.primary.toFixed(2)})` : ''} loadgen ${c.loadgen.toFixed(2)} other ${c.other.toFixed(2)}${busy ? ' (busy)' : ''}`
      : '';
    log(
      `  ${config.label}: ${fmt(r.msgs_per_s)} deliveries/s (floor ${fmt(floor)}), per connection ${r.per_conn_min}…${r.per_conn_max}, errors ${r.errors}${cpu}`,
    );
    return row;
  } finally {
    await server.stop();
  }
}

async function throughputAll(configs) {
  for (const c of configs) c.rows = [];
  for (let round = 0; round < RUNS; round++) {
    log(`round ${round + 1} of ${RUNS}`);
    // Rotate the order so drift in the machine's load spreads over the configurations.
    for (let i = 0; i < configs.length; i++) {
      const config = configs[(i + round) % configs.length];
      config.rows.push(await run(config));
    }
  }
  return configs.map((config) => {
    const quiet = config.rows.filter((r) => !r.busy);
    const used = quiet.length ? quiet : config.rows;
    const totals = used.map((r) => r.total);
    return {
      label: config.label,
      workers: config.workers,
      backend: config.rows[0].backend,
      total: median(totals),
      min: Math.min(...totals),
      max: Math.max(...totals),
      floor: median(used.map((r) => r.floor)),
      perServerCore: used.every((r) => r.perServerCore) ? median(used.map((r) => r.perServerCore)) : null,
      serverCores: used.every((r) => r.cores) ? median(used.map((r) => r.cores.server)) : null,
      primaryCores: config.workers && used.every((r) => r.cores) ? median(used.map((r) => r.cores.primary)) : null,
      otherCores: used.every((r) => r.cores) ? median(used.map((r) => r.cores.other)) : null,
      runsUsed: `${used.length}${quiet.length ? ' quiet' : ' busy'} of ${config.rows.length}`,
      errors: config.rows.reduce((n, r) => n + r.errors, 0),
    };
  });
}

// ---- latency ------------------------------------------------------------------------

function client(url) {
  return new Promise((resolve, fail) => {
    const ws = new WebSocket(url);
    ws.once('error', fail);
    ws.once('message', (data) => resolve({ ws, pid: JSON.parse(data.toString()).pid }));
  });
}

/** Connects to path until it lands on a process for which want(pid) holds. */
async function clientOn(port, path, want, attempts = 40) {
  for (let i = 0; i < attempts; i++) {
    const c = await client(`ws://127.0.0.1:${port}${path}`);
    if (want(c.pid)) return c;
    c.ws.terminate();
  }
  throw new Error(`no connection to ${path} landed where wanted`);
}

const percentile = (sorted, p) => sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];

function summary(samples) {
  const s = [...samples].sort((a, b) => a - b);
  return { n: s.length, p50: percentile(s, 50), p90: percentile(s, 90), p99: percentile(s, 99), max: s[s.length - 1] };
}

/**
 * pub publishes; subs receive. Each payload: 8-byte sequence + 8-byte
 * timestamp (hrtime ns) + padding to 32 bytes. Sequential: next message when
 * every sub got the previous; paced: RATE per second for 2 s, not waiting.
 */
async function measure(pub, subs) {
  const now = () => process.hrtime.bigint();
  const results = subs.map(() => ({ seq: [], paced: [] }));
  let phase = 'seq';
  let waiting = 0;
  let advance = () => {};
  subs.forEach((s, i) => {
    s.ws.on('message', (data) => {
      if (data.length !== 32) return;
      const sent = data.readBigUInt64BE(8);
      results[i][phase].push(Number(now() - sent) / 1000); // µs
      if (phase === 'seq' && --waiting === 0) advance();
    });
  });
  const payload = (seq) => {
    const b = Buffer.alloc(32);
    b.writeBigUInt64BE(BigInt(seq), 0);
    b.writeBigUInt64BE(now(), 8);
    return b;
  };
  // Warm-up, then sequential.
  for (let i = 0; i < SAMPLES + 200; i++) {
    if (i === 200) for (const r of results) r.seq.length = 0;
    waiting = subs.length;
    await withTimeout(
      new Promise((r) => {
        advance = r;
        pub.ws.send(payload(i));
      }),
      5000,
      'sequential latency sample',
    );
  }
  // Paced.
  phase = 'paced';
  const total = RATE * 2;
  const start = Date.now();
  for (let i = 0; i < total; i++) {
    pub.ws.send(payload(i));
    const due = start + ((i + 1) * 1000) / RATE;
    if (i % 10 === 9 && Date.now() < due) await new Promise((r) => setTimeout(r, due - Date.now()));
  }
  await withTimeout(
    new Promise((r) => {
      const check = () => (results.every((x) => x.paced.length >= total) ? r() : setTimeout(check, 20));
      check();
    }),
    20_000,
    'paced stream delivered',
  ).catch((e) => log(`  ${e.message}`));
  return results.map((r) => ({ sequential: summary(r.seq), paced: summary(r.paced) }));
}

async function latencyWorkers() {
  const port = await freePort();
  const server = await start(process.execPath, [SERVER], { PORT: String(port), WORKERS: '2' }, /ready port=(\d+)/, 'server (workers=2)');
  try {
    const pub = await client(`ws://127.0.0.1:${port}/pub`);
    const local = await clientOn(port, '/sub', (pid) => pid === pub.pid);
    const remote = await clientOn(port, '/sub', (pid) => pid !== pub.pid);
    const [sameWorker, otherWorker] = await measure(pub, [local, remote]);
    for (const c of [pub, local, remote]) c.ws.terminate();
    return { sameWorker, otherWorker };
  } finally {
    await server.stop();
  }
}

async function latencyRedis() {
  let redisBinary = 'redis-server';
  try {
    execFileSync(redisBinary, ['--version']);
  } catch {
    log('  --redis: redis-server is not installed; skipped');
    return null;
  }
  const redisPort = await freePort();
  const redis = await start(
    redisBinary,
    ['--port', String(redisPort), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--dir', os.tmpdir()],
    {},
    /Ready to accept connections/,
    'redis-server',
  );
  const servers = [];
  try {
    const env = { ADAPTER: 'redis', REDIS_URL: `redis://127.0.0.1:${redisPort}` };
    for (let i = 0; i < 2; i++) servers.push(await startServer(0, env));
    const pub = await client(`ws://127.0.0.1:${servers[0].port}/pub`);
    const local = await client(`ws://127.0.0.1:${servers[0].port}/sub`);
    const remote = await client(`ws://127.0.0.1:${servers[1].port}/sub`);
    // The remote process subscribes lazily: wait until a message gets through.
    for (let ok = false; !ok;) {
      const got = new Promise((r) => remote.ws.once('message', () => r(true)));
      pub.ws.send(Buffer.alloc(8));
      ok = await withTimeout(got, 200, 'probe').catch(() => false);
    }
    const [sameProcess, otherProcess] = await measure(pub, [local, remote]);
    for (const c of [pub, local, remote]) c.ws.terminate();
    return { sameProcess, otherProcess };
  } finally {
    for (const s of servers) await s.stop();
    await redis.stop();
  }
}

// ---- main -------------------------------------------------------------------------

log(`broadcast-workers: ${os.cpus().length} cores, ${os.cpus()[0]?.model ?? ''}, node ${process.version}, ${RUNS} runs × ${DURATION} s`);
const configs = [
  { label: '1 process (no cluster)', workers: 0 },
  { label: 'cluster, 1 worker', workers: 1 },
  { label: 'cluster, 2 workers', workers: 2 },
];
const results = await throughputAll(configs);
// Back-to-back pairs (same round) cancel most of the drift in the machine's load.
const pairs = configs[2].rows.map((row, i) => row.total / configs[1].rows[i].total);
log('latency, 2 workers');
const latency = await latencyWorkers();
const redisLatency = flag('--redis') ? (log('latency, Redis adapter, 2 processes'), await latencyRedis()) : null;

const single = results.find((r) => r.workers === 0);
const one = results.find((r) => r.workers === 1);
const two = results.find((r) => r.workers === 2);
const report = {
  cores: os.cpus().length,
  node: process.version,
  backend: results[0].backend,
  throughput: results.map((r) => ({
    label: r.label,
    workers: r.workers,
    deliveriesPerSecond: Math.round(r.total),
    range: [Math.round(r.min), Math.round(r.max)],
    floorPerSecond: Math.round(r.floor),
    serverCores: r.serverCores === null ? null : +r.serverCores.toFixed(2),
    primaryCores: r.primaryCores === null ? null : +r.primaryCores.toFixed(3),
    deliveriesPerServerCoreSecond: r.perServerCore === null ? null : Math.round(r.perServerCore),
    otherCores: r.otherCores === null ? null : +r.otherCores.toFixed(2),
    runs: r.runsUsed,
    errors: r.errors,
  })),
  ratio2vs1: { total: +(two.total / one.total).toFixed(2), floor: +(two.floor / one.floor).toFixed(2) },
  ratio2vsSingleProcess: +(two.total / single.total).toFixed(2),
  ratio2vs1PerRound: {
    median: +median(pairs).toFixed(2),
    min: +Math.min(...pairs).toFixed(2),
    max: +Math.max(...pairs).toFixed(2),
    rounds: pairs.map((x) => +x.toFixed(2)),
  },
  latencyMicroseconds: { workers: latency, ...(redisLatency ? { redis: redisLatency } : {}) },
};
if (flag('--json')) {
  console.log(JSON.stringify(report, null, 2));
} else {
  console.log(`\nbroadcast, 200 connections, 32 B, 16 in flight (median of ${RUNS} × ${DURATION} s, backend ${report.backend}, ${report.cores} cores)`);
  console.log('  configuration              deliveries/s   (min–max)                 floor/s   server cores   per server core   other cores   runs');
  for (const r of report.throughput) {
    console.log(
      `  ${r.label.padEnd(24)} ${fmt(r.deliveriesPerSecond).padStart(12)}   (${fmt(r.range[0])}–${fmt(r.range[1])})`.padEnd(70) +
        `${fmt(r.floorPerSecond).padStart(11)}   ${String(r.serverCores ?? 'n/a').padStart(12)}   ${(r.deliveriesPerServerCoreSecond === null ? 'n/a' : fmt(r.deliveriesPerServerCoreSecond)).padStart(15)}   ${String(r.otherCores ?? 'n/a').padStart(11)}   ${r.runs}${r.errors ? `, ${r.errors} errors` : ''}`,
    );
  }
  for (const r of report.throughput)
    if (r.primaryCores !== null) console.log(`  ${r.label}: the primary (relay) used ${r.primaryCores} cores of the server's ${r.serverCores}`);
  console.log(
    `  2 workers / 1 worker: ${report.ratio2vs1.total}× (floor ${report.ratio2vs1.floor}×); 2 workers / 1 plain process: ${report.ratio2vsSingleProcess}×`,
  );
  const p = report.ratio2vs1PerRound;
  console.log(`  2 workers / 1 worker, round by round: median ${p.median}× (${p.min}–${p.max}×: ${p.rounds.join(', ')})`);
  const line = (name, s) =>
    `  ${name.padEnd(34)} p50 ${s.p50.toFixed(0).padStart(6)} µs   p90 ${s.p90.toFixed(0).padStart(6)} µs   p99 ${s.p99.toFixed(0).padStart(6)} µs   (n=${s.n})`;
  console.log('\nlatency, publisher client → subscriber client (payload timestamp)');
  console.log(line('same worker, one at a time', latency.sameWorker.sequential));
  console.log(line('other worker, one at a time', latency.otherWorker.sequential));
  console.log(line(`same worker, ${RATE}/s`, latency.sameWorker.paced));
  console.log(line(`other worker, ${RATE}/s`, latency.otherWorker.paced));
  if (redisLatency) {
    console.log(line('Redis: same process, one at a time', redisLatency.sameProcess.sequential));
    console.log(line('Redis: other process, one at a time', redisLatency.otherProcess.sequential));
    console.log(line(`Redis: same process, ${RATE}/s`, redisLatency.sameProcess.paced));
    console.log(line(`Redis: other process, ${RATE}/s`, redisLatency.otherProcess.paced));
  }
}
