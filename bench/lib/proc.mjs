// Process control for the benchmarks: CPU pinning, free ports, /proc readings
// (CPU time, RSS, machine load), and bench servers started fresh for each run.
// Every child started here is killed if the bench is interrupted, so no server
// or load generator outlives it.
import { spawn, spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { createInterface } from 'node:readline';

export const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

export const hasCommand = (cmd) => spawnSync('sh', ['-c', `command -v ${cmd}`], { stdio: 'ignore' }).status === 0;

/** Server on CPU 0, load generator on CPU 1: they never compete for a core. */
export const taskset = process.platform === 'linux' && hasCommand('taskset');
// taskset execs its command, so the pid we get is the server's own (for /proc readings).
export const pinned = (cpu, argv) => (taskset ? ['taskset', '-c', String(cpu), ...argv] : argv);

/** Raises the soft descriptor limit to the hard one, then execs argv (same pid). */
export const withHardFdLimit = (argv) => ['sh', '-c', 'ulimit -n "$(ulimit -Hn)" 2>/dev/null; exec "$@"', 'sh', ...argv];

/** The hard limit on open descriptors for processes we start; null when unknown. */
export function hardFdLimit() {
  const r = spawnSync('sh', ['-c', 'ulimit -Hn'], { encoding: 'utf8' });
  const v = r.stdout.trim();
  return v === 'unlimited' ? Infinity : Number(v) || null;
}

export function freePort() {
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
export function cpuOf(pid) {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(fields[11]) + Number(fields[12])) / CLK_TCK; // utime, stime (fields 14, 15)
  } catch {
    return null;
  }
}

/** Resident set size of a process in bytes (VmRSS), or null. */
export function rssOf(pid) {
  try {
    const m = readFileSync(`/proc/${pid}/status`, 'utf8').match(/^VmRSS:\s+(\d+)\s+kB/m);
    return m ? Number(m[1]) * 1024 : null;
  } catch {
    return null;
  }
}

/** Busy CPU seconds of the whole machine (all cores, softirq included), from /proc/stat; null when unavailable. */
export function machineBusy() {
  try {
    const [, ...v] = readFileSync('/proc/stat', 'utf8').split('\n')[0].trim().split(/\s+/).map(Number);
    const [user, nice, system, , , irq, softirq, steal] = v;
    return (user + nice + system + irq + softirq + steal) / CLK_TCK;
  } catch {
    return null;
  }
}

/**
 * Waits (up to limitSeconds) until the machine's busy time over half a second
 * is under noisyPct % of a core: a shared machine (tests, builds in other
 * shells) skews whichever contestant happens to run at the time. Returns the
 * seconds waited, or -1 when it stayed busy.
 */
export async function waitForQuiet(limitSeconds, noisyPct) {
  const started = performance.now();
  for (;;) {
    const a = machineBusy();
    await sleep(500);
    const b = machineBusy();
    if (a === null || b === null || (100 * (b - a)) / 0.5 < noisyPct) return (performance.now() - started) / 1000 - 0.5;
    if (performance.now() - started > limitSeconds * 1000) return -1;
  }
}

export function lines(stream, onLine) {
  createInterface({ input: stream }).on('line', onLine);
}

// ---- children killed on exit --------------------------------------------------

const live = new Set();
process.on('exit', () => {
  for (const child of live) child.kill('SIGKILL');
});
for (const signal of ['SIGINT', 'SIGTERM']) process.on(signal, () => process.exit(130));

/** spawn(), registered so the child is killed if we exit first. */
export function track(argv, options) {
  const [cmd, ...rest] = argv;
  const child = spawn(cmd, rest, options);
  live.add(child);
  child.once('exit', () => live.delete(child));
  child.once('error', () => live.delete(child));
  return child;
}

// ---- servers ------------------------------------------------------------------

/**
 * Starts a bench server (argv already pinned/wrapped) and waits for its
 * "ready [backend=...]" line ("transport=..." lines, printed later, are kept
 * as handle.transport). stdin is a pipe so the idle scenario can send
 * control commands (bench/servers/control.mjs). Resolves with a handle;
 * handle.ready is false when it never got ready.
 */
export async function startServer(argv, env, { readyTimeoutMs = 15_000 } = {}) {
  const child = track(argv, { env, stdio: ['pipe', 'pipe', 'pipe'] });
  child.stdin.on('error', () => {}); // EPIPE when it has exited: crashed() reports that
  const stderr = [];
  const waiters = [];
  lines(child.stderr, (l) => stderr.push(l) > 20 && stderr.shift());
  const exited = new Promise((resolve) => child.once('exit', (code, signal) => resolve({ code, signal })));
  let transport = null;
  const ready = await new Promise((resolve) => {
    const timer = setTimeout(() => resolve(null), readyTimeoutMs);
    lines(child.stdout, (l) => {
      if (l.startsWith('transport=')) {
        transport = l.slice('transport='.length).trim(); // diagnostic, never a command's answer
      } else if (l.startsWith('ready')) {
        clearTimeout(timer);
        resolve(l);
      } else {
        waiters.shift()?.(l);
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
  return {
    child,
    pid: child.pid,
    ready: ready !== null,
    backend: ready?.match(/backend=(\S+)/)?.[1] ?? null,
    /** What the server printed as "transport=<name>" (its first connection's), or null. */
    get transport() {
      return transport;
    },
    stderr,
    exited,
    crashed: () => child.exitCode !== null || child.signalCode !== null,
    /** Sends one command line; resolves with the next stdout line (null after timeoutMs). */
    command(line, timeoutMs = 30_000) {
      return new Promise((resolve) => {
        const timer = setTimeout(() => resolve(null), timeoutMs);
        waiters.push((answer) => {
          clearTimeout(timer);
          resolve(answer);
        });
        child.stdin.write(`${line}\n`);
      });
    },
  };
}

export async function stopServer(server) {
  if (!server.crashed()) server.child.kill('SIGKILL');
  await server.exited;
}
