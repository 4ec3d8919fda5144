/** Every receive-side rule of RFC 6455 with the close code it must produce. */
import { describe, expect, it } from 'vitest';
import { Protocol, type ProtocolOptions } from '../../src/core/index.js';
import { backends } from '../../src/native/index.js';
import * as contract from '../../src/native/types.js';
import { frame, protocolRecorder, sentCloseCode } from '../kit/index.js';

const M = { mask: true } as const; // what a client sends

function serverFails(bytes: Buffer, options = {}) {
  const s = protocolRecorder('server', options);
  s.protocol.receive(Buffer.from(bytes));
  const error = s.events.find((e) => e.type === 'error');
  return { ...s, error, sent: sentCloseCode(s.protocol.dataToSend()) };
}

describe('header rules (§5.2)', () => {
  it.each([
    [0x40, 'WS_ERR_UNEXPECTED_RSV_1'],
    [0x20, 'WS_ERR_UNEXPECTED_RSV_2_3'],
    [0x10, 'WS_ERR_UNEXPECTED_RSV_2_3'],
  ])('RSV bit %s without an extension → 1002', (rsv, code) => {
    const r = serverFails(frame({ opcode: 1, payload: 'x', rsv, ...M }));
    expect(r.error).toEqual({ type: 'error', code, closeCode: 1002 });
    expect(r.sent).toBe(1002);
  });

  it('RSV1 claimed by an extension is accepted on data frames but not on control frames', () => {
    const ok = protocolRecorder('server', { rsvMask: 0x40 });
    ok.protocol.receive(frame({ opcode: 2, payload: 'ab', rsv: 0x40, ...M }));
    expect(ok.events).toEqual([{ type: 'message', data: '6162', binary: true }]);
    const r = serverFails(frame({ opcode: 9, payload: 'ab', rsv: 0x40, ...M }), { rsvMask: 0x40 });
    expect(r.error?.type === 'error' && r.error.closeCode).toBe(1002);
  });

  it.each([3, 4, 5, 6, 7, 11, 12, 13, 14, 15])('reserved opcode %i → 1002', (opcode) => {
    const r = serverFails(frame({ opcode, payload: 'x', ...M }));
    expect(r.error).toEqual({ type: 'error', code: 'WS_ERR_INVALID_OPCODE', closeCode: 1002 });
    expect(r.sent).toBe(1002);
  });

  it.each([8, 9, 10])('fragmented control frame (opcode %i) → 1002', (opcode) => {
    const r = serverFails(frame({ opcode, payload: '', fin: false, ...M }));
    expect(r.error).toEqual({ type: 'error', code: 'WS_ERR_EXPECTED_FIN', closeCode: 1002 });
  });

  it.each([126, 200, 65535])('control frame with %i bytes → 1002', (n) => {
    const r = serverFails(frame({ opcode: 9, payload: Buffer.alloc(n), ...M }));
    expect(r.error).toEqual({ type: 'error', code: 'WS_ERR_INVALID_CONTROL_PAYLOAD_LENGTH', closeCode: 1002 });
  });

  it('a 125-byte ping is fine', () => {
    const s = protocolRecorder('server');
    s.protocol.receive(frame({ opcode: 9, payload: Buffer.alloc(125, 1), ...M }));
    expect(s.events).toEqual([{ type: 'ping', data: '01'.repeat(125) }]);
  });

  it('server rejects an unmasked frame, client rejects a masked one → 1002', () => {
    const r = serverFails(frame({ opcode: 1, payload: 'x' }));
    expect(r.error).toEqual({ type: 'error', code: 'WS_ERR_EXPECTED_MASK', closeCode: 1002 });
    const c = protocolRecorder('client');
    c.protocol.receive(frame({ opcode: 1, payload: 'x', mask: true }));
    expect(c.events).toEqual([{ type: 'error', code: 'WS_ERR_UNEXPECTED_MASK', closeCode: 1002 }]);
    expect(sentCloseCode(c.protocol.dataToSend())).toBe(1002);
  });

  it('64-bit length with the top bit set → 1002, from the header alone', () => {
    const header = Buffer.from([0x82, 0xff, 0x80, 0, 0, 0, 0, 0, 0, 1]);
    const r = serverFails(header);
    expect(r.error).toEqual({ type: 'error', code: 'WS_ERR_UNSUPPORTED_DATA_PAYLOAD_LENGTH', closeCode: 1002 });
  });

  it('declared length above maxPayload → 1009 before any payload arrives', () => {
    const header = frame({ opcode: 2, payload: Buffer.alloc(2000), ...M }).subarray(0, 8);
    const r = serverFails(header, { maxPayload: 1000 });
    expect(r.error).toEqual({ type: 'error', code: 'WS_ERR_UNSUPPORTED_MESSAGE_LENGTH', closeCode: 1009 });
    expect(r.sent).toBe(1009);
  });

  it('a huge declared length fails at once instead of allocating', () => {
    const header = Buffer.from([0x82, 0xff, 0x00, 0x00, 0x7f, 0xff, 0xff, 0xff, 0xff, 0xff, 1, 2, 3, 4]);
    const r = serverFails(header);
    expect(r.error?.type === 'error' && r.error.closeCode).toBe(1009);
    expect(r.protocol.bufferedInput).toBe(0);
  });

  it('rules are checked as soon as their bytes arrive (one byte at a time)', () => {
    const s = protocolRecorder('server');
    s.protocol.receive(Buffer.from([0x83])); // reserved opcode, nothing else yet
    expect(s.events).toEqual([{ type: 'error', code: 'WS_ERR_INVALID_OPCODE', closeCode: 1002 }]);
  });
});

