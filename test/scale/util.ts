/**
 * Helpers for the scaling tests: a real redis-server per test (a child
 * process on a free port, no persistence), a TCP proxy that can cut a
 * connection path, child processes whose stdout is read line by line, and
 * `ws` clients that separate the servers' JSON replies from published
 * messages. Nothing sleeps: every timer is an upper bound that fails a wait.
 */
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { existsSync, statSync, readdirSync } from 'node:fs';
import * as net from 'node:net';
import * as os from 'node:os';
import { join } from 'node:path';
import WsClient from 'ws';

import { HOST, Queue, ROOT, freePort, withTimeout, withoutSanitizers } from '../kit/index.js';

export const FIXTURES = join(__dirname, 'fixtures');

// ---- the built package ---------------------------------------------------------

/**
 * The child processes run the built package (dist/, which `npm test` builds
 * first). Fails clearly when dist/scale is missing or older than src/scale.
 */
export function requireBuiltScale(): void {
  const src = join(ROOT, 'src/scale');
  const dist = join(ROOT, 'dist/scale');
  for (const file of readdirSync(src).filter((f) => f.endsWith('.ts'))) {
    const built = join(dist, file.replace(/\.ts$/, '.js'));
    if (!existsSync(built)) throw new Error(`${built} is missing: run \`npm run build:ts\` (npm test does it first)`);
    if (statSync(built).mtimeMs < statSync(join(src, file)).mtimeMs) {
      throw new Error(`${built} is older than src/scale/${file}: run \`npm run build:ts\` (npm test does it first)`);
    }
  }
}

// ---- redis-server ----------------------------------------------------------------

/** The redis-server binary (REDIS_SERVER, when set, is the only one tried), or null when it is not installed. */
export function findRedisServer(): string | null {
  const candidates = process.env.REDIS_SERVER ? [process.env.REDIS_SERVER] : ['redis-server', '/usr/bin/redis-server', '/usr/local/bin/redis-server'];
  for (const candidate of candidates) {
    const probe = spawnSync(candidate, ['--version'], { encoding: 'utf8', env: withoutSanitizers() });
    if (probe.status === 0 && /Redis server/i.test(probe.stdout)) return candidate;
  }
  return null;
}

/**
 * Whether the Redis tests can run. Outside CI a missing redis-server skips
 * them (with the reason in the suite name); in CI (process.env.CI) it is a
 * failure.
 */
export function redisAvailability(): { binary: string | null; skip: boolean; reason: string } {
  const binary = findRedisServer();
  if (binary) return { binary, skip: false, reason: '' };
  const reason = 'redis-server is not installed (apt-get install -y redis-server)';
  return { binary: null, skip: !process.env.CI, reason };
}

export interface RedisServer {
  readonly port: number;
  readonly url: string;
  /** Stops it (SIGKILL: a crash, SIGTERM: a shutdown) and waits for the exit. */
  stop(signal?: NodeJS.Signals): Promise<void>;
  /** Starts a fresh redis-server on the same port (after stop). */
  restart(): Promise<void>;
}

/** Starts redis-server on 127.0.0.1 (a free port unless given), without persistence; stopped after the test. */
export async function startRedis(defer: (fn: () => unknown) => void, binary: string, port?: number): Promise<RedisServer> {
  const p = port ?? (await freePort());
  let proc: ChildProcess | null = null;
  let exited: Promise<void> = Promise.resolve();

  const launch = async () => {
    const child = spawn(
      binary,
      ['--port', String(p), '--bind', HOST, '--save', '', '--appendonly', 'no', '--dir', os.tmpdir(), '--logfile', '', '--loglevel', 'notice'],
      { stdio: ['ignore', 'pipe', 'pipe'], env: withoutSanitizers() },
    );
    proc = child;
    exited = new Promise<void>((done) => child.once('exit', () => done()));
    let out = '';
    await withTimeout(
      new Promise<void>((ready, fail) => {
        const check = (chunk: Buffer) => {
          out += chunk.toString();
          if (/Ready to accept connections/i.test(out)) ready();
        };
        child.stdout!.on('data', check);
        child.stderr!.on('data', check);
        child.once('exit', (code) => fail(new Error(`redis-server exited with ${code} before it was ready:\n${out}`)));
        child.once('error', fail);
      }),
      10_000,
      `redis-server on port ${p} (output so far: ${JSON.stringify(out.slice(-300))})`,
    );
  };

  const stop = async (signal: NodeJS.Signals = 'SIGTERM') => {
    const child = proc;
    if (!child || child.exitCode !== null || child.signalCode !== null) return;
    child.kill(signal);
    await withTimeout(exited, 5000, 'redis-server exit').catch(async () => {
      child.kill('SIGKILL');
      await exited;
    });
  };

  await launch();
  defer(() => stop('SIGKILL'));
  return { port: p, url: `redis://${HOST}:${p}`, stop, restart: launch };
}

// ---- a TCP proxy that can cut the path ------------------------------------------

export interface Proxy {
  readonly port: number;
  /** Destroys every proxied connection and refuses new ones. */
  cut(): Promise<void>;
  /** Accepts connections again, on the same port. */
  restore(): Promise<void>;
  /** Holds back what the server sends (clients' bytes still pass): a client stays in its handshake. */
  hold(): void;
  /** Delivers what was held and stops holding. */
  release(): void;
  /** Resolves once n connections (counted from the start) have sent something. */
  talking(n: number): Promise<void>;
}

