/**
 * Testee processes: spawn, wait for "ready", stop. Each testee runs in its
 * own process group so a shell-wrapped command (--testee "...") is stopped
 * with everything it started.
 */
import { spawn } from 'node:child_process';
import net from 'node:net';

/** A free TCP port on 127.0.0.1 (bound, read, released). */
export function freePort() {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });
}

/**
 * @param {string} command shell command, or a script path run with this node
 * @param {Record<string, string>} env added to the inherited environment
 * @returns {{ child: import('node:child_process').ChildProcess, lines: string[], exited: Promise<number|null> }}
 */
export function startTestee(command, env) {
  const isScript = /\.(mjs|js|cjs)$/.test(command) && !/\s/.test(command);
  const child = isScript
    ? spawn(process.execPath, [command], { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'], detached: true })
    : spawn(command, { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'], detached: true, shell: true });
  const lines = [];
  let partial = '';
  const onData = (d) => {
    partial += String(d);
    const parts = partial.split('\n');
    partial = parts.pop();
    for (const l of parts) {
      lines.push(l);
      child.emit('line', l);
    }
  };
  child.stdout.on('data', onData);
  child.stderr.on('data', onData);
  const exited = new Promise((resolve) => child.once('exit', (code) => resolve(code)));
  return { child, lines, exited };
}

/** Resolves with the first line starting with "ready" (rejects on exit or timeout). */
export function waitReady(testee, timeoutMs = 15000) {
  return new Promise((resolve, reject) => {
    const found = testee.lines.find((l) => l.startsWith('ready'));
    if (found) return resolve(found);
    const timer = setTimeout(() => reject(new Error(`testee not ready after ${timeoutMs} ms:\n${testee.lines.join('\n')}`)), timeoutMs);
    testee.child.on('line', (l) => {
      if (l.startsWith('ready')) {
        clearTimeout(timer);
        resolve(l);
      }
    });
    testee.exited.then((code) => {
      clearTimeout(timer);
      reject(new Error(`testee exited (${code}) before it was ready:\n${testee.lines.join('\n')}`));
    });
  });
}

/** SIGTERM to the process group, SIGKILL after a grace period. */
export async function stopTestee(testee, graceMs = 3000) {
  if (testee.child.exitCode !== null || testee.child.signalCode !== null) return;
  const kill = (sig) => {
    try {
      process.kill(-testee.child.pid, sig);
    } catch {
      // already gone
    }
  };
  kill('SIGTERM');
  const timer = setTimeout(() => kill('SIGKILL'), graceMs);
  await testee.exited;
  clearTimeout(timer);
}