describe('header faults: the scanner names the broken rule, one table words the error (§5.2)', () => {
  const { OUT_CODE, OUT_FAULT, OUT_RECORDS, OUT_STATUS, RECORD_SIZE, SCAN_DONE, SCAN_ERROR, SCAN_EXPECT_MASKED } = contract;
  const implementations = [backends.js, backends.native].filter((b) => b !== null);
  const serverFlags = SCAN_EXPECT_MASKED;
  // [fault, bytes, protocol options, expected error code, message, close code]; messages are what users see today.
  const cases: [keyof typeof contract, Buffer, Partial<ProtocolOptions>, string, string, number][] = [
    ['FAULT_OPCODE', Buffer.from([0x83]), {}, 'WS_ERR_INVALID_OPCODE', 'invalid opcode 3', 1002],
    ['FAULT_RSV1', frame({ opcode: 1, payload: 'x', rsv: 0x40, ...M }), {}, 'WS_ERR_UNEXPECTED_RSV_1', 'RSV1 must be clear', 1002],
    ['FAULT_RSV1', frame({ opcode: 9, rsv: 0x40, ...M }), { rsvMask: 0x40 }, 'WS_ERR_UNEXPECTED_RSV_1', 'RSV1 must be clear', 1002],
    ['FAULT_RSV23', frame({ opcode: 2, rsv: 0x10, ...M }), {}, 'WS_ERR_UNEXPECTED_RSV_2_3', 'RSV2 and RSV3 must be clear', 1002],
    ['FAULT_RSV23', frame({ opcode: 2, rsv: 0x60, ...M }), { rsvMask: 0x40 }, 'WS_ERR_UNEXPECTED_RSV_2_3', 'RSV2 and RSV3 must be clear', 1002],
    ['FAULT_CONTROL_FIN', frame({ opcode: 9, fin: false, ...M }), {}, 'WS_ERR_EXPECTED_FIN', 'a control frame cannot be fragmented', 1002],
    ['FAULT_MASK_EXPECTED', frame({ opcode: 1, payload: 'x' }), {}, 'WS_ERR_EXPECTED_MASK', 'a client must mask its frames', 1002],
    [
      'FAULT_MASK_UNEXPECTED',
      frame({ opcode: 1, payload: 'x', ...M }),
      { role: 'client' },
      'WS_ERR_UNEXPECTED_MASK',
      'a server must not mask its frames',
      1002,
    ],
    [
      'FAULT_CONTROL_LENGTH',
      frame({ opcode: 10, payload: Buffer.alloc(126), ...M }),
      {},
      'WS_ERR_INVALID_CONTROL_PAYLOAD_LENGTH',
      'a control frame payload cannot exceed 125 bytes',
      1002,
    ],
    [
      'FAULT_LENGTH_MSB',
      Buffer.from([0x82, 0xff, 0x80, 0, 0, 0, 0, 0, 0, 1]),
      {},
      'WS_ERR_UNSUPPORTED_DATA_PAYLOAD_LENGTH',
      'the most significant bit of a 64-bit length must be 0',
      1002,
    ],
    [
      'FAULT_TOO_BIG',
      frame({ opcode: 2, payload: Buffer.alloc(2000), ...M }).subarray(0, 8),
      { maxPayload: 1000 },
      'WS_ERR_UNSUPPORTED_MESSAGE_LENGTH',
      'the frame exceeds maxPayload (1000 bytes)',
      1009,
    ],
  ];

  it('every fault code of the contract has a case here', () => {
    const faults = Object.keys(contract).filter((k) => k.startsWith('FAULT_') && k !== 'FAULT_NONE');
    expect(new Set(cases.map((c) => c[0]))).toEqual(new Set(faults));
    expect(contract.FAULT_NONE).toBe(0);
  });

  it.each(cases)('%s: both scanners report it next to the close code', (fault, bytes, options, _code, _message, closeCode) => {
    expect(contract[fault]).toBeGreaterThan(contract.FAULT_NONE);
    const flags = (options.role === 'client' ? 0 : serverFlags) | ((options.rsvMask ?? 0) & 0x70);
    for (const backend of implementations) {
      const out = new Float64Array(OUT_RECORDS + RECORD_SIZE).fill(-1);
      backend.scanFrames(Buffer.from(bytes), 0, out, flags, options.maxPayload ?? 2 ** 53);
      expect({ backend: backend.name, status: out[OUT_STATUS], code: out[OUT_CODE], fault: out[OUT_FAULT] }).toEqual({
        backend: backend.name,
        status: SCAN_ERROR,
        code: closeCode,
        fault: contract[fault],
      });
    }
  });

  it.each(cases)('%s: the protocol fails with %s', (_fault, bytes, options, code, message, closeCode) => {
    for (const backend of implementations) {
      const errors: { code: string; message: string; closeCode: number | undefined }[] = [];
      const protocol = new Protocol(
        { role: 'server', ...options, backend },
        {
          onMessage: () => {},
          onPing: () => {},
          onPong: () => {},
          onCloseFrame: () => {},
          onProtocolError: (e) => errors.push({ code: String(e.code), message: e.message, closeCode: e.closeCode }),
        },
      );
      protocol.receive(Buffer.from(bytes));
      expect(errors, backend.name).toEqual([{ code, message, closeCode }]);
      expect(sentCloseCode(protocol.dataToSend())).toBe(closeCode);
    }
  });

  it('a scan without a fault leaves FAULT_NONE in the fault slot', () => {
    for (const backend of implementations) {
      const out = new Float64Array(OUT_RECORDS + RECORD_SIZE).fill(-1);
      backend.scanFrames(frame({ opcode: 1, payload: 'ok', ...M }), 0, out, serverFlags, 100);
      expect([out[OUT_STATUS], out[OUT_CODE], out[OUT_FAULT]], backend.name).toEqual([SCAN_DONE, 0, 0]);
    }
  });
});