/** A TCP proxy from a local port to target; closed after the test. */
export async function startProxy(defer: (fn: () => unknown) => void, targetPort: number): Promise<Proxy> {
  const sockets = new Set<net.Socket>();
  const held: [net.Socket, Buffer][] = [];
  let holding = false;
  let talked = 0;
  const talkWaiters: [number, () => void][] = [];
  let server: net.Server | null = null;
  let port = 0;
  const listen = async () => {
    const s = net.createServer((client) => {
      const upstream = net.connect(targetPort, HOST);
      sockets.add(client).add(upstream);
      const drop = () => {
        client.destroy();
        upstream.destroy();
        sockets.delete(client);
        sockets.delete(upstream);
      };
      client.on('error', drop).on('close', drop);
      upstream.on('error', drop).on('close', drop);
      let spoke = false;
      client.on('data', (chunk: Buffer) => {
        upstream.write(chunk);
        if (!spoke) {
          spoke = true;
          talked++;
          for (const w of talkWaiters.filter(([n]) => talked >= n)) {
            talkWaiters.splice(talkWaiters.indexOf(w), 1);
            w[1]();
          }
        }
      });
      upstream.on('data', (chunk: Buffer) => (holding ? held.push([client, chunk]) : client.write(chunk)));
    });
    await new Promise<void>((done, fail) => {
      s.once('error', fail);
      s.listen(port, HOST, () => done());
    });
    server = s;
    port = (s.address() as net.AddressInfo).port;
  };
  const cut = async () => {
    const s = server;
    server = null;
    for (const socket of sockets) socket.destroy();
    sockets.clear();
    held.length = 0;
    if (s) await new Promise<void>((done) => s.close(() => done()));
  };
  await listen();
  defer(cut);
  return {
    get port() {
      return port;
    },
    cut,
    restore: listen,
    hold: () => void (holding = true),
    release() {
      holding = false;
      for (const [client, chunk] of held.splice(0)) if (!client.destroyed) client.write(chunk);
    },
    talking: (n) =>
      talked >= n ? Promise.resolve() : withTimeout(new Promise<void>((done) => talkWaiters.push([n, done])), 10_000, `${n} proxied connections talking`),
  };
}

// ---- clients ------------------------------------------------------------------------

/** `ws` ships no types here (test/shims.d.ts): its client, as used. */
export type WsSocket = InstanceType<typeof WsClient>;

export interface Received {
  data: Buffer;
  isBinary: boolean;
}

export interface Peer {
  client: WsSocket;
  /** The server's welcome: { welcome: name, pid, index?, transport }. */
  welcome: { welcome: string; pid: number; index?: number; transport?: string };
  /** Published messages (everything that is not a JSON reply), in order. */
  messages: Queue<Received>;
  /** The server's JSON replies ({"ok": ...}), in order. */
  replies: Queue<any>;
  closed: Promise<{ code: number; reason: string }>;
  /** Sends a JSON command and waits for its reply ({ ok: op }). */
  ask(command: Record<string, unknown>, ms?: number): Promise<any>;
  send(data: string | Buffer, binary?: boolean): void;
}

/**
 * A `ws` client; the fixtures' servers greet with {"welcome":...} and answer
 * JSON commands with {"ok":...}; every other message is a published one.
 * Published text in these tests never starts with '{"ok"' or '{"welcome"'.
 */
export async function peer(defer: (fn: () => unknown) => void, url: string, ms = 5000): Promise<Peer> {
  const client: WsSocket = new WsClient(url);
  defer(() => client.terminate());
  const messages = new Queue<Received>();
  const replies = new Queue<any>();
  let welcome!: (value: any) => void;
  const welcomed = new Promise<any>((done) => (welcome = done));
  client.on('message', (data: Buffer, isBinary: boolean) => {
    if (!isBinary && data.length > 0 && data[0] === 0x7b /* { */) {
      const text = data.toString();
      if (text.startsWith('{"welcome"')) return welcome(JSON.parse(text));
      if (text.startsWith('{"ok"')) return replies.push(JSON.parse(text));
    }
    messages.push({ data, isBinary });
  });
  const closed = new Promise<{ code: number; reason: string }>((done) =>
    client.once('close', (code: number, reason: Buffer) => done({ code, reason: reason.toString() })),
  );
  const failed = new Promise<never>((_, fail) => client.once('error', fail));
  failed.catch(() => {});
  await withTimeout(Promise.race([new Promise((done) => client.once('open', done)), failed]), ms, `connecting to ${url}`);
  const hello = await withTimeout(Promise.race([welcomed, failed]), ms, `welcome from ${url}`);
  return {
    client,
    welcome: hello,
    messages,
    replies,
    closed,
    send: (data, binary) => client.send(data, { binary: binary ?? typeof data !== 'string' }),
    async ask(command, ms2 = 10_000) {
      client.send(JSON.stringify(command));
      const reply = await replies.next(ms2, `reply to ${JSON.stringify(command).slice(0, 80)}`);
      if (reply.ok !== command.op) throw new Error(`expected the reply to ${command.op}, got ${JSON.stringify(reply)}`);
      return reply;
    },
  };
}

/** Text of the next n published messages. */
export async function texts(p: Peer, n: number, ms = 10_000): Promise<string[]> {
  return (await p.messages.take(n, ms, 'published messages')).map((m) => m.data.toString());
}
