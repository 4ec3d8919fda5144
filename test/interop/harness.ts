/**
 * The interop harness. A pair is wsbolt (server or client) and another
 * implementation, the peer. Every peer runs the same little program: echo
 * each message with its type, and obey commands sent as text "cmd:{json}"
 * (send a message in fragments, start the closing handshake) — in process
 * for `ws` and undici, as test/interop/peer.py for Python's `websockets`.
 * The same cases run on every pair, with permessage-deflate on and off, and
 * each outcome lands in the matrix.
 */
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { createRequire } from 'node:module';
import { afterAll, describe, expect, it } from 'vitest';
import { WebSocket as UndiciWebSocket } from 'undici';
import WsClient, { WebSocketServer } from 'ws';
import { type CloseCause, type WebSocket, connect, serve } from '../../src/index.js';
import { type Column, COLUMNS, Matrix } from './matrix.js';
import { type Child, HOST, Queue, type Received, start, withoutSanitizers, withTimeout } from '../kit/index.js';

/** A `ws` socket (the package ships no types; test/shims.d.ts makes it any). */
type WsSocket = InstanceType<typeof WsClient>;

export type Mode = 'on' | 'off';
export type Defer = (fn: () => unknown) => void;
export interface Closed {
  code: number;
  reason: string;
}

/** wsbolt's end of a connection. */
export interface Ours {
  ws: WebSocket;
  messages: Queue<Received>;
  closed: Promise<Closed & { cause: CloseCause }>;
}

/** The other implementation's end. */
export interface PeerEnd {
  /** The negotiated extensions as the peer sees them. */
  extensions: string;
  /** The close code and reason the peer reports. */
  closed: Promise<Closed>;
}

export interface Pair {
  name: string;
  /** Why the pair cannot run here (a missing program), or null. */
  missing: string | null;
  /** Whether the peer can send a message in several frames. */
  canFragment: boolean;
  /** defer: released after the test; suite: after the describe block (for peers shared by its tests). */
  open(mode: Mode, defer: Defer, suite: Defer): Promise<{ ours: Ours; peer: PeerEnd }>;
}

// ---- wsbolt's side ---------------------------------------------------------------------------------------------

function oursFor(): {
  state: Omit<Ours, 'ws'> & { ws: WebSocket | null };
  handler: { message(ws: WebSocket, data: Buffer, isBinary: boolean): void; close(ws: WebSocket, code: number, reason: string, cause: CloseCause): void };
} {
  let resolveClosed!: (value: Closed & { cause: CloseCause }) => void;
  const state = {
    ws: null as WebSocket | null,
    messages: new Queue<Received>(),
    closed: new Promise<Closed & { cause: CloseCause }>((r) => (resolveClosed = r)),
  };
  return {
    state,
    handler: {
      message: (_ws, data, isBinary) => state.messages.push({ data, isBinary }),
      close: (_ws, code, reason, cause) => resolveClosed({ code, reason, cause }),
    },
  };
}

/**
 * A wsbolt server on an ephemeral port; next() is the wsbolt end of the next
 * connection. Plain HTTP gets an empty page, which a browser peer loads
 * first (from about:blank, Chromium 156 fails the connection to 127.0.0.1).
 */
export async function ourServer(mode: Mode, defer: Defer): Promise<{ url: string; page: string; next(): Promise<Ours> }> {
  const ends = new Queue<Ours>();
  const byWs = new Map<WebSocket, ReturnType<typeof oursFor>>();
  const server = await serve({
    host: HOST,
    port: 0,
    perMessageDeflate: mode === 'on',
    http: (_req, res) => res.writeHead(200, { 'Content-Type': 'text/html' }).end('<!doctype html><title>interop peer</title>'),
    open(ws) {
      const end = oursFor();
      end.state.ws = ws;
      byWs.set(ws, end);
      ends.push(end.state as Ours);
    },
    message: (ws, data, isBinary) => byWs.get(ws)!.handler.message(ws, data, isBinary),
    close: (ws, code, reason, cause) => byWs.get(ws)!.handler.close(ws, code, reason, cause),
  });
  defer(() => server.close({ timeout: 500 }));
  return {
    url: `ws://${HOST}:${server.port}/`,
    page: `http://${HOST}:${server.port}/`,
    next: () => ends.next(10_000, 'the peer connecting to the wsbolt server'),
  };
}

/** The wsbolt client connected to url. */
export async function ourClient(url: string, mode: Mode, defer: Defer): Promise<Ours> {
  const end = oursFor();
  const ws = await connect(url, { perMessageDeflate: mode === 'on', ...end.handler });
  defer(() => ws.terminate());
  end.state.ws = ws;
  return end.state as Ours;
}

