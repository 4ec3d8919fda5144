/**
 * Protocol violations, compared with ws: a raw peer sends a broken frame;
 * the WebSocket must emit 'error' (same class, WS_ERR_* code and message,
 * readyState CLOSING) and then 'close' with 1006, and send the peer a close
 * frame with the same status code.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { cleanup, closePayload, defer, frame, type FrameSpec, once, rawConnect, withTimeout } from '../kit/index.js';
import { type Impl, rawServer, record, sameForBoth, startServer } from './util.js';

afterEach(cleanup);

const masked = (spec: FrameSpec): FrameSpec => ({ mask: true, ...spec });

interface Case {
  name: string;
  frames: FrameSpec[];
  code: string;
  status: number;
  /** ws's message has a detail wsbolt cannot know; compare everything else. */
  skipMessage?: boolean;
  options?: Record<string, unknown>;
}

const serverCases: Case[] = [
  { name: 'an unmasked frame', frames: [{ opcode: 1, payload: 'hi' }], code: 'WS_ERR_EXPECTED_MASK', status: 1002 },
  {
    name: 'invalid UTF-8 in a text message',
    frames: [masked({ opcode: 1, payload: Buffer.from([0x68, 0xff, 0x69]) })],
    code: 'WS_ERR_INVALID_UTF8',
    status: 1007,
  },
  {
    name: 'invalid UTF-8 split across fragments',
    frames: [masked({ opcode: 1, fin: false, payload: Buffer.from([0xe2, 0x82]) }), masked({ opcode: 0, payload: Buffer.from([0x28]) })],
    code: 'WS_ERR_INVALID_UTF8',
    status: 1007,
  },
  { name: 'RSV1 without an extension', frames: [masked({ opcode: 1, rsv: 0x40, payload: 'x' })], code: 'WS_ERR_UNEXPECTED_RSV_1', status: 1002 },
  { name: 'RSV2', frames: [masked({ opcode: 2, rsv: 0x20, payload: 'x' })], code: 'WS_ERR_UNEXPECTED_RSV_2_3', status: 1002 },
  { name: 'a reserved opcode', frames: [masked({ opcode: 3, payload: 'x' })], code: 'WS_ERR_INVALID_OPCODE', status: 1002 },
  { name: 'a continuation without a message', frames: [masked({ opcode: 0, payload: 'x' })], code: 'WS_ERR_INVALID_OPCODE', status: 1002 },
  {
    name: 'a new message while one is fragmented',
    frames: [masked({ opcode: 1, fin: false, payload: 'a' }), masked({ opcode: 2, payload: 'b' })],
    code: 'WS_ERR_INVALID_OPCODE',
    status: 1002,
  },
  { name: 'a fragmented ping', frames: [masked({ opcode: 9, fin: false, payload: 'x' })], code: 'WS_ERR_EXPECTED_FIN', status: 1002 },
  {
    name: 'a ping over 125 bytes',
    frames: [masked({ opcode: 9, payload: Buffer.alloc(126), lengthForm: 16 })],
    code: 'WS_ERR_INVALID_CONTROL_PAYLOAD_LENGTH',
    status: 1002,
  },
  { name: 'a 1-byte close payload', frames: [masked({ opcode: 8, payload: Buffer.from([3]) })], code: 'WS_ERR_INVALID_CONTROL_PAYLOAD_LENGTH', status: 1002 },
  { name: 'close code 1005 on the wire', frames: [masked({ opcode: 8, payload: Buffer.from([0x03, 0xed]) })], code: 'WS_ERR_INVALID_CLOSE_CODE', status: 1002 },
  {
    name: 'a close reason that is not UTF-8',
    frames: [masked({ opcode: 8, payload: Buffer.from([0x03, 0xe8, 0xff]) })],
    code: 'WS_ERR_INVALID_UTF8',
    status: 1007,
  },
  {
    name: 'a message over maxPayload (declared length)',
    frames: [masked({ opcode: 2, payload: Buffer.alloc(200), lengthForm: 16 })],
    code: 'WS_ERR_UNSUPPORTED_MESSAGE_LENGTH',
    status: 1009,
    options: { maxPayload: 100 },
  },
  {
    name: 'fragments adding up over maxPayload',
    frames: [masked({ opcode: 2, fin: false, payload: Buffer.alloc(60) }), masked({ opcode: 0, payload: Buffer.alloc(60) })],
    code: 'WS_ERR_UNSUPPORTED_MESSAGE_LENGTH',
    status: 1009,
    options: { maxPayload: 100 },
  },
];

async function serverScenario(impl: Impl, c: Case) {
  const server = await startServer(impl, c.options ?? {});
  const next = server.nextConnection();
  const raw = await rawConnect(defer, server.port);
  const [s] = await next;
  const rec = record(s);
  for (const f of c.frames) raw.send({ mask: false, ...f });
  const closeFrame = await raw.frames.next();
  await rec.closed;
  await withTimeout(raw.closed, 5000, 'raw socket close');
  const events = rec.events.map((e) => (e.event === 'error' && c.skipMessage ? { ...e, message: '<detail>' } : e));
  return { events, peerGot: { opcode: closeFrame.opcode, ...closePayload(closeFrame.payload) } };
}