describe('fragmentation and limits (§5.4)', () => {
  it('continuation without a message → 1002', () => {
    const r = serverFails(frame({ opcode: 0, payload: 'x', ...M }));
    expect(r.error).toEqual({ type: 'error', code: 'WS_ERR_INVALID_OPCODE', closeCode: 1002 });
  });

  it('a new message inside a fragmented one → 1002', () => {
    const r = serverFails(Buffer.concat([frame({ opcode: 1, payload: 'a', fin: false, ...M }), frame({ opcode: 1, payload: 'b', ...M })]));
    expect(r.error).toEqual({ type: 'error', code: 'WS_ERR_INVALID_OPCODE', closeCode: 1002 });
  });

  it('control frames may interleave with fragments', () => {
    const s = protocolRecorder('server');
    s.protocol.receive(
      Buffer.concat([
        frame({ opcode: 1, payload: 'He', fin: false, ...M }),
        frame({ opcode: 9, payload: 'p', ...M }),
        frame({ opcode: 0, payload: 'llo', ...M }),
      ]),
    );
    expect(s.events).toEqual([
      { type: 'ping', data: '70' },
      { type: 'message', data: Buffer.from('Hello').toString('hex'), binary: false },
    ]);
  });

  it('maxPayload applies to the whole message across fragments → 1009', () => {
    const r = serverFails(
      Buffer.concat([frame({ opcode: 2, payload: Buffer.alloc(600), fin: false, ...M }), frame({ opcode: 0, payload: Buffer.alloc(600), ...M })]),
      { maxPayload: 1000 },
    );
    expect(r.error).toEqual({ type: 'error', code: 'WS_ERR_UNSUPPORTED_MESSAGE_LENGTH', closeCode: 1009 });
  });

  it('a message exactly at maxPayload is accepted', () => {
    const s = protocolRecorder('server', { maxPayload: 1000 });
    s.protocol.receive(
      Buffer.concat([frame({ opcode: 2, payload: Buffer.alloc(500), fin: false, ...M }), frame({ opcode: 0, payload: Buffer.alloc(500), ...M })]),
    );
    expect(s.events).toEqual([{ type: 'message', data: '00'.repeat(1000), binary: true }]);
  });

  it('more fragments than maxFragments → 1009', () => {
    const parts = [frame({ opcode: 2, payload: 'a', fin: false, ...M })];
    for (let i = 0; i < 4; i++) parts.push(frame({ opcode: 0, payload: 'a', fin: false, ...M }));
    const r = serverFails(Buffer.concat(parts), { maxFragments: 4 });
    expect(r.error).toEqual({ type: 'error', code: 'WS_ERR_TOO_MANY_FRAGMENTS', closeCode: 1009 });
  });

  it('many fragments are joined in order', () => {
    const parts = [frame({ opcode: 2, payload: Buffer.from([0]), fin: false, ...M })];
    for (let i = 1; i < 3000; i++) parts.push(frame({ opcode: 0, payload: Buffer.from([i & 0xff]), fin: i === 2999, ...M }));
    const s = protocolRecorder('server');
    s.protocol.receive(Buffer.concat(parts));
    const expected = Buffer.from(Array.from({ length: 3000 }, (_, i) => i & 0xff)).toString('hex');
    expect(s.events).toEqual([{ type: 'message', data: expected, binary: true }]);
  });
});