// ---- the peers ---------------------------------------------------------------------------------------------------

interface Command {
  op: 'fragments' | 'close';
  parts?: string[];
  binary?: boolean;
  code?: number;
  reason?: string;
}

const command = (data: Buffer | string, isBinary: boolean): Command | null => {
  if (isBinary) return null;
  const text = data.toString();
  return text.startsWith('cmd:') ? (JSON.parse(text.slice(4)) as Command) : null;
};

/** The peer program for a `ws` socket (client or server side). */
function obeyWs(socket: WsSocket): Promise<Closed> {
  socket.on('message', (data: Buffer, isBinary: boolean) => {
    const cmd = command(data, isBinary);
    if (!cmd) return socket.send(data, { binary: isBinary });
    if (cmd.op === 'close') return socket.close(cmd.code, cmd.reason);
    cmd.parts!.forEach((part, i) => socket.send(cmd.binary ? Buffer.from(part, 'hex') : part, { binary: !!cmd.binary, fin: i === cmd.parts!.length - 1 }));
  });
  socket.on('error', () => {}); // shows up as the close code
  return new Promise((resolve) => socket.on('close', (code: number, reason: Buffer) => resolve({ code, reason: reason.toString() })));
}

const require = createRequire(__filename);
export const wsVersion: string = require('ws/package.json').version;
export const undiciVersion: string = require('undici/package.json').version;

export async function wsClientPeer(url: string, defer: Defer): Promise<PeerEnd> {
  const socket = new WsClient(url, { perMessageDeflate: true, maxPayload: 1 << 24 });
  defer(() => socket.terminate());
  const closed = obeyWs(socket);
  await withTimeout(
    new Promise<void>((resolve, reject) => {
      socket.once('open', () => resolve());
      socket.once('error', reject);
    }),
    5000,
    'ws client opening',
  );
  return { extensions: socket.extensions, closed };
}

/** A `ws` server; next() is the peer end of the next connection. */
export async function wsServerPeer(defer: Defer): Promise<{ url: string; next(): Promise<PeerEnd> }> {
  const server = new WebSocketServer({ host: HOST, port: 0, perMessageDeflate: true, maxPayload: 1 << 24 });
  const ends = new Queue<PeerEnd>();
  server.on('connection', (socket: WsSocket) => ends.push({ extensions: socket.extensions, closed: obeyWs(socket) }));
  defer(
    () =>
      new Promise<void>((resolve) => {
        for (const socket of server.clients) socket.terminate();
        server.close(() => resolve());
      }),
  );
  await new Promise<void>((resolve) => server.once('listening', () => resolve()));
  return { url: `ws://${HOST}:${(server.address() as { port: number }).port}/`, next: () => ends.next(10_000, 'the wsbolt client reaching the ws server') };
}

/** undici's WHATWG WebSocket (Node's global WebSocket from Node 22 on). It always offers permessage-deflate and cannot send fragments. */
export async function undiciPeer(url: string, defer: Defer): Promise<PeerEnd> {
  const socket = new UndiciWebSocket(url);
  socket.binaryType = 'arraybuffer';
  defer(() => {
    if (socket.readyState < 2) socket.close();
  });
  socket.addEventListener('message', (event) => {
    const data = event.data as string | ArrayBuffer;
    const cmd = typeof data === 'string' ? command(data, false) : null;
    if (!cmd) return socket.send(data);
    if (cmd.op === 'close') socket.close(cmd.code, cmd.reason);
  });
  const closed = new Promise<Closed>((resolve) => socket.addEventListener('close', (event) => resolve({ code: event.code, reason: event.reason })));
  await withTimeout(
    new Promise<void>((resolve, reject) => {
      socket.addEventListener('open', () => resolve());
      socket.addEventListener('error', () => reject(new Error('undici WebSocket error')));
    }),
    5000,
    'undici WebSocket opening',
  );
  return { extensions: socket.extensions, closed };
}

// Debian's interpreter: python3 on PATH may be another one (pyenv) without the package.
export const PYTHON = '/usr/bin/python3';
const probe = spawnSync(PYTHON, ['-c', 'import websockets; print(websockets.__version__)'], { encoding: 'utf8', env: withoutSanitizers() });
export const pythonWebsockets: { version: string; missing: string | null } =
  probe.status === 0
    ? { version: probe.stdout.trim(), missing: null }
    : {
        version: '?',
        missing: `${PYTHON} cannot import websockets (apt-get install python3-websockets): ${(probe.error?.message ?? probe.stderr).trim().split('\n').at(-1)}`,
      };

/**
 * One peer.py process serves every test of a describe block (a Python start
 * costs about half a second); it numbers its connections, so each test reads
 * only its own connection's events.
 */