describe('the server side of a broken frame', () => {
  for (const c of serverCases) {
    it(`${c.name}: error ${c.code}, close frame ${c.status}, close 1006`, async () => {
      const trace = await sameForBoth((impl) => serverScenario(impl, c));
      expect(trace.events.map((e) => e.event)).toEqual(['error', 'close']);
      expect(trace.events[0]).toMatchObject({ code: c.code, readyState: 2 });
      expect(trace.events[1]).toMatchObject({ code: 1006, reason: '' });
      expect(trace.peerGot).toEqual({ opcode: 8, code: c.status, reason: '' });
    });
  }

  it('skipUTF8Validation: invalid UTF-8 is delivered', async () => {
    await sameForBoth(async (impl) => {
      const server = await startServer(impl, { skipUTF8Validation: true });
      const next = server.nextConnection();
      const raw = await rawConnect(defer, server.port);
      const [s] = await next;
      const got = once(s, 'message');
      raw.send(masked({ opcode: 1, payload: Buffer.from([0xff, 0xfe]) }));
      const [data, isBinary] = await got;
      return { data: data.toString('hex'), isBinary };
    });
  });

  it('messages before the broken frame are delivered first', async () => {
    const trace = await sameForBoth(async (impl) => {
      const server = await startServer(impl);
      const next = server.nextConnection();
      const raw = await rawConnect(defer, server.port);
      const [s] = await next;
      const rec = record(s);
      raw.socket.write(
        Buffer.concat([
          frame(masked({ opcode: 1, payload: 'first' })),
          frame(masked({ opcode: 9, payload: 'ping' })),
          frame(masked({ opcode: 1, payload: Buffer.from([0xc0]) })),
          frame(masked({ opcode: 1, payload: 'never' })),
        ]),
      );
      await rec.closed;
      const frames = raw.frames.items.map((f) => ({ opcode: f.opcode, payload: f.payload.toString('hex') }));
      return { events: rec.events, frames };
    });
    expect(trace.events.map((e) => e.event)).toEqual(['message', 'ping', 'error', 'close']);
  });
});

describe('the client side of a broken frame', () => {
  const clientCases: { name: string; frame: FrameSpec; code: string; options?: Record<string, unknown> }[] = [
    { name: 'a masked frame from the server', frame: { opcode: 1, payload: 'x', mask: true }, code: 'WS_ERR_UNEXPECTED_MASK' },
    { name: 'invalid UTF-8', frame: { opcode: 1, payload: Buffer.from([0xff]) }, code: 'WS_ERR_INVALID_UTF8' },
    { name: 'a reserved opcode', frame: { opcode: 0xb, payload: 'x' }, code: 'WS_ERR_INVALID_OPCODE' },
    {
      name: 'a message over maxPayload',
      frame: { opcode: 2, payload: Buffer.alloc(50) },
      code: 'WS_ERR_UNSUPPORTED_MESSAGE_LENGTH',
      options: { maxPayload: 10 },
    },
  ];
  for (const c of clientCases) {
    it(`${c.name}: error ${c.code}, then close 1006; the server gets the close frame`, async () => {
      const trace = await sameForBoth(async (impl) => {
        const got: Buffer[] = [];
        const gotClose = new Promise<Buffer>((resolve) => {
          void rawServer((socket) => {
            socket.write(frame(c.frame));
            socket.on('data', (chunk: Buffer) => {
              got.push(chunk);
              const all = Buffer.concat(got);
              if (all.length >= 2 && all.length >= 6 + (all[1]! & 0x7f)) {
                // a masked close frame from the client: unmask its payload
                const len = all[1]! & 0x7f;
                const key = all.subarray(2, 6);
                const payload = Buffer.from(all.subarray(6, 6 + len));
                for (let i = 0; i < len; i++) payload[i] = payload[i]! ^ key[i & 3]!;
                resolve(Buffer.concat([Buffer.from([all[0]!]), payload]));
              }
            });
          }).then(({ url }) => {
            const socket = new impl.WebSocket(url, [], c.options ?? {});
            rec = record(socket);
          });
        });
        let rec!: ReturnType<typeof record>;
        const closeFrame = await withTimeout(gotClose, 5000, 'close frame from the client');
        await rec.closed;
        return { events: rec.events, serverGot: { opcode: closeFrame[0]! & 0x0f, ...closePayload(closeFrame.subarray(1)) } };
      });
      expect(trace.events.map((e) => e.event)).toEqual(['open', 'error', 'close']);
      expect(trace.events[1]).toMatchObject({ code: c.code });
      expect(trace.events[2]).toMatchObject({ code: 1006 });
    });
  }
});
