// A CPU profile of a bench server under one scenario's load, taken with perf
// (Debian: linux-perf): where the server's time goes, split by where the code
// lives (kernel, Node/V8, the addon, JIT-compiled JS, libc) and by symbol,
// each also as CPU time per message (or delivery), so two contestants'
// profiles compare symbol by symbol.
//
//   node bench/profile.mjs a            (wsbolt, echo 32 B; also b, c, d, e)
//   node bench/profile.mjs c uws        (any Node contestant of the suite: wsbolt-stream, ws, uws, ...)
//   TRANSPORT=stream node bench/profile.mjs c   (= wsbolt-stream)
//   SYSCALLS=1 node bench/profile.mjs e uws     (system calls and page faults per message instead of a profile)
//
// The server runs on CPU 0 with --perf-basic-prof (so JIT frames have names),
// the load generator on CPU 1, as in the suite; perf samples the server only,
// after the warm-up, for DURATION seconds (default 5), and the server's CPU
// time over the same window (/proc) turns shares into microseconds.
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { contestants } from './lib/contestants.mjs';
import { buildLoadgen, loadgenArgs, LOADGEN } from './lib/loadgen.mjs';
import { freePort } from './lib/proc.mjs';
import { SCENARIOS } from './lib/scenarios.mjs';

const pick = process.argv[2] ?? 'a';
const name = process.argv[3] ?? (process.env.TRANSPORT === 'stream' ? 'wsbolt-stream' : 'wsbolt');
const scenario = SCENARIOS.find((s) => s.id === pick || s.name === pick);
if (!scenario || !scenario.load || scenario.load.mode === 'idle') {
  console.error('usage: node bench/profile.mjs <a|b|c|d|e|f|h> [contestant]');
  process.exit(2);
}
const { list, skipped } = contestants([name]);
const contestant = list[0];
if (!contestant || contestant.runtime !== 'node') {
  console.error(contestant ? `${name} does not run on Node: perf cannot name its frames here` : (skipped[0] ?? `no contestant named ${name}`));
  process.exit(2);
}
if (spawnSync('perf', ['--version']).status !== 0) {
  console.error('perf is not installed (Debian: apt-get install linux-perf)');
  process.exit(2);
}
const duration = Number(process.env.DURATION ?? 5);
const warmup = 1;
const port = await freePort();
buildLoadgen({ quiet: true });

const env = { ...contestant.env, PORT: String(port), MODE: scenario.load.mode === 'broadcast' ? 'broadcast' : 'echo' };
const [node, ...args] = contestant.argv;
const server = spawn('taskset', ['-c', '0', node, '--perf-basic-prof', ...args], { env, stdio: ['ignore', 'pipe', 'inherit'] });
await new Promise((resolve, reject) => {
  let out = '';
  server.stdout.on('data', (d) => {
    out += d;
    if (out.includes('ready')) resolve();
  });
  server.once('exit', () => reject(new Error(`server exited: ${out}`)));
});

/** The server's user + system CPU time so far, in seconds (taskset execs the server: same pid). */
const cpuSeconds = () => {
  const fields = readFileSync(`/proc/${server.pid}/stat`, 'utf8').split(') ')[1].split(' ');
  return (Number(fields[11]) + Number(fields[12])) / 100; // utime, stime in clock ticks (USER_HZ is 100 on Linux)
};