describe('UTF-8 (§8.1)', () => {
  const euro = Buffer.from('€'); // e2 82 ac

  it('invalid text → 1007', () => {
    const r = serverFails(
      frame({ opcode: 1, payload: Buffer.from([0xce, 0xba, 0xe1, 0xbd, 0xb9, 0xcf, 0x83, 0xce, 0xbc, 0xce, 0xb5, 0xed, 0xa0, 0x80]), ...M }),
    );
    expect(r.error).toEqual({ type: 'error', code: 'WS_ERR_INVALID_UTF8', closeCode: 1007 });
    expect(r.sent).toBe(1007);
  });

  it('a code point split across fragments is valid', () => {
    const s = protocolRecorder('server');
    s.protocol.receive(
      Buffer.concat([
        frame({ opcode: 1, payload: euro.subarray(0, 1), fin: false, ...M }),
        frame({ opcode: 0, payload: euro.subarray(1, 2), fin: false, ...M }),
        frame({ opcode: 0, payload: euro.subarray(2), ...M }),
      ]),
    );
    expect(s.events).toEqual([{ type: 'message', data: euro.toString('hex'), binary: false }]);
  });

  it('fails at the fragment that breaks the text, before the message ends', () => {
    const s = protocolRecorder('server');
    s.protocol.receive(frame({ opcode: 1, payload: 'ok', fin: false, ...M }));
    expect(s.events).toEqual([]);
    s.protocol.receive(frame({ opcode: 0, payload: Buffer.from([0xf4, 0x90]), fin: false, ...M })); // above U+10FFFF
    expect(s.events).toEqual([{ type: 'error', code: 'WS_ERR_INVALID_UTF8', closeCode: 1007 }]);
  });

  it('fails inside a frame whose rest has not arrived (Autobahn 6.4.3/6.4.4)', () => {
    const payload = Buffer.concat([Buffer.from('κόσμε'), Buffer.from([0xf4, 0x90, 0x80, 0x80]), Buffer.from('edited')]);
    const wire = frame({ opcode: 1, payload, ...M });
    const s = protocolRecorder('server');
    s.protocol.receive(Buffer.from(wire.subarray(0, 6 + 11)));
    expect(s.events).toEqual([]);
    s.protocol.receive(Buffer.from(wire.subarray(17, 19))); // f4 90: already impossible
    expect(s.events).toEqual([{ type: 'error', code: 'WS_ERR_INVALID_UTF8', closeCode: 1007 }]);
  });

  it('a message that ends inside a code point → 1007', () => {
    const r = serverFails(frame({ opcode: 1, payload: euro.subarray(0, 2), ...M }));
    expect(r.error).toEqual({ type: 'error', code: 'WS_ERR_INVALID_UTF8', closeCode: 1007 });
  });

  it('binary messages are not checked; skipUtf8Validation turns the check off', () => {
    const bad = Buffer.from([0xff, 0xfe]);
    const s = protocolRecorder('server');
    s.protocol.receive(frame({ opcode: 2, payload: bad, ...M }));
    expect(s.events).toEqual([{ type: 'message', data: 'fffe', binary: true }]);
    const t = protocolRecorder('server', { skipUtf8Validation: true });
    t.protocol.receive(frame({ opcode: 1, payload: bad, ...M }));
    expect(t.events).toEqual([{ type: 'message', data: 'fffe', binary: false }]);
  });
});

