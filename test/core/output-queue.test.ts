/** Frames from many connections share one slab; each connection's bytes must stay whole and in order. */
import { describe, expect, it } from 'vitest';
import { protocolRecorder } from '../kit/index.js';

describe('output queue', () => {
  it('interleaved sends on several connections decode to each connection’s own messages, in order', () => {
    const senders = Array.from({ length: 5 }, () => protocolRecorder('server'));
    const expected: string[][] = senders.map(() => []);
    for (let round = 0; round < 3000; round++) {
      const i = round % 5;
      const size = (round * 37) % 1500; // small (slab), medium and large (by reference) payloads
      const text = `${i}:${round}:` + 'x'.repeat(size);
      if (round % 3 === 0) senders[i]!.protocol.send(Buffer.from(text), false);
      else senders[i]!.protocol.send(text, false);
      expected[i]!.push(text);
      if (round % 97 === 0) {
        // A flush in the middle, as at the end of a tick.
        const receiver = protocolRecorder('client');
        receiver.protocol.receive(Buffer.concat(senders[i]!.protocol.dataToSend()));
        const got = receiver.events.map((e) => (e.type === 'message' ? Buffer.from(e.data, 'hex').toString() : e.type));
        expect(got).toEqual(expected[i]);
        expected[i] = [];
      }
    }
    senders.forEach((s, i) => {
      const receiver = protocolRecorder('client');
      receiver.protocol.receive(Buffer.concat(s.protocol.dataToSend()));
      expect(receiver.events.map((e) => (e.type === 'message' ? Buffer.from(e.data, 'hex').toString() : e.type))).toEqual(expected[i]);
    });
  });

  it('a tick of small frames leaves as one buffer; a large payload is passed by reference', () => {
    const s = protocolRecorder('server');
    for (let i = 0; i < 100; i++) s.protocol.send('hello', false);
    expect(s.protocol.dataToSend()).toHaveLength(1);
    const big = Buffer.alloc(100_000, 7);
    s.protocol.send('a', false);
    s.protocol.send(big, true);
    s.protocol.send('b', false);
    const out = s.protocol.dataToSend();
    expect(out).toHaveLength(3); // 'a' with big's header, big itself, 'b'
    expect(out[1]).toBe(big);
  });
});
