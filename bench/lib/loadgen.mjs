// The C load generator (bench/loadgen.c): compiled on demand with the system C
// compiler into bench/.build/, run pinned to CPU 1, its JSON report parsed,
// and the server's and the rest of the machine's CPU sampled over exactly its
// measured window (it prints "loadgen: measuring" when that window starts).
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { cpuOf, lines, machineBusy, pinned, track } from './proc.mjs';

const bench = join(dirname(fileURLToPath(import.meta.url)), '..');
export const LOADGEN_SRC = join(bench, 'loadgen.c');
export const LOADGEN = join(bench, '.build', 'loadgen');

/** Compiles the load generator when the binary is missing or older than its source; throws on failure. */
export function buildLoadgen({ src = LOADGEN_SRC, out = LOADGEN, quiet = false } = {}) {
  if (existsSync(out) && statSync(out).mtimeMs >= statSync(src).mtimeMs) return out;
  mkdirSync(dirname(out), { recursive: true });
  if (!quiet) console.log(`building ${out}`);
  const r = spawnSync('cc', ['-O2', '-o', out, src], { stdio: quiet ? 'pipe' : 'inherit', encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`could not compile ${src} (is a C compiler installed as cc?)${quiet ? `: ${r.stderr}` : ''}`);
  return out;
}

/** Command-line options for the load generator from a scenario's load description. */
export function loadgenArgs(load, port, { duration, warmup }) {
  const argv = ['--port', String(port), '--mode', load.mode, '--conns', String(load.conns), '--duration', String(duration), '--warmup', String(warmup)];
  if (load.size !== undefined) argv.push('--size', String(load.size));
  if (load.inflight !== undefined) argv.push('--inflight', String(load.inflight));
  if (load.binary) argv.push('--binary');
  if (load.verify) argv.push('--verify');
  if (load.deflateFile) argv.push('--deflate', load.deflateFile);
  return argv;
}

/**
 * Runs the load generator on CPU 1 until it finishes. Resolves with
 * { report, serverCpu, otherCpu, diag } or { error, diag } — never rejects.
 * serverCpu and otherCpu are % of one core over the measured window;
 * otherCpu is everything the machine did besides the server and the loadgen.
 */
export function runLoadgen(argv, serverPid, limitSeconds) {
  return new Promise((resolve) => {
    const child = track(pinned(1, [LOADGEN, ...argv]), { stdio: ['ignore', 'pipe', 'pipe'] });
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
      } else if (diag.length < 20) diag.push(l);
    });
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      child.kill('SIGKILL');
    }, limitSeconds * 1000);
    child.once('close', (code) => {
      clearTimeout(timer);
      const serverCpuEnd = cpuOf(serverPid);
      const busyEnd = machineBusy();
      const seconds = (performance.now() - measureStart) / 1000;
      let report = null;
      try {
        report = JSON.parse(out.trim().split('\n').pop());
      } catch {
        // no report line (the load generator failed): the caller sees report === undefined
      }
      const serverCpu = serverCpuStart !== null && serverCpuEnd !== null && seconds > 0 ? (100 * (serverCpuEnd - serverCpuStart)) / seconds : null;
      const otherCpu =
        serverCpu !== null && busyStart !== null && busyEnd !== null && report
          ? Math.max(0, (100 * (busyEnd - busyStart)) / seconds - serverCpu - report.cpu_pct)
          : null;
      if (timedOut) resolve({ error: `load generator did not finish within ${limitSeconds} s`, diag });
      else if (!report || code !== 0) resolve({ error: `load generator exited with ${code}`, report, diag });
      else resolve({ report, serverCpu, otherCpu, diag });
    });
  });
}

/**
 * Idle mode: opens the connections and holds them until release() closes the
 * load generator's stdin. opened resolves with the number open (or null when
 * the load generator died or took longer than limitSeconds).
 */
export function holdIdle(argv, limitSeconds) {
  const child = track(pinned(1, [LOADGEN, ...argv]), { stdio: ['pipe', 'pipe', 'pipe'] });
  child.stdin.on('error', () => {});
  let out = '';
  const diag = [];
  child.stdout.on('data', (d) => (out += d));
  const closed = new Promise((resolve) => child.once('close', (code) => resolve(code)));
  const opened = new Promise((resolve) => {
    const timer = setTimeout(() => resolve(null), limitSeconds * 1000);
    lines(child.stderr, (l) => {
      const m = l.match(/^loadgen: open (\d+) of (\d+)/);
      if (m) {
        clearTimeout(timer);
        resolve(Number(m[1]));
      } else if (diag.length < 20) diag.push(l);
    });
    closed.then(() => {
      clearTimeout(timer);
      resolve(null);
    });
  });
  return {
    opened,
    diag,
    /** Lets the connections go; resolves with the final report (or null). */
    async release() {
      child.stdin.end();
      const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
      await closed;
      clearTimeout(timer);
      try {
        return JSON.parse(out.trim().split('\n').pop());
      } catch {
        return null;
      }
    },
  };
}
