/**
 * Closing, terminating or publishing from inside every callback while the transport is in the middle of a batch:
 * several frames arrive in one read (with the upgrade request, and again later), and several connections become
 * readable in the same loop turn. Nothing may crash, no callback may reach a connection after its close, and the
 * close codes are the ones asked for. Runs on every transport (the native one delivers a read's frames in one go).
 */
import { describe, expect, it } from 'vitest';
import type { WebSocket } from '../../src/index.js';
import { RawClient, Queue, closePayload, frame, rawConnect, startServer, useCleanup, withTimeout } from '../kit/index.js';

const defer = useCleanup();

const CALLBACKS = ['open', 'message', 'ping', 'pong', 'drain', 'close'] as const;
const ACTIONS = ['close', 'terminate', 'publish'] as const;
type Callback = (typeof CALLBACKS)[number];
type Action = (typeof ACTIONS)[number];

const CLIENTS = 4;
/** Text, ping, unsolicited pong, binary, text: five frames in one write. */
const batch = (tag: string) =>
  Buffer.concat([
    frame({ opcode: 1, payload: Buffer.from(`${tag}-a`), mask: true }),
    frame({ opcode: 9, payload: Buffer.from('p'), mask: true }),
    frame({ opcode: 10, payload: Buffer.from('q'), mask: true }),
    frame({ opcode: 2, payload: Buffer.from([1, 2, 3]), mask: true }),
    frame({ opcode: 1, payload: Buffer.from(`${tag}-b`), mask: true }),
  ]);

/** Answers the server's close frame with the same code, as a well-behaved client does; null when none came. */
async function answerClose(raw: RawClient): Promise<number | null> {
  const closing = raw.nextOf(8, 10_000).then(({ frame: f }) => f);
  closing.catch(() => {});
  // A terminated connection ends without a close frame: the socket's close settles the wait.
  const gone = raw.closed.then(() => (raw.frames.items.find((f) => f.opcode === 8) ?? null) as Awaited<typeof closing> | null);
  const f = await Promise.race([closing, gone]);
  if (!f) return null;
  const { code } = closePayload(f.payload);
  if (!raw.socket.destroyed) raw.sendClose(code === 1005 ? undefined : code);
  return code;
}

describe.each(CALLBACKS)('from inside %s', (callback: Callback) => {
  it.each(ACTIONS)('%s mid-batch: no crash, nothing after close, the expected close codes', async (action: Action) => {
    const log = new Map<WebSocket, string[]>();
    const closes = new Queue<{ ws: WebSocket; code: number }>();
    const errors: unknown[] = [];
    let acted = 0;
    const act = (name: Callback, ws: WebSocket) => {
      const events = log.get(ws)!;
      if (events.includes('close') && name !== 'close') errors.push(new Error(`${name} after close`));
      events.push(name);
      if (name !== callback) return;
      acted++;
      if (action === 'close') ws.close(4000, 'from ' + name);
      else if (action === 'terminate') ws.terminate();
      else ws.publish('t', `pub from ${name}`);
    };
    const server = await startServer(defer, {
      closeTimeout: 5000,
      open(ws) {
        log.set(ws, []);
        ws.subscribe('t');
        // Over the high-water mark: drain follows once the kernel took it.
        if (callback === 'drain') ws.send(Buffer.alloc(1 << 20));
        act('open', ws);
      },
      message: (ws) => act('message', ws),
      ping: (ws) => act('ping', ws),
      pong: (ws) => act('pong', ws),
      drain: (ws) => act('drain', ws),
      close(ws, code) {
        act('close', ws);
        closes.push({ ws, code });
      },
      error: (_ws, error) => void errors.push(error),
    });

    // The first batch rides with the upgrade request; the second reaches every connection in the same loop turn.
    const clients = await Promise.all(Array.from({ length: CLIENTS }, (_, i) => rawConnect(defer, server.port, { after: batch(`c${i}`) })));
    const answered = clients.map((raw) => answerClose(raw));
    for (const raw of clients) raw.socket.write(batch('again'));

    if (action === 'publish' || callback === 'close') {
      // The connections stay open: close them from the client side now.
      await withTimeout(new Promise((resolve) => setImmediate(resolve)));
      for (const raw of clients) raw.sendClose(1000);
    }
    const ended = await closes.take(CLIENTS, 10_000, 'server close callbacks');
    await Promise.all(clients.map((raw) => withTimeout(raw.closed, 10_000, 'client socket closed')));
    const codes = ended.map((e) => e.code);
    if (action === 'terminate' && callback !== 'close') expect(codes).toEqual(Array(CLIENTS).fill(1006));
    else if (action === 'close' && callback !== 'close') expect(codes).toEqual(Array(CLIENTS).fill(4000));
    else expect(codes).toEqual(Array(CLIENTS).fill(1000));
    const received = await Promise.all(answered);
    if (action === 'terminate' && callback !== 'close') expect(received.every((code) => code === null)).toBe(true);
    expect(acted).toBeGreaterThanOrEqual(CLIENTS);
    expect(errors).toEqual([]);
    for (const events of log.values()) expect(events.indexOf('close')).toBe(events.length - 1);
    expect(server.connections.size).toBe(0);
  });
});
