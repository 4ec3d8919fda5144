/**
 * The frame reader's two sinks: data frames (their start, parts and end) go
 * to the data sink, which is the MessageAssembler in the Protocol; control
 * frames and header faults go to the control sink; the observer sees every
 * complete frame in order. However the bytes are split.
 */
import { describe, expect, it } from 'vitest';
import { FrameReader } from '../../src/core/frame-reader.js';
import { active } from '../../src/native/index.js';
import { SCAN_EXPECT_MASKED } from '../../src/native/types.js';
import { frame } from '../helpers.js';

const M = { mask: true } as const;
const stream = Buffer.concat([
  frame({ opcode: 1, payload: 'hello', fin: false, ...M }),
  frame({ opcode: 9, payload: 'ping!', ...M }),
  frame({ opcode: 0, payload: 'x'.repeat(300), ...M }),
  frame({ opcode: 10, payload: 'pong', ...M }),
  frame({ opcode: 2, payload: Buffer.alloc(70_000, 7), ...M }),
  frame({ opcode: 8, payload: Buffer.from([0x03, 0xe8]), ...M }),
]);

function reading() {
  const data: string[] = [];
  const control: string[] = [];
  const seen: string[] = [];
  const reader = new FrameReader(
    active,
    SCAN_EXPECT_MASKED,
    1 << 20,
    {
      onFrameStart: (bits, length) => data.push(`start ${bits & 0x0f} ${length}`) > 0,
      onFramePart: (bits) => (bits & 0x08) === 0,
      onFrame: (bits, payload) => data.push(`frame ${bits & 0x0f} ${payload.length}`) > 0,
    },
    {
      onControlFrame: (bits, payload) => control.push(`${bits & 0x0f} ${payload.toString()}`) > 0,
      onFrameError: (fault) => void control.push(`fault ${fault}`),
    },
    (bits, length) => void seen.push(`${bits & 0x0f}:${length}`),
  );
  return { reader, data, control, seen };
}

describe('frame reader sinks', () => {
  it.each([
    ['whole', [] as number[]],
    ['byte by byte', Array.from({ length: 400 }, (_, i) => i + 1)],
    ['in 1000-byte pieces', Array.from({ length: 70 }, (_, i) => (i + 1) * 1000)],
  ])('data frames reach the data sink, control frames the control sink (%s)', (_what, splits) => {
    const r = reading();
    let last = 0;
    for (const at of [...splits, stream.length]) {
      r.reader.push(Buffer.from(stream.subarray(last, at)));
      last = at;
    }
    expect(r.control).toEqual(['9 ping!', '10 pong', '8 \x03\ufffd']);
    expect(r.data.filter((d) => d.startsWith('frame'))).toEqual(['frame 1 5', 'frame 0 300', 'frame 2 70000']);
    // Only data frames are announced before their payload arrives.
    expect(r.data.filter((d) => d.startsWith('start')).every((d) => !/^start (8|9|10) /.test(d))).toBe(true);
    expect(r.seen).toEqual(['1:5', '9:5', '0:300', '10:4', '2:70000', '8:2']);
  });

  it('a header fault goes to the control sink', () => {
    const r = reading();
    r.reader.push(frame({ opcode: 1, payload: 'unmasked' }));
    expect(r.control).toHaveLength(1);
    expect(r.control[0]).toMatch(/^fault \d+$/);
    expect(r.data).toEqual([]);
  });
});
