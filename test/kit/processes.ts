/**
 * Child processes for tests: a program (a node script by default) whose
 * stdout is read line by line, killed after the test whatever happens; and
 * the environment for programs that are not Node running wsbolt.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import * as path from 'node:path';
import { withTimeout } from './wait.js';

/** The repository root (no trailing slash). */
export const ROOT = path.resolve(__dirname, '../..');

/**
 * The environment for a program that is not Node running wsbolt (Chromium,
 * Python, redis-server): env without the sanitizer runtime that
 * `npm run test:asan` preloads into this process and its Node children
 * (which need it to load the instrumented addon). Outside that run, env as is.
 */
export function withoutSanitizers(env: NodeJS.ProcessEnv = process.env): NodeJS.ProcessEnv {
  const out = { ...env };
  const kept = (env.LD_PRELOAD ?? '').split(/[\s:]+/).filter((lib) => lib && !/libasan|libclang_rt\.asan/.test(lib));
  if (kept.length) out.LD_PRELOAD = kept.join(':');
  else delete out.LD_PRELOAD;
  delete out.ASAN_OPTIONS;
  delete out.UBSAN_OPTIONS;
  return out;
}

export interface Child {
  proc: ChildProcess;
  /** Every stdout line so far. */
  lines: string[];
  stderr(): string;
  /** Resolves with the exit code (or signal) once the process is gone. */
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  readonly alive: boolean;
  /** The first line from index `from` on that matches; rejects if the process exits first or after ms. */
  waitFor(pattern: RegExp, ms?: number, from?: number): Promise<RegExpMatchArray>;
  /** Sends signal and waits for the exit (SIGKILL after ms). */
  stop(signal?: NodeJS.Signals, ms?: number): Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

/**
 * Starts a program (node with args by default) in the repository root with
 * the test's environment (so WSBOLT_NO_NATIVE reaches it) plus env;
 * registered with defer so it is killed after the test whatever happens.
 */
export function start(defer: (fn: () => unknown) => void, args: string[], options: { env?: Record<string, string>; command?: string } = {}): Child {
  const command = options.command ?? process.execPath;
  const script = args.find((a) => !a.startsWith('-'));
  if (!options.command && script && !existsSync(path.resolve(ROOT, script))) throw new Error(`no such script: ${script}`);
  // A program other than node (options.command: Python) never loads the addon: no sanitizer runtime for it.
  const base = options.command ? withoutSanitizers() : process.env;
  const proc = spawn(command, args, { cwd: ROOT, env: { ...base, ...options.env }, stdio: ['pipe', 'pipe', 'pipe'] });
  const lines: string[] = [];
  let err = '';
  let partial = '';
  const listeners = new Set<() => void>();
  proc.stdout!.setEncoding('utf8');
  proc.stdout!.on('data', (chunk: string) => {
    const parts = (partial + chunk).split('\n');
    partial = parts.pop()!;
    lines.push(...parts.map((l) => l.replace(/\r$/, '')));
    for (const listener of listeners) listener();
  });
  proc.stderr!.setEncoding('utf8');
  proc.stderr!.on('data', (chunk: string) => (err += chunk));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => {
    proc.once('error', (error) => {
      err += String(error);
      resolve({ code: null, signal: null });
    });
    proc.once('exit', (code, signal) => resolve({ code, signal }));
  });
  let gone = false;
  void exited.then(() => {
    gone = true;
    if (partial) lines.push(partial);
    partial = '';
    for (const listener of listeners) listener();
  });
  const name = script ? path.basename(script) : command;

  const child: Child = {
    proc,
    lines,
    stderr: () => err,
    exited,
    get alive() {
      return !gone;
    },
    waitFor(pattern, ms = 10_000, from = 0) {
      let check: () => void = () => {};
      return withTimeout(
        new Promise<RegExpMatchArray>((resolve, reject) => {
          check = () => {
            for (let i = from; i < lines.length; i++) {
              const m = lines[i]!.match(pattern);
              if (m) {
                listeners.delete(check);
                return resolve(m);
              }
            }
            if (gone) {
              listeners.delete(check);
              reject(new Error(`${name} exited before printing ${pattern}\nstdout:\n${lines.join('\n')}\nstderr:\n${err}`));
            }
          };
          listeners.add(check);
          check();
        }),
        ms,
        `${name} printing ${pattern} (stdout so far: ${JSON.stringify(lines.slice(-8))}, stderr: ${JSON.stringify(err.slice(-800))})`,
      ).finally(() => listeners.delete(check));
    },
    async stop(signal = 'SIGTERM', ms = 8000) {
      if (!gone) proc.kill(signal);
      try {
        return await withTimeout(exited, ms, `${name} exiting on ${signal}`);
      } catch (error) {
        proc.kill('SIGKILL');
        await exited;
        throw error;
      }
    },
  };
  defer(async () => {
    if (!gone) {
      proc.kill('SIGKILL');
      await exited;
    }
  });
  return child;
}
