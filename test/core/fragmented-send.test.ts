/**
 * RFC 6455 §5.4 on the sending side: the frames of a fragmented message are
 * not interleaved with other data frames, only with control frames. Whole
 * messages that do not belong to the sender's own stream (a publish: frames
 * encoded once, or a message for a compressor of its own) wait in the core
 * while a fragmented send is open, counted in the pending output, and leave
 * right after its final frame. The sender's own sends continue the open
 * message, as in ws.
 */
import { describe, expect, it } from 'vitest';
import { encodeFrame } from '../../src/core/frame-writer.js';
import { active } from '../../src/native/index.js';
import { PerMessageDeflate } from '../../src/extensions/permessage-deflate.js';
import { parseFrames, protocolRecorder } from '../kit/index.js';

function wholeFrame(text: string): Buffer[] {
  const frames: Buffer[] = [];
  encodeFrame(active, frames, 1, text, { fin: true, rsv1: false });
  return frames;
}

/** The frames queued so far, as [opcode, fin, payload]. */
function wire(chunks: Buffer[]): [number, boolean, string][] {
  return parseFrames(chunks).map((f) => [f.opcode, f.fin, f.payload.toString()]);
}

describe('a whole message during a fragmented send', () => {
  it('waits for the final fragment; control frames still go between fragments', () => {
    const { protocol } = protocolRecorder('server');
    protocol.send('a', false, { fin: false });
    protocol.sendRaw(wholeFrame('P'));
    protocol.ping('x');
    expect(wire(protocol.dataToSend())).toEqual([
      [1, false, 'a'],
      [9, true, 'x'],
    ]);
    protocol.send('b', false, { fin: false });
    protocol.sendWholeMessage('Q', false);
    expect(wire(protocol.dataToSend())).toEqual([[0, false, 'b']]);
    protocol.send('c', false);
    expect(wire(protocol.dataToSend())).toEqual([
      [0, true, 'c'],
      [1, true, 'P'],
      [1, true, 'Q'],
    ]);
    // Nothing open any more: the next one goes at once.
    protocol.sendRaw(wholeFrame('R'));
    expect(wire(protocol.dataToSend())).toEqual([[1, true, 'R']]);
  });

  it('counts in the pending output while it waits', () => {
    const { protocol } = protocolRecorder('server');
    protocol.send('a', false, { fin: false });
    protocol.dataToSend();
    expect(protocol.pendingOutputBytes).toBe(0);
    protocol.sendRaw(wholeFrame('x'.repeat(1000)));
    protocol.sendWholeMessage('y'.repeat(500), false);
    expect(protocol.pendingOutputBytes).toBeGreaterThanOrEqual(1500);
    expect(protocol.dataToSend()).toEqual([]);
    protocol.send('', false);
    expect(wire(protocol.dataToSend()).map(([opcode, fin, payload]) => [opcode, fin, payload.length])).toEqual([
      [0, true, 0],
      [1, true, 1000],
      [1, true, 500],
    ]);
    expect(protocol.pendingOutputBytes).toBe(0);
  });

  it("the sender's own send continues the open message (ws's behaviour)", () => {
    const { protocol } = protocolRecorder('server');
    protocol.send('a', true, { fin: false });
    protocol.send('b', false);
    protocol.send('c', false);
    expect(wire(protocol.dataToSend())).toEqual([
      [2, false, 'a'],
      [0, true, 'b'],
      [1, true, 'c'],
    ]);
  });

  it('is dropped when the connection closes before the final fragment (no data frame after a close frame)', () => {
    const { protocol } = protocolRecorder('server');
    protocol.send('a', false, { fin: false });
    protocol.sendRaw(wholeFrame('P'));
    protocol.close(1000);
    expect(wire(protocol.dataToSend()).map(([opcode]) => opcode)).toEqual([1, 8]);
    expect(protocol.pendingOutputBytes).toBe(0);
  });

  it('a message for a compressor of its own is compressed when its turn comes', () => {
    const deflate = new PerMessageDeflate(
      { serverNoContextTakeover: true, clientNoContextTakeover: true, serverMaxWindowBits: 15, clientMaxWindowBits: 15 },
      'server',
      { threshold: 0 },
    );
    const { protocol } = protocolRecorder('server', { deflate });
    protocol.send('a', false, { fin: false });
    protocol.sendWholeMessage('hello hello hello', false, true);
    expect(parseFrames(protocol.dataToSend()).map((f) => [f.opcode, f.fin, f.rsv1])).toEqual([[1, false, false]]);
    protocol.send('b', false);
    expect(parseFrames(protocol.dataToSend()).map((f) => [f.opcode, f.fin, f.rsv1])).toEqual([
      [0, true, false],
      [1, true, true],
    ]);
  });
});
