/**
 * The queue of sends held behind a message compressed off the main thread
 * (src/core/held-sends.ts), on its own: call order is kept, only one
 * compression is asked for at a time, held bytes are counted until framed,
 * and drop() forgets everything (a late result is ignored).
 */
import { describe, expect, it } from 'vitest';
import { OPCODE_BINARY, OPCODE_CLOSE, OPCODE_TEXT } from '../../src/core/constants.js';
import { HeldSends } from '../../src/core/held-sends.js';
import { PerMessageDeflate } from '../../src/extensions/permessage-deflate.js';

const stateless = { serverNoContextTakeover: true, clientNoContextTakeover: true, serverMaxWindowBits: 15, clientMaxWindowBits: 15 };

function queue(asyncThreshold = 100) {
  const codec = new PerMessageDeflate(stateless, 'server', { asyncThreshold });
  const out: (string | number)[][] = [];
  const asked: (Buffer | string)[] = [];
  /** The uncompressed length of each compressed message framed. */
  const lengths: number[] = [];
  const held = new HeldSends(codec, {
    frame: (opcode, payload, fin) => {
      out.push([opcode, Buffer.from(payload).toString(), fin ? 1 : 0]);
      return 0;
    },
    compressed: (opcode, _payload, length) => {
      out.push([opcode, 'compressed', 1]);
      lengths.push(length);
      return 0;
    },
    raw: (frames) => void out.push(['raw', Buffer.concat(frames).toString()]),
    compressElsewhere: (data) => void asked.push(data),
    detached: () => {
      out.push(['detached']);
      held.drop(); // as the Protocol's failure does
    },
  });
  return { held, out, asked, codec, lengths };
}

const large = 'L'.repeat(500);
const small = 's'.repeat(50);

/** A Buffer over memory that is then moved away (postMessage's transfer list): it reads as empty. */
function movedAway(bytes: string): Buffer {
  const memory = new ArrayBuffer(bytes.length);
  const view = Buffer.from(memory);
  view.write(bytes);
  structuredClone(memory, { transfer: [memory] });
  return view;
}

describe('held sends', () => {
  it('a held payload or frame whose memory was moved away is reported when its turn comes, and is never framed', () => {
    for (const moved of ['payload', 'raw'] as const) {
      const q = queue();
      q.held.hold(OPCODE_BINARY, large, true, true, 500);
      q.held.hold(OPCODE_TEXT, 'before', true, false, 6);
      if (moved === 'payload') q.held.hold(OPCODE_BINARY, movedAway('moved'), true, false, 5);
      else q.held.holdRaw([Buffer.from([0x82, 5]), movedAway('moved')], 7);
      q.held.hold(OPCODE_TEXT, 'after', true, false, 5);
      q.held.resume(Buffer.from('x'));
      expect(q.out, moved).toEqual([[OPCODE_BINARY, 'compressed', 1], [OPCODE_TEXT, 'before', 1], ['detached']]);
      expect(q.held.waiting).toBe(false);
    }
  });

  it('a payload moved away while zlib compressed it: its compressed result is not framed', () => {
    const q = queue();
    const memory = new ArrayBuffer(500);
    const payload = Buffer.from(memory).fill('L');
    q.held.hold(OPCODE_BINARY, payload, true, true, 500);
    expect(q.asked).toEqual([payload]);
    q.held.hold(OPCODE_TEXT, 'after', true, false, 5);
    structuredClone(memory, { transfer: [memory] });
    q.held.resume(Buffer.from('x'));
    expect(q.out).toEqual([['detached']]);
  });

  it('keep call order behind the compression; what is inline-compressible is compressed when its turn comes', () => {
    const q = queue();
    expect(q.held.waiting).toBe(false);
    q.held.hold(OPCODE_BINARY, large, true, true, 500);
    expect(q.asked).toEqual([large]);
    q.held.hold(OPCODE_TEXT, 'plain', true, false, 5);
    q.held.hold(OPCODE_TEXT, small, true, true, 50);
    q.held.holdRaw([Buffer.from('ra'), Buffer.from('w')], 3);
    q.held.hold(OPCODE_CLOSE, Buffer.from([3, 0xe8]), true, false, 2);
    expect(q.out).toEqual([]);
    expect(q.held.waiting).toBe(true);
    expect(q.held.bytes).toBe(500 + 5 + 50 + 3 + 2);
    q.held.resume(Buffer.from('x'));
    expect(q.out).toEqual([
      [OPCODE_BINARY, 'compressed', 1],
      [OPCODE_TEXT, 'plain', 1],
      [OPCODE_TEXT, 'compressed', 1],
      ['raw', 'raw'],
      [OPCODE_CLOSE, '\x03\ufffd', 1],
    ]);
    expect(q.lengths).toEqual([500, 50]); // each compressed message framed with its length uncompressed (for stats and tracing)
    expect(q.held.waiting).toBe(false);
    expect(q.held.bytes).toBe(0);
  });

  it('asks for the second compression only once the first is back', () => {
    const q = queue();
    q.held.hold(OPCODE_BINARY, large, true, true, 500);
    q.held.hold(OPCODE_BINARY, large + '2', true, true, 501);
    expect(q.asked).toHaveLength(1);
    q.held.resume(Buffer.from('1'));
    expect(q.asked).toHaveLength(2);
    expect(q.held.bytes).toBe(501);
    q.held.resume(Buffer.from('2'));
    expect(q.out.map((f) => f[0])).toEqual([OPCODE_BINARY, OPCODE_BINARY]);
    expect(q.held.waiting).toBe(false);
  });

  it('drop() forgets the held sends; a result arriving afterwards frames nothing', () => {
    const q = queue();
    q.held.hold(OPCODE_BINARY, large, true, true, 500);
    q.held.hold(OPCODE_TEXT, 'plain', true, false, 5);
    q.held.drop();
    expect(q.held.waiting).toBe(false);
    expect(q.held.bytes).toBe(0);
    q.held.resume(Buffer.from('late'));
    expect(q.out).toEqual([]);
  });
});
