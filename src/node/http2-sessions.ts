/**
 * The client's HTTP/2 sessions for WebSockets (RFC 8441): one per origin and TLS options, shared by every WebSocket to
 * that origin. A session is ref'd while it carries a WebSocket or a handshake and unref'd when idle, so that an idle
 * session never keeps the process alive; it leaves the pool when it closes or the server sends GOAWAY.
 */
import * as http2 from 'node:http2';

interface Entry {
  session: http2.ClientHttp2Session;
  tls: Record<string, unknown>;
  /** Settles with the server's first SETTINGS: only then is SETTINGS_ENABLE_CONNECT_PROTOCOL known (RFC 8441 §3). */
  ready: Promise<http2.ClientHttp2Session>;
  /** WebSockets and handshakes using the session. */
  users: number;
  /** The server's SETTINGS have arrived. */
  settled: boolean;
}

/** A use of a session: ready once the server's SETTINGS arrived; release() exactly once when done (later calls are no-ops). */
export interface SessionLease {
  ready: Promise<http2.ClientHttp2Session>;
  release(): void;
}

const pool = new Map<string, Entry[]>();

/** TLS options are the same when every one is the same value (Buffers and functions by identity). */
function sameTls(a: Record<string, unknown>, b: Record<string, unknown>): boolean {
  const names = new Set([...Object.keys(a), ...Object.keys(b)]);
  for (const name of names) if (a[name] !== b[name]) return false;
  return true;
}

function forget(origin: string, entry: Entry): void {
  const list = pool.get(origin);
  const i = list?.indexOf(entry) ?? -1;
  if (i >= 0) list!.splice(i, 1);
  if (list?.length === 0) pool.delete(origin);
}

function open(origin: string, tls: Record<string, unknown>): Entry {
  const session = http2.connect(origin, tls);
  // eslint-disable-next-line prefer-const -- the promise's callbacks run after the entry exists
  let entry: Entry;
  const ready = new Promise<http2.ClientHttp2Session>((resolve, fail) => {
    session.once('remoteSettings', () => {
      entry.settled = true;
      resolve(session);
    });
    session.once('error', fail);
    session.once('close', () => fail(new Error(`the HTTP/2 session to ${origin} closed before its SETTINGS arrived`)));
  });
  ready.catch(() => {}); // a lease's holder handles it; the pool only forgets the entry
  entry = { session, tls, ready, users: 0, settled: false };
  // The streams' own errors reach their WebSockets; a session error must not be an uncaught one.
  session.on('error', () => {});
  session.once('close', () => forget(origin, entry));
  session.once('goaway', () => forget(origin, entry));
  return entry;
}

/** A session to origin ('https://host:port' or 'http://host:port') with these TLS options: an open one, or a new one. */
export function leaseSession(origin: string, tls: Record<string, unknown>): SessionLease {
  let list = pool.get(origin);
  let entry = list?.find((e) => !e.session.closed && !e.session.destroyed && sameTls(e.tls, tls));
  if (!entry) {
    entry = open(origin, tls);
    if (!list) pool.set(origin, (list = []));
    list.push(entry);
  }
  const used = entry;
  if (used.users++ === 0) used.session.ref();
  let released = false;
  return {
    ready: used.ready,
    release: () => {
      if (released) return;
      released = true;
      if (--used.users > 0) return;
      if (!used.settled)
        used.session.destroy(); // nobody waits for it any more
      else if (!used.session.destroyed) used.session.unref();
    },
  };
}
