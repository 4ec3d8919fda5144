/** The same bytes, however the network cuts them, give the same events. */
import { describe, expect, it } from 'vitest';
import { type Event, feed, frame, protocolRecorder, rng } from '../kit/index.js';

const M = { mask: true } as const;
const text = (s: string) => Buffer.from(s).toString('hex');

/** A stream exercising every path: all length forms, fragments, control frames in between, multi-byte text. */
function stream(): Buffer {
  return Buffer.concat([
    frame({ opcode: 1, payload: 'hello', ...M }),
    frame({ opcode: 2, payload: Buffer.alloc(0), ...M }),
    frame({ opcode: 9, payload: 'ping!', ...M }),
    frame({ opcode: 1, payload: 'κό', fin: false, ...M }),
    frame({ opcode: 10, payload: '', ...M }),
    frame({ opcode: 0, payload: Buffer.from('σμε€').subarray(0, 5), fin: false, ...M }),
    frame({ opcode: 0, payload: Buffer.from('σμε€').subarray(5), ...M }),
    frame({ opcode: 2, payload: Buffer.alloc(300, 7), ...M }),
    frame({ opcode: 2, payload: Buffer.alloc(20, 9), lengthForm: 64, ...M }),
    frame({ opcode: 1, payload: '€'.repeat(50), lengthForm: 16, ...M }),
    frame({ opcode: 8, payload: Buffer.from([0x03, 0xe8, 0x6f, 0x6b]), ...M }),
  ]);
}

const expected: Event[] = [
  { type: 'message', data: text('hello'), binary: false },
  { type: 'message', data: '', binary: true },
  { type: 'ping', data: text('ping!') },
  { type: 'pong', data: '' },
  { type: 'message', data: text('κόσμε€'), binary: false },
  { type: 'message', data: '07'.repeat(300), binary: true },
  { type: 'message', data: '09'.repeat(20), binary: true },
  { type: 'message', data: text('€'.repeat(50)), binary: false },
  { type: 'close', code: 1000, reason: 'ok' },
];

describe('chunking', () => {
  const bytes = stream();

  it('in one piece', () => {
    const r = protocolRecorder('server');
    feed(r.protocol, bytes);
    expect(r.events).toEqual(expected);
  });

  it('split in two at every byte boundary', () => {
    for (let at = 1; at < bytes.length; at++) {
      const r = protocolRecorder('server');
      feed(r.protocol, bytes, [at]);
      expect(r.events, `split at ${at}`).toEqual(expected);
    }
  });

  it('split in three at every pair of boundaries within the first 120 bytes', () => {
    for (let a = 1; a < 120; a++) {
      for (let b = a + 1; b < 121; b++) {
        const r = protocolRecorder('server');
        feed(r.protocol, bytes, [a, b]);
        expect(r.events, `split at ${a}, ${b}`).toEqual(expected);
      }
    }
  });

  it('one byte at a time', () => {
    const r = protocolRecorder('server');
    feed(
      r.protocol,
      bytes,
      Array.from({ length: bytes.length }, (_, i) => i),
    );
    expect(r.events).toEqual(expected);
  });

  it('random cuts', () => {
    const random = rng(42);
    for (let round = 0; round < 500; round++) {
      const cuts = new Set<number>();
      const n = 1 + random.int(12);
      for (let i = 0; i < n; i++) cuts.add(1 + random.int(bytes.length - 1));
      const r = protocolRecorder('server');
      feed(
        r.protocol,
        bytes,
        [...cuts].sort((x, y) => x - y),
      );
      expect(r.events, `cuts ${[...cuts]}`).toEqual(expected);
    }
  });

  it('the client role decodes the unmasked equivalent the same way at every split', () => {
    const unmasked = Buffer.concat([
      frame({ opcode: 1, payload: 'κό', fin: false }),
      frame({ opcode: 9, payload: 'p' }),
      frame({ opcode: 0, payload: 'σμε' }),
      frame({ opcode: 2, payload: Buffer.alloc(70000, 3) }),
    ]);
    const want: Event[] = [
      { type: 'ping', data: text('p') },
      { type: 'message', data: text('κόσμε'), binary: false },
      { type: 'message', data: '03'.repeat(70000), binary: true },
    ];
    for (const at of [1, 2, 3, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 20, 1000, 65536, unmasked.length - 1]) {
      const r = protocolRecorder('client');
      feed(r.protocol, unmasked, [at]);
      expect(r.events, `split at ${at}`).toEqual(want);
    }
  });
});
