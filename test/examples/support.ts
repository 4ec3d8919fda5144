/**
 * Helpers shared by the example, browser and interop tests: bounded waits,
 * a queue with an awaitable next(), cleanups run after every test, and child
 * processes whose stdout is read line by line. Nothing here sleeps: every
 * timer is an upper bound that fails the wait.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import * as net from 'node:net';
import * as path from 'node:path';
import WsClient from 'ws';

/** A `ws` socket (the package ships no types; test/shims.d.ts makes it any). */
export type WsSocket = InstanceType<typeof WsClient>;

export const HOST = '127.0.0.1';
export const ROOT = `${path.resolve(__dirname, '../..')}/`;

import { Queue, withTimeout, withoutSanitizers } from '../support.js';
export { Queue, withTimeout };


import { useCleanup } from '../support.js';
export { useCleanup };

/** A port that was free a moment ago (for a server that must come up later on a known port). */
export async function freePort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, HOST, resolve));
  const { port } = server.address() as net.AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

export interface Child {
  proc: ChildProcess;
  /** Every stdout line so far. */
  lines: string[];
  stderr(): string;
  /** Resolves with the exit code (or signal) once the process is gone. */
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  /** The first line from index `from` on that matches; rejects if the process exits first or after ms. */
  waitFor(pattern: RegExp, ms?: number, from?: number): Promise<RegExpMatchArray>;
  /** Sends signal and waits for the exit (SIGKILL after ms). */
  stop(signal?: NodeJS.Signals, ms?: number): Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

/**
 * Starts a program (node script by default) in the repository root with the
 * test's environment (so WSBOLT_NO_NATIVE reaches it) plus env; registered
 * with defer so it is killed after the test whatever happens.
 */
export function start(defer: (fn: () => unknown) => void, args: string[], options: { env?: Record<string, string>; command?: string } = {}): Child {
  const command = options.command ?? process.execPath;
  if (!options.command && !existsSync(`${ROOT}/${args[0]}`)) throw new Error(`no such script: ${args[0]}`);
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
  const name = args.find((a) => !a.startsWith('-')) ?? command;

  const child: Child = {
    proc,
    lines,
    stderr: () => err,
    exited,
    waitFor(pattern, ms = 10_000, from = 0) {
      return withTimeout(
        new Promise<RegExpMatchArray>((resolve, reject) => {
          const check = () => {
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
        `${name} printing ${pattern} (stdout so far: ${JSON.stringify(lines.slice(-5))}, stderr: ${JSON.stringify(err.slice(-500))})`,
      );
    },
    async stop(signal = 'SIGTERM', ms = 5000) {
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

export interface Received {
  data: Buffer;
  isBinary: boolean;
}

export interface WsPeer {
  client: WsSocket;
  messages: Queue<Received>;
  /** Text messages parsed as JSON, in order (binary ones are left out). */
  json: Queue<any>;
  closed: Promise<{ code: number; reason: string }>;
}

/** A `ws` client, open, its messages queued and its close awaited; terminated after the test. */
export async function wsConnect(defer: (fn: () => unknown) => void, url: string, options: Record<string, unknown> = {}): Promise<WsPeer> {
  const client = new WsClient(url, options);
  defer(() => client.terminate());
  const messages = new Queue<Received>();
  const json = new Queue<any>();
  client.on('message', (data: Buffer, isBinary: boolean) => {
    messages.push({ data, isBinary });
    if (!isBinary) {
      try {
        json.push(JSON.parse(data.toString()));
      } catch {
        // not JSON: only in messages
      }
    }
  });
  client.on('error', () => {}); // reported through the open wait below or the close code
  const closed = new Promise<{ code: number; reason: string }>((resolve) => client.on('close', (code: number, reason: Buffer) => resolve({ code, reason: reason.toString() })));
  await withTimeout(
    new Promise<void>((resolve, reject) => {
      client.once('open', () => resolve());
      client.once('error', reject);
      client.once('unexpected-response', (_req: unknown, res: { statusCode: number }) => reject(new Error(`unexpected response ${res.statusCode}`)));
    }),
    5000,
    `connect ${url}`,
  );
  return { client, messages, json, closed };
}