class PythonPeer {
  private opened = 0;

  constructor(readonly child: Child) {}

  static async start(role: 'client' | 'server', suite: Defer): Promise<PythonPeer> {
    // The peer offers (client) or accepts (server) compression in both modes: with 'off', wsbolt is the side that declines.
    return new PythonPeer(start(suite, ['test/interop/peer.py', role, 'on'], { command: PYTHON }));
  }

  async event(name: string, conn?: number, ms = 10_000): Promise<Record<string, any>> {
    const match = await this.child.waitFor(new RegExp(`^\\{"event": "${name}"${conn === undefined ? '' : `, "conn": ${conn},`}`), ms);
    return JSON.parse(match.input!);
  }

  /** The peer end of the next connection the process opens. */
  async next(): Promise<PeerEnd> {
    const conn = ++this.opened;
    const open = await this.event('open', conn);
    const closed = this.event('closed', conn, 15_000).then((e) => ({ code: e.code as number, reason: e.reason as string }));
    closed.catch(() => {}); // only the close cases wait for it; elsewhere the process may be gone first
    return { extensions: (open.extensions as string[]).join(', '), closed };
  }
}

/** Runs factory once per describe block (suite), with the first call's arguments; its resources are released with the block. */
export function perSuite<A extends unknown[], T>(factory: (suite: Defer, ...args: A) => Promise<T>): (suite: Defer, ...args: A) => Promise<T> {
  let shared: Promise<T> | null = null;
  return (suite, ...args) => {
    if (!shared) {
      shared = factory(suite, ...args);
      suite(() => (shared = null));
    }
    return shared;
  };
}

/** Python clients: one process per describe block, told on stdin where to connect. */
export function pythonClientPeers(): (url: string, suite: Defer) => Promise<PeerEnd> {
  const process = perSuite((suite) => PythonPeer.start('client', suite));
  return async (url, suite) => {
    const peer = await process(suite);
    peer.child.proc.stdin!.write(`${url}\n`);
    return peer.next();
  };
}

/** A Python server per describe block. */
export function pythonServerPeers(): (suite: Defer) => Promise<{ url: string; next(): Promise<PeerEnd> }> {
  const process = perSuite(async (suite) => {
    const peer = await PythonPeer.start('server', suite);
    const { port } = await peer.event('listening');
    return { url: `ws://${HOST}:${port}/`, next: () => peer.next() };
  });
  return process;
}

// ---- the cases ----------------------------------------------------------------------------------------------------

const textOf = (m: Received) => ({ text: m.data.toString(), isBinary: m.isBinary });

async function echoes(ours: Ours, data: string | Buffer, what: string): Promise<void> {
  const binary = typeof data !== 'string';
  ours.ws.send(data, { binary });
  const back = await ours.messages.next(15_000, `the echo of ${what}`);
  expect(back.isBinary, `${what}: message type`).toBe(binary);
  if (binary) expect(back.data.equals(data as Buffer), `${what}: ${back.data.length} bytes back, ${(data as Buffer).length} sent, equal bytes`).toBe(true);
  else expect(back.data.toString(), what).toBe(data);
}

type Case = (ours: Ours, peer: PeerEnd, mode: Mode) => Promise<void>;