const dir = mkdtempSync(join(tmpdir(), 'wsbolt-profile-'));
const data = join(dir, 'perf.data');
const loadgen = spawn('taskset', ['-c', '1', LOADGEN, ...loadgenArgs(scenario.load, port, { duration: duration + 1, warmup })], {
  stdio: ['ignore', 'pipe', 'pipe'],
});
const loadgenExited = new Promise((resolve) => loadgen.once('exit', resolve));
let report = '';
loadgen.stdout.on('data', (d) => (report += d));
await new Promise((resolve) => loadgen.stderr.on('data', (d) => String(d).includes('measuring') && resolve()));
const cpuBefore = cpuSeconds();
const wallBefore = performance.now();
// SYSCALLS=1: counts instead of samples. The I/O and polling calls either kind of server makes, and the page faults
// of its memory (fresh buffers), each to divide by the window's messages.
const COUNTED = [
  'read',
  'readv',
  'recvfrom',
  'recvmsg',
  'write',
  'writev',
  'sendto',
  'sendmsg',
  'epoll_wait',
  'epoll_pwait',
  'epoll_ctl',
  'mmap',
  'munmap',
  'madvise',
  'accept4',
  'close',
  'dup',
  'shutdown',
  'getpeername',
  'setsockopt',
  'fcntl',
  'ioctl',
];
const counting = process.env.SYSCALLS === '1';
const events = [...COUNTED.map((c) => `syscalls:sys_enter_${c}`), 'exceptions:page_fault_user'];
const perf = counting
  ? spawn('perf', ['stat', '-x', ',', '-o', data, '-e', events.join(','), '-p', String(server.pid), '--', 'sleep', String(duration)], { stdio: 'ignore' })
  : spawn('perf', ['record', '-F', '1999', '-g', '-p', String(server.pid), '-o', data, '--', 'sleep', String(duration)], { stdio: 'ignore' });
await new Promise((resolve) => perf.once('exit', resolve));
const cpu = cpuSeconds() - cpuBefore;
const wall = (performance.now() - wallBefore) / 1000;
await loadgenExited;
server.kill('SIGTERM');

const result = (() => {
  try {
    return JSON.parse(report);
  } catch {
    return {};
  }
})();
const perfReport = (sort) =>
  spawnSync('perf', ['report', '-i', data, '--no-children', '--stdio', '--percent-limit', '1', '--sort', sort, '-g', 'none'], {
    encoding: 'utf8',
    maxBuffer: 64 << 20,
  }).stdout;
const rows = (text) => text.split('\n').filter((l) => /^\s+\d+\.\d+%/.test(l));
// CPU time per message: the server's CPU over the window divided by the messages of the same window.
const rate = result.rate ?? 0;
const perMessage = rate > 0 ? (cpu / wall / rate) * 1e6 : 0;
const unit = scenario.unit === 'deliveries/s' ? 'delivery' : 'message';
const withCost = (line) => {
  const share = Number(/^\s+(\d+\.\d+)%/.exec(line)[1]);
  return `${((perMessage * share) / 100).toFixed(2).padStart(7)} µs  ${line.replace(/perf-\d+\.map/, 'JIT (JS)')}`;
};

console.log(
  `scenario ${scenario.id}) ${scenario.title}, ${contestant.label}: ${Math.round(rate)} ${scenario.unit} under perf; load generator at ${result.cpu_pct ?? '?'} % of its core`,
);
console.log(`server CPU ${((cpu / wall) * 100).toFixed(0)} % of its core: ${perMessage.toFixed(2)} µs per ${unit}`);
if (counting) {
  console.log(`\nper ${unit} (perf stat over the same window):`);
  for (const line of readFileSync(data, 'utf8').split('\n')) {
    const [count, , event] = line.split(',');
    if (!event || !/^\d+$/.test(count) || Number(count) === 0) continue;
    console.log(`${(Number(count) / (rate * wall)).toFixed(3).padStart(9)}  ${event.replace(/^syscalls:sys_enter_|^exceptions:/, '')}`);
  }
  process.exit(0);
}
console.log(`\nby where the code lives (µs per ${unit}, share):`);
for (const l of rows(perfReport('dso')).slice(0, 12)) console.log(withCost(l));
console.log(`\nhottest symbols (µs per ${unit}, share):`);
for (const l of rows(perfReport('dso,sym')).slice(0, 30)) console.log(withCost(l));
console.log(`\nperf data: ${data} (perf report -i ${data})`);
