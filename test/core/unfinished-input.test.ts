/**
 * What the core tells a driver that times unfinished input (messageTimeout):
 * whether the peer left a frame or message unfinished, and how many messages
 * it completed; and abandonInput(), which fails the connection for a policy
 * of the driver's without waiting for the peer.
 */
import { describe, expect, it } from 'vitest';
import { frame, parseFrames, protocolRecorder } from '../kit/index.js';

const M = { mask: true } as const;

describe('unfinished input', () => {
  it('inputPending holds from the first byte of a message to its last; messagesReceived counts what completed', () => {
    const { protocol } = protocolRecorder('server');
    const whole = frame({ opcode: 2, payload: Buffer.alloc(100, 1), ...M });
    expect([protocol.inputPending, protocol.messagesReceived]).toEqual([false, 0]);
    protocol.receive(Buffer.from(whole.subarray(0, 1))); // half a header
    expect([protocol.inputPending, protocol.messagesReceived]).toEqual([true, 0]);
    protocol.receive(Buffer.from(whole.subarray(1, 50))); // header and part of the payload
    expect([protocol.inputPending, protocol.messagesReceived]).toEqual([true, 0]);
    // The rest, plus a whole message and the first byte of a third in the same read: a new one is pending.
    protocol.receive(Buffer.concat([whole.subarray(50), frame({ opcode: 1, payload: 'x', ...M }), whole.subarray(0, 1)]));
    expect([protocol.inputPending, protocol.messagesReceived]).toEqual([true, 2]);
    protocol.receive(Buffer.from(whole.subarray(1)));
    expect([protocol.inputPending, protocol.messagesReceived]).toEqual([false, 3]);
  });

  it('between fragments the message is still pending, and control frames inside it do not count as messages', () => {
    const { protocol } = protocolRecorder('server');
    protocol.receive(frame({ opcode: 1, payload: 'a', fin: false, ...M }));
    expect([protocol.inputPending, protocol.messagesReceived]).toEqual([true, 0]);
    protocol.receive(frame({ opcode: 9, payload: 'p', ...M }));
    expect([protocol.inputPending, protocol.messagesReceived]).toEqual([true, 0]);
    protocol.receive(frame({ opcode: 0, payload: 'b', ...M }));
    expect([protocol.inputPending, protocol.messagesReceived]).toEqual([false, 1]);
    protocol.receive(frame({ opcode: 9, payload: 'p', ...M })); // on its own: a message of its own
    expect([protocol.inputPending, protocol.messagesReceived]).toEqual([false, 2]);
  });

  it('abandonInput queues the close, stops reading, and asks for the transport to close at once', () => {
    const { protocol, events } = protocolRecorder('server');
    const whole = frame({ opcode: 2, payload: Buffer.alloc(100, 1), ...M });
    protocol.receive(Buffer.from(whole.subarray(0, 20)));
    protocol.abandonInput(1008, 'message timeout');
    expect(protocol.inputPending).toBe(false);
    expect(protocol.shouldCloseTransport()).toBe(true);
    expect(protocol.closeExpected()).toBe(false); // the peer's close is not waited for
    const sent = parseFrames(protocol.dataToSend());
    expect(sent.map((f) => [f.opcode, f.payload.readUInt16BE(0), f.payload.subarray(2).toString()])).toEqual([[8, 1008, 'message timeout']]);
    protocol.receive(Buffer.from(whole.subarray(20))); // ignored
    expect(events).toEqual([]);
    expect(protocol.messagesReceived).toBe(0);
  });
});
