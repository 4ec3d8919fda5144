/**
 * Section 7, Close Handling (all fuzzer-initiated): the peer must answer a
 * close with 1000 or the echoed code, ignore what follows a close, and fail
 * with 1002 (or 1007 for a non-UTF-8 reason) on malformed close frames.
 * A wrong close code fails these cases outright (CloseCase).
 */
import { CLOSE } from '../lib/codec.mjs';
import { CloseCase, INFORMATIONAL, NON_STRICT, OK, bytes, utf8 } from '../lib/case-base.mjs';
import { defineCase } from '../lib/define.mjs';

const normalClose = { closedByMe: true, closeCode: [CLOSE.NORMAL], requireClean: true };
const base = { base: CloseCase };

function afterClose(id, description, expectation, send) {
  return defineCase(
    id,
    description,
    expectation,
    {
      init() {
        this.suppressClose = true;
      },
      onOpen() {
        this.expected[OK] = [];
        this.expectedClose = normalClose;
        send(this.p);
        this.p.killAfter(1);
      },
    },
    base,
  );
}

function closeFrame(id, description, expectation, expectedClose, send) {
  return defineCase(
    id,
    description,
    expectation,
    {
      init() {
        this.suppressClose = true;
      },
      onOpen() {
        this.expected[OK] = [];
        this.expectedClose = expectedClose;
        send(this.p);
        this.p.killAfter(1);
      },
    },
    base,
  );
}

function informational(id, description, code) {
  return defineCase(
    id,
    description,
    'Actual events are undefined by the spec.',
    {
      init() {
        this.suppressClose = true;
      },
      onOpen() {
        this.expected[OK] = [];
        this.expectedClose = { closedByMe: true, closeCode: [CLOSE.NORMAL, code, CLOSE.PROTOCOL_ERROR], requireClean: false };
        this.p.sendCloseFrame(code);
        this.p.killAfter(1);
      },
      onConnectionLost() {
        CloseCase.prototype.onConnectionLost.call(this);
        this.behavior = INFORMATIONAL;
        this.behaviorClose = INFORMATIONAL;
        this.result = 'Actual events are undefined by the spec.';
      },
    },
    base,
  );
}

const INVALID_REASON = bytes('\xce\xba\xe1\xbd\xb9\xcf\x83\xce\xbc\xce\xb5\xed\xa0\x80\x65\x64\x69\x74\x65\x64');
const VALID_CODES = [1000, 1001, 1002, 1003, 1007, 1008, 1009, 1010, 1011, 3000, 3999, 4000, 4999];
// As in the frozen suite (image 25.10.1): 1014 and 1015 are not in this list.
const INVALID_CODES = [0, 999, 1004, 1005, 1006, 1016, 1100, 2000, 2999];