const CASES: Record<Column, Case> = {
  async deflate(ours, peer, mode) {
    const want = mode === 'on';
    expect(ours.ws.extensions.includes('permessage-deflate'), `wsbolt's extensions: ${JSON.stringify(ours.ws.extensions)}`).toBe(want);
    expect(peer.extensions.includes('permessage-deflate'), `the peer's extensions: ${JSON.stringify(peer.extensions)}`).toBe(want);
    await echoes(ours, 'compressible '.repeat(500), 'a 6.5 KB text');
  },
  async text(ours) {
    await echoes(ours, 'héllo wörld ✓ 🎉', 'a short text');
    await echoes(ours, '', 'an empty text');
    await echoes(ours, 'lorem ipsum dolor sit amet '.repeat(2500), 'a 67 KB text');
  },
  async binary(ours) {
    await echoes(ours, Buffer.from(Array.from({ length: 256 }, (_, i) => i)), 'bytes 0..255');
    await echoes(ours, Buffer.alloc(0), 'an empty binary message');
    await echoes(ours, randomBytes(70_000), '70 KB of random bytes');
  },
  async 'fragments out'(ours) {
    // '✓' (3 bytes) starts at byte 10: the second fragment ends inside it.
    const text = Buffer.from('frag-ment ✓ done');
    const cuts = [0, 5, 11, text.length];
    for (let i = 0; i < 3; i++) ours.ws.send(text.subarray(cuts[i], cuts[i + 1]), { binary: false, fin: i === 2 });
    expect(textOf(await ours.messages.next(5000, 'the echo of a fragmented text'))).toEqual({ text: 'frag-ment ✓ done', isBinary: false });
    const bytes = randomBytes(3000);
    ours.ws.send(bytes.subarray(0, 1000), { fin: false });
    ours.ws.send(bytes.subarray(1000, 1001), { fin: false });
    ours.ws.send(bytes.subarray(1001));
    const back = await ours.messages.next(5000, 'the echo of a fragmented binary message');
    expect(back.isBinary).toBe(true);
    expect(back.data.equals(bytes)).toBe(true);
  },
  async 'fragments in'(ours) {
    ours.ws.send(`cmd:${JSON.stringify({ op: 'fragments', parts: ['frag-', 'ment', 'ed ✓'] })}`);
    expect(textOf(await ours.messages.next(5000, 'a text in 3 fragments'))).toEqual({ text: 'frag-mented ✓', isBinary: false });
    const big = 'x'.repeat(5000);
    ours.ws.send(`cmd:${JSON.stringify({ op: 'fragments', parts: ['0102', '', '03', Buffer.from(big).toString('hex')], binary: true })}`);
    const back = await ours.messages.next(5000, 'a binary message in 4 fragments, one empty');
    expect(back.isBinary).toBe(true);
    expect(back.data.equals(Buffer.concat([Buffer.from([1, 2, 3]), Buffer.from(big)]))).toBe(true);
  },
  async '1 MiB'(ours) {
    await echoes(ours, randomBytes(1 << 20), '1 MiB of random bytes');
    await echoes(ours, '{"id":12345,"text":"wsbolt interop"}\n'.repeat(29_128).slice(0, 1 << 20), '1 MiB of compressible text');
  },
  async 'close by wsbolt'(ours, peer) {
    ours.ws.close(4001, 'bye from wsbolt');
    expect(await withTimeout(peer.closed, 10_000, 'the peer seeing the close')).toEqual({ code: 4001, reason: 'bye from wsbolt' });
    const closed = await withTimeout(ours.closed, 10_000, 'wsbolt finishing the close');
    expect({ code: closed.code, kind: closed.cause.kind }).toEqual({ code: 4001, kind: 'local' });
  },
  async 'close by peer'(ours, peer) {
    ours.ws.send(`cmd:${JSON.stringify({ op: 'close', code: 4002, reason: 'bye from peer' })}`);
    const closed = await withTimeout(ours.closed, 10_000, 'wsbolt seeing the close');
    expect({ code: closed.code, reason: closed.reason, kind: closed.cause.kind }).toEqual({ code: 4002, reason: 'bye from peer', kind: 'remote' });
    expect((await withTimeout(peer.closed, 10_000, 'the peer finishing the close')).code).toBe(4002);
  },
};

/**
 * Declares a describe per pair and mode and a test per case; outcomes go to
 * the matrix, written after the file. A pair whose peer is missing is skipped
 * with a note, except in CI (process.env.CI), where it fails.
 */
export function runMatrix(source: string, pairs: Pair[], defer: Defer): void {
  const matrix = new Matrix(source);
  afterAll(() => {
    const table = matrix.write();
    console.log(`interop matrix (${source}, ${process.env.WSBOLT_EXPECT_BACKEND ?? 'native'}), also in test/interop/artifacts/matrix.md:\n${table}`);
  });
  for (const pair of pairs) {
    if (pair.missing && !process.env.CI) console.warn(`skipping ${pair.name}: ${pair.missing}`);
    for (const mode of ['on', 'off'] as const) {
      const row = `${pair.name}, deflate ${mode}`;
      matrix.row(row);
      describe(row, () => {
        const suiteCleanups: (() => unknown)[] = [];
        const suite: Defer = (fn) => void suiteCleanups.push(fn);
        afterAll(async () => {
          for (const fn of suiteCleanups.splice(0).reverse()) await withTimeout(Promise.resolve().then(fn), 10_000, 'suite cleanup').catch(() => {});
        });
        for (const column of COLUMNS) {
          if (column === 'fragments in' && !pair.canFragment) {
            matrix.set(row, column, 'n/a');
            continue;
          }
          const skip = pair.missing !== null && !process.env.CI;
          if (skip) matrix.set(row, column, 'skipped');
          (skip ? it.skip : it)(column, async () => {
            matrix.set(row, column, 'fail');
            if (pair.missing) throw new Error(`${pair.name} cannot run: ${pair.missing}`);
            const { ours, peer } = await pair.open(mode, defer, suite);
            await CASES[column](ours, peer, mode);
            matrix.set(row, column, 'pass');
          });
        }
      });
    }
  }
}
