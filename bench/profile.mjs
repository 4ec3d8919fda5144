// A CPU profile of the wsbolt bench server under one scenario's load, taken
// with perf (Debian: linux-perf): where the server's time goes, split by
// where the code lives (kernel, Node/V8, the addon, JIT-compiled JS, libc)
// and by symbol.
//
//   node bench/profile.mjs a            (echo 32 B; also b, c, d, e)
//   TRANSPORT=stream node bench/profile.mjs c
//
// The server runs on CPU 0 with --perf-basic-prof (so JIT frames have names),
// the load generator on CPU 1, as in the suite; perf samples the server only,
// after the warm-up, for DURATION seconds (default 5).
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { buildLoadgen, loadgenArgs, LOADGEN } from './lib/loadgen.mjs';
import { SCENARIOS } from './lib/scenarios.mjs';

const bench = dirname(fileURLToPath(import.meta.url));
const pick = process.argv[2] ?? 'a';
const scenario = SCENARIOS.find((s) => s.id === pick || s.name === pick);
if (!scenario || !scenario.load || scenario.load.mode === 'idle') {
  console.error(`usage: node bench/profile.mjs <a|b|c|d|e>`);
  process.exit(2);
}
if (spawnSync('perf', ['--version']).status !== 0) {
  console.error('perf is not installed (Debian: apt-get install linux-perf)');
  process.exit(2);
}
const duration = Number(process.env.DURATION ?? 5);
const warmup = 1;
const port = 20000 + Math.floor(Math.random() * 20000);
buildLoadgen({ quiet: true });

const env = { ...process.env, PORT: String(port), MODE: scenario.load.mode === 'broadcast' ? 'broadcast' : 'echo' };
if (process.env.TRANSPORT === 'stream') env.WSBOLT_TRANSPORT = 'stream';
const server = spawn('taskset', ['-c', '0', process.execPath, '--perf-basic-prof', join(bench, 'servers', 'wsbolt.mjs')], {
  env,
  stdio: ['ignore', 'pipe', 'inherit'],
});
await new Promise((resolve, reject) => {
  let out = '';
  server.stdout.on('data', (d) => {
    out += d;
    if (out.includes('ready')) resolve();
  });
  server.once('exit', () => reject(new Error(`server exited: ${out}`)));
});

const dir = mkdtempSync(join(tmpdir(), 'wsbolt-profile-'));
const data = join(dir, 'perf.data');
const loadgen = spawn('taskset', ['-c', '1', LOADGEN, ...loadgenArgs(scenario.load, port, { duration: duration + 1, warmup })], {
  stdio: ['ignore', 'pipe', 'pipe'],
});
const loadgenExited = new Promise((resolve) => loadgen.once('exit', resolve));
let report = '';
loadgen.stdout.on('data', (d) => (report += d));
await new Promise((resolve) => loadgen.stderr.on('data', (d) => String(d).includes('measuring') && resolve()));
const perf = spawn('perf', ['record', '-F', '1999', '-g', '-p', String(server.pid), '-o', data, '--', 'sleep', String(duration)], { stdio: 'ignore' });
await new Promise((resolve) => perf.once('exit', resolve));
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

console.log(
  `scenario ${scenario.id}) ${scenario.title}, transport ${env.WSBOLT_TRANSPORT ?? 'native'}: ${Math.round(result.rate ?? 0)} ${scenario.unit} under perf; load generator at ${result.cpu_pct ?? '?'} % of its core`,
);
console.log('\nby where the code lives:');
for (const l of rows(perfReport('dso')).slice(0, 12)) console.log(l.replace(/perf-\d+\.map/, 'JIT (JS)'));
console.log('\nhottest symbols:');
for (const l of rows(perfReport('dso,sym')).slice(0, 30)) console.log(l.replace(/perf-\d+\.map/, 'JIT'));
console.log(`\nperf data: ${data} (perf report -i ${data})`);