export default [
  defineCase(
    '7.1.1',
    'Send a message followed by a close frame',
    'Echoed message followed by clean close with normal code.',
    {
      onOpen() {
        const payload = utf8('Hello World!');
        this.expected[OK] = [['message', payload, false]];
        this.expectedClose = normalClose;
        this.p.sendFrame({ opcode: 1, payload });
        this.p.killAfter(1);
      },
    },
    base,
  ),
  afterClose('7.1.2', 'Send two close frames', 'Clean close with normal code. Second close frame ignored.', (p) => {
    p.sendClose(CLOSE.NORMAL);
    p.sendFrame({ opcode: 8 });
  }),
  afterClose('7.1.3', 'Send a ping after close message', 'Clean close with normal code, no pong.', (p) => {
    p.sendClose(CLOSE.NORMAL);
    p.sendFrame({ opcode: 9 });
  }),
  afterClose('7.1.4', 'Send text message after sending a close frame.', 'Clean close with normal code. Text message ignored.', (p) => {
    p.sendClose(CLOSE.NORMAL);
    p.sendFrame({ opcode: 1, payload: utf8('Hello World!') });
  }),
  afterClose('7.1.5', 'Send message fragment1 followed by close then fragment', 'Clean close with normal code.', (p) => {
    p.sendFrame({ opcode: 1, fin: false, payload: utf8('fragment1') });
    p.sendClose(CLOSE.NORMAL);
    p.sendFrame({ opcode: 0, fin: true, payload: utf8('fragment2') });
  }),
  defineCase(
    '7.1.6',
    'Send 256K message followed by close then a ping',
    'Case outcome depends on implementation defined close behavior. Message and close frame are sent back to back. If the close frame is processed before the text message write is complete (as can happen in asynchronous processing models) the close frame is processed first and the text message may not be received or may only be partially recieved.',
    {
      init() {
        this.suppressClose = true;
      },
      onOpen() {
        const payload = utf8('Hello World!');
        this.expected[OK] = [['message', payload, false]];
        this.expected[NON_STRICT] = [];
        this.expectedClose = normalClose;
        this.p.sendFrame({ opcode: 1, payload: utf8('BAsd7&jh23'), payloadLen: 256 * 1024 });
        this.p.sendFrame({ opcode: 1, payload });
        this.p.sendClose(CLOSE.NORMAL);
        this.p.sendFrame({ opcode: 9 });
        this.p.killAfter(1);
      },
      onConnectionLost() {
        CloseCase.prototype.onConnectionLost.call(this);
        if (this.behavior === OK) this.result = 'Text message was processed before close.';
        else if (this.behavior === NON_STRICT) this.result = 'Close was processed before text message could be returned.';
        this.behavior = INFORMATIONAL;
        this.behaviorClose = INFORMATIONAL;
      },
    },
    base,
  ),
  closeFrame('7.3.1', 'Send a close frame with payload length 0 (no close code, no close reason)', 'Clean close with normal code.', normalClose, (p) =>
    p.sendCloseFrame(),
  ),
  closeFrame(
    '7.3.2',
    'Send a close frame with payload length 1',
    'Clean close with protocol error or drop TCP.',
    { closedByMe: true, closeCode: [CLOSE.PROTOCOL_ERROR], requireClean: false },
    (p) => p.sendCloseFrame(null, utf8('a')),
  ),
  closeFrame('7.3.3', 'Send a close frame with payload length 2 (regular close with a code)', 'Clean close with normal code.', normalClose, (p) =>
    p.sendClose(CLOSE.NORMAL),
  ),
  closeFrame('7.3.4', 'Send a close frame with close code and close reason', 'Clean close with normal code.', normalClose, (p) =>
    p.sendClose(CLOSE.NORMAL, 'Hello World!'),
  ),
  closeFrame('7.3.5', 'Send a close frame with close code and close reason of maximum length (123)', 'Clean close with normal code.', normalClose, (p) =>
    p.sendClose(CLOSE.NORMAL, '*'.repeat(123)),
  ),
  closeFrame(
    '7.3.6',
    'Send a close frame with close code and close reason which is too long (124) - total frame payload 126 octets',
    'Clean close with protocol error code or dropped TCP connection.',
    { closedByMe: true, closeCode: [CLOSE.PROTOCOL_ERROR], requireClean: false },
    (p) => p.sendCloseFrame(CLOSE.NORMAL, utf8('*'.repeat(124))),
  ),
  closeFrame(
    '7.5.1',
    'Send a close frame with invalid UTF8 payload',
    'Clean close with protocol error or invalid utf8 code or dropped TCP.',
    { closedByMe: true, closeCode: [CLOSE.PROTOCOL_ERROR, CLOSE.INVALID_PAYLOAD], requireClean: false },
    (p) => p.sendCloseFrame(CLOSE.NORMAL, INVALID_REASON),
  ),
  ...VALID_CODES.map((code, i) =>
    closeFrame(
      `7.7.${i + 1}`,
      `Send close with valid close code ${code}`,
      'Clean close with normal or echoed code',
      { closedByMe: true, closeCode: [CLOSE.NORMAL, code], requireClean: true },
      (p) => p.sendCloseFrame(code),
    ),
  ),
  ...INVALID_CODES.map((code, i) =>
    closeFrame(
      `7.9.${i + 1}`,
      `Send close with invalid close code ${code}`,
      'Clean close with protocol error code or drop TCP',
      { closedByMe: true, closeCode: [CLOSE.PROTOCOL_ERROR], requireClean: false },
      (p) => p.sendCloseFrame(code),
    ),
  ),
  informational('7.13.1', 'Send close with close code 5000', 5000),
  informational('7.13.2', 'Send close with close code 65536', 65535),
];
