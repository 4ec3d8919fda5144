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

describe('direct reads (a transport reading the rest of a frame straight into its buffer)', () => {
  /** Feeds `bytes` as a transport with readInto would: chunks of at most `step`, but straight into the target once offered. */
  function feedDirect(r: ReturnType<typeof reading>, bytes: Buffer, step: number, minimum = 1): { direct: number; parts: Buffer[] } {
    let pos = 0;
    let direct = 0;
    const parts: Buffer[] = [];
    while (pos < bytes.length) {
      const target = r.reader.directTarget(minimum);
      if (target === null) {
        const end = Math.min(bytes.length, pos + step);
        r.reader.push(Buffer.from(bytes.subarray(pos, end)));
        pos = end;
        continue;
      }
      // Unmask as the test's own byte loop, key big-endian, from target.phase.
      const key = [target.key >>> 24, (target.key >>> 16) & 255, (target.key >>> 8) & 255, target.key & 255];
      const n = Math.min(step, target.buffer.length, bytes.length - pos);
      for (let i = 0; i < n; i++) target.buffer[i] = bytes[pos + i]! ^ (target.masked ? key[(target.phase + i) & 3]! : 0);
      parts.push(Buffer.from(target.buffer.subarray(0, n)));
      r.reader.pushFilled(n);
      pos += n;
      direct += n;
    }
    return { direct, parts };
  }

  it.each([1000, 4093, 16_384, 65_536])('frames arrive as with copied chunks, read %i bytes at a time', (step) => {
    const plain = reading();
    for (let at = 0; at < stream.length; at += step) plain.reader.push(Buffer.from(stream.subarray(at, at + step)));
    const r = reading();
    const { direct } = feedDirect(r, stream, step);
    expect(r.data).toEqual(plain.data);
    expect(r.control).toEqual(plain.control);
    expect(r.seen).toEqual(plain.seen);
    expect(direct).toBeGreaterThan(0);
  });

  it('the payload arrives byte-exact whatever the mask phase at the switch', () => {
    const payload = Buffer.from(Array.from({ length: 70_001 }, (_, i) => (i * 31) & 255));
    const bytes = Buffer.concat([frame({ opcode: 2, payload, ...M, key: [0x12, 0x34, 0x56, 0x78] }), frame({ opcode: 2, payload: 'z', ...M })]);
    for (const step of [1001, 1002, 1003, 1004]) {
      const got: Buffer[] = [];
      const reader = new FrameReader(
        active,
        SCAN_EXPECT_MASKED,
        1 << 20,
        { onFrameStart: () => true, onFramePart: () => true, onFrame: (_bits, p) => got.push(Buffer.from(p)) > 0 },
        { onControlFrame: () => true, onFrameError: () => {} },
      );
      feedDirect({ reader, data: [], control: [], seen: [] }, bytes, step);
      expect(got.map((b) => b.length)).toEqual([70_001, 1]);
      expect(got[0]!.equals(payload)).toBe(true);
    }
  });

  it('no target for a large frame until enough of it arrived (its buffer is never sized by the claim alone), nor below the minimum', () => {
    const r = reading();
    const big = frame({ opcode: 2, payload: Buffer.alloc(800_000, 1), ...M });
    r.reader.push(Buffer.from(big.subarray(0, 10_000)));
    expect(r.reader.directTarget(1)).toBeNull();
    r.reader.push(Buffer.from(big.subarray(10_000, 120_000)));
    const target = r.reader.directTarget(1)!;
    expect(target.buffer.length).toBe(800_000 - (120_000 - 14));
    expect(r.reader.directTarget(target.buffer.length + 1)).toBeNull();
  });

  it('no target while paused, stopped, or between frames', () => {
    const r = reading();
    expect(r.reader.directTarget(1)).toBeNull();
    r.reader.push(Buffer.from(frame({ opcode: 2, payload: Buffer.alloc(20_000), ...M }).subarray(0, 100)));
    expect(r.reader.directTarget(1)).not.toBeNull();
    r.reader.stop();
    expect(r.reader.directTarget(1)).toBeNull();
    r.reader.pushFilled(10); // ignored once stopped
    expect(r.data.filter((d) => d.startsWith('frame'))).toEqual([]);
  });

  it('maxChunks counts direct reads as chunks of the unfinished frame', () => {
    const r = reading();
    const limits: number[] = [];
    (r.reader as unknown as { control: { onChunkLimit?: (n: number) => void } }).control.onChunkLimit = (n) => void limits.push(n);
    r.reader.maxChunks = 3;
    feedDirect(r, frame({ opcode: 2, payload: Buffer.alloc(20_000), ...M }), 1000);
    expect(limits).toEqual([3]);
    expect(r.reader.isStopped).toBe(true);
  });
});