describe('close frames (§5.5.1, §7.4)', () => {
  const close = (payload: Buffer) => frame({ opcode: 8, payload, ...M });
  const withCode = (code: number, reason: Buffer = Buffer.alloc(0)) => {
    const b = Buffer.alloc(2);
    b.writeUInt16BE(code);
    return Buffer.concat([b, reason]);
  };

  it('a 1-byte close payload → 1002', () => {
    const r = serverFails(close(Buffer.from([3])));
    expect(r.error).toEqual({ type: 'error', code: 'WS_ERR_INVALID_CONTROL_PAYLOAD_LENGTH', closeCode: 1002 });
    expect(r.sent).toBe(1002);
  });

  it.each([0, 999, 1004, 1005, 1006, 1015, 1016, 1100, 2000, 2999, 5000, 65535])('invalid close code %i → 1002', (code) => {
    const r = serverFails(close(withCode(code)));
    expect(r.error).toEqual({ type: 'error', code: 'WS_ERR_INVALID_CLOSE_CODE', closeCode: 1002 });
    expect(r.sent).toBe(1002);
  });

  it.each([1000, 1001, 1002, 1003, 1007, 1008, 1009, 1010, 1011, 1012, 1013, 1014, 3000, 3999, 4000, 4999])('valid close code %i is echoed', (code) => {
    const s = protocolRecorder('server');
    s.protocol.receive(close(withCode(code, Buffer.from('bye'))));
    expect(s.events).toEqual([{ type: 'close', code, reason: 'bye' }]);
    expect(sentCloseCode(s.protocol.dataToSend())).toBe(code);
    expect(s.protocol.shouldCloseTransport()).toBe(true); // the server drops TCP first
  });

  it('a reason that is not UTF-8 → 1007', () => {
    const r = serverFails(close(withCode(1000, Buffer.from([0xc0, 0xaf]))));
    expect(r.error).toEqual({ type: 'error', code: 'WS_ERR_INVALID_UTF8', closeCode: 1007 });
    expect(r.sent).toBe(1007);
  });

  it('an empty close is answered with an empty close and reported as 1005', () => {
    const s = protocolRecorder('server');
    s.protocol.receive(close(Buffer.alloc(0)));
    expect(s.events).toEqual([{ type: 'close', code: 1005, reason: '' }]);
    expect(sentCloseCode(s.protocol.dataToSend())).toBe(1005);
  });

  it('input after a close frame is discarded', () => {
    const s = protocolRecorder('server');
    s.protocol.receive(Buffer.concat([close(withCode(1000)), frame({ opcode: 1, payload: 'late', ...M })]));
    s.protocol.receive(frame({ opcode: 1, payload: 'later', ...M }));
    expect(s.events).toEqual([{ type: 'close', code: 1000, reason: '' }]);
  });

  it('input after a failure is discarded', () => {
    const s = protocolRecorder('server');
    s.protocol.receive(Buffer.concat([frame({ opcode: 3, ...M }), frame({ opcode: 1, payload: 'late', ...M })]));
    s.protocol.receive(frame({ opcode: 1, payload: 'later', ...M }));
    expect(s.events).toEqual([{ type: 'error', code: 'WS_ERR_INVALID_OPCODE', closeCode: 1002 }]);
    expect(s.protocol.shouldCloseTransport()).toBe(true);
  });
});

