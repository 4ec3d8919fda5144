/**
 * Frames larger than one read: whatever the cuts, the message is every byte
 * the peer sent, and what a half-sent frame holds stays in proportion to what
 * actually arrived (a huge declared length is not an allocation).
 */
import { describe, expect, it } from 'vitest';
import { Protocol } from '../../src/core/index.js';
import { feed, frame, rng } from '../kit/index.js';

function receiver(maxPayload = 64 * 1024 * 1024) {
  const messages: { data: Buffer; binary: boolean }[] = [];
  const errors: string[] = [];
  const protocol = new Protocol(
    { role: 'server', maxPayload },
    {
      onMessage: (data, binary) => messages.push({ data: Buffer.from(data), binary }),
      onPing: () => {},
      onPong: () => {},
      onCloseFrame: () => {},
      onProtocolError: (error) => errors.push(String(error.code)),
    },
  );
  return { protocol, messages, errors };
}

const random = rng(7);
const binary = random.bytes(1024 * 1024 + 13);
// Multi-byte text, so code points straddle every kind of cut.
const text = Buffer.from('añ€😀'.repeat(30_000));
const wire = Buffer.concat([
  frame({ opcode: 2, payload: binary, mask: true }),
  frame({ opcode: 1, payload: text, mask: true, key: [1, 2, 3, 4] }),
  frame({ opcode: 2, payload: Buffer.alloc(70_000, 5), mask: true, fin: false }),
  frame({ opcode: 0, payload: Buffer.alloc(90_000, 6), mask: true }),
]);

function check(r: ReturnType<typeof receiver>, label: string) {
  expect(r.errors, label).toEqual([]);
  expect(r.messages.length, label).toBe(3);
  expect(r.messages[0]!.binary).toBe(true);
  expect(r.messages[0]!.data.equals(binary), `${label}: binary message`).toBe(true);
  expect(r.messages[1]!.binary).toBe(false);
  expect(r.messages[1]!.data.equals(text), `${label}: text message`).toBe(true);
  expect(r.messages[2]!.data.equals(Buffer.concat([Buffer.alloc(70_000, 5), Buffer.alloc(90_000, 6)])), `${label}: fragmented`).toBe(true);
  expect(r.protocol.bufferedInput, label).toBe(0);
}

describe('frames larger than a read', () => {
  it('64 KiB reads, as a socket delivers them', () => {
    const cuts: number[] = [];
    for (let at = 65536; at < wire.length; at += 65536) cuts.push(at);
    const r = receiver();
    feed(r.protocol, wire, cuts);
    check(r, '64 KiB reads');
  });

  it('tiny reads first, then large ones (staging grows, then the frame is committed)', () => {
    const cuts: number[] = [];
    let at = 1;
    for (; at < 20_000; at += 1 + (at % 7)) cuts.push(at);
    for (; at < wire.length; at += 100_003) cuts.push(at);
    const r = receiver();
    feed(r.protocol, wire, cuts);
    check(r, 'tiny then large');
  });

  it('random cuts', () => {
    for (let round = 0; round < 40; round++) {
      const cuts = new Set<number>();
      const n = 1 + random.int(60);
      for (let i = 0; i < n; i++) cuts.add(1 + random.int(wire.length - 1));
      const r = receiver();
      feed(
        r.protocol,
        wire,
        [...cuts].sort((a, b) => a - b),
      );
      check(r, `cuts ${[...cuts].slice(0, 5)}…`);
    }
  });

  it('holds in proportion to what arrived, not to the declared length', () => {
    const declared = 48 * 1024 * 1024;
    // Only the header and the first bytes of a 48 MiB frame are ever sent.
    const header = frame({ opcode: 2, payload: Buffer.alloc(0), mask: true, lengthForm: 64 });
    header.writeUInt32BE(declared, 6); // the 64-bit length's low word (high word is 0)
    const r = receiver();
    r.protocol.receive(Buffer.from(header));
    let sent = 0;
    for (let i = 0; i < 200; i++) {
      r.protocol.receive(Buffer.alloc(1000, 1));
      sent += 1000;
      // Staging doubles: never more than twice what arrived (or its 4 KiB floor).
      expect(r.protocol.bufferedInput).toBeLessThanOrEqual(Math.max(2 * sent, 4096));
    }
    // Past an eighth of the frame, its whole buffer exists.
    r.protocol.receive(Buffer.alloc(declared / 8, 1));
    expect(r.protocol.bufferedInput).toBe(declared);
    expect(r.messages).toEqual([]);
    expect(r.errors).toEqual([]);
  });
});