describe('closing handshake state', () => {
  it('server-initiated: expects the peer close, then drops TCP', () => {
    const s = protocolRecorder('server');
    s.protocol.close(1001, 'going');
    expect(sentCloseCode(s.protocol.dataToSend())).toBe(1001);
    expect(s.protocol.closeExpected()).toBe(true);
    expect(s.protocol.shouldCloseTransport()).toBe(false);
    s.protocol.receive(frame({ opcode: 1, payload: 'still delivered', ...M }));
    s.protocol.receive(frame({ opcode: 8, payload: Buffer.from([0x03, 0xe9]), ...M }));
    expect(s.protocol.closeExpected()).toBe(false);
    expect(s.protocol.shouldCloseTransport()).toBe(true);
    expect(s.protocol.dataToSend()).toEqual([]); // no second close frame
    expect(s.events.map((e) => e.type)).toEqual(['message', 'close']);
  });

  it('client-initiated: after the handshake the client waits for the server to drop TCP', () => {
    const c = protocolRecorder('client');
    c.protocol.close(1000);
    expect(c.protocol.closeExpected()).toBe(true);
    c.protocol.receive(frame({ opcode: 8, payload: Buffer.from([0x03, 0xe8]) }));
    expect(c.protocol.shouldCloseTransport()).toBe(false);
    expect(c.protocol.closeCode).toBe(1000);
  });

  it('EOF without a close frame is 1006', () => {
    const s = protocolRecorder('server');
    s.protocol.receiveEof();
    expect(s.protocol.closeCode).toBe(1006);
  });

  it('sending after close throws a typed error; close() twice sends one frame', () => {
    const s = protocolRecorder('server');
    s.protocol.close();
    s.protocol.close(1000);
    expect(s.protocol.dataToSend()).toHaveLength(1);
    expect(() => s.protocol.send('x', false)).toThrow(expect.objectContaining({ code: 'ERR_NOT_OPEN' }));
  });

  it.each([1005, 1006, 1015, 999, 5000])('close(%i) is refused', (code) => {
    const s = protocolRecorder('server');
    expect(() => s.protocol.close(code)).toThrow(expect.objectContaining({ code: 'ERR_INVALID_CLOSE_CODE' }));
    expect(s.protocol.dataToSend()).toEqual([]);
  });

  it('a reason over 123 bytes is refused; 123 bytes fit', () => {
    const s = protocolRecorder('server');
    expect(() => s.protocol.close(1000, 'é'.repeat(62))).toThrow(expect.objectContaining({ code: 'ERR_CLOSE_REASON_TOO_LONG' }));
    s.protocol.close(1000, 'x'.repeat(123));
    expect(Buffer.concat(s.protocol.dataToSend()).length).toBe(2 + 125);
  });

  it('ping payloads over 125 bytes are refused', () => {
    const s = protocolRecorder('server');
    expect(() => s.protocol.ping(Buffer.alloc(126))).toThrow(expect.objectContaining({ code: 'ERR_CONTROL_PAYLOAD_TOO_LONG' }));
  });
});

describe('auto-pong', () => {
  it('answers a ping with the same payload by default, not when autoPong is false', () => {
    const on = protocolRecorder('server');
    on.protocol.receive(frame({ opcode: 9, payload: 'abc', ...M }));
    expect(Buffer.concat(on.protocol.dataToSend())).toEqual(frame({ opcode: 10, payload: 'abc' }));
    const off = protocolRecorder('server', { autoPong: false });
    off.protocol.receive(frame({ opcode: 9, payload: 'abc', ...M }));
    expect(off.events).toEqual([{ type: 'ping', data: Buffer.from('abc').toString('hex') }]);
    expect(off.protocol.dataToSend()).toEqual([]);
  });
});

describe('client masking', () => {
  it('masks every frame with a fresh key and leaves the user buffer untouched', () => {
    const c = protocolRecorder('client');
    const data = Buffer.alloc(4096, 0x61);
    c.protocol.send(data, true);
    c.protocol.send(data, true);
    const wire = Buffer.concat(c.protocol.dataToSend());
    const frameLength = 4 + 4 + 4096; // 16-bit length form, key, payload
    const [a, b] = [wire.subarray(0, frameLength), wire.subarray(frameLength)];
    expect(b.length).toBe(frameLength);
    expect(data.every((x) => x === 0x61)).toBe(true);
    expect(a[1]! & 0x80).toBe(0x80);
    expect(b[1]! & 0x80).toBe(0x80);
    expect(a.subarray(4, 8).equals(b.subarray(4, 8))).toBe(false);
    const server = protocolRecorder('server');
    server.protocol.receive(Buffer.from(wire));
    expect(server.events).toHaveLength(2);
    expect(server.events[0]).toEqual({ type: 'message', data: data.toString('hex'), binary: true });
  });
});
