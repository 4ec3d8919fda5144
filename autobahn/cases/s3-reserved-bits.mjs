/**
 * Section 3, Reserved Bits: any RSV bit without a negotiated extension fails
 * the connection (1002). RSV values are numbered as Autobahn numbers them
 * (the 3-bit field, so 4 is RSV1).
 */
import { CLOSE } from '../lib/codec.mjs';
import { NON_STRICT, OK, bytes, utf8 } from '../lib/case-base.mjs';
import { defineCase } from '../lib/define.mjs';

const protocolError = { closedByMe: false, closeCode: [CLOSE.PROTOCOL_ERROR], requireClean: false };
const HELLO = utf8('Hello, world!');
const ECHO_THEN_FAIL =
  'Echo for first message is received, but then connection is failed immediately, since RSV must be 0, when no extension defining RSV meaning has been negotiated. The Pong is not received.';

function single(id, description, expectation, frame) {
  return defineCase(id, description, expectation, {
    onOpen() {
      this.expected[OK] = [];
      this.expectedClose = protocolError;
      this.p.sendFrame(frame);
      this.p.killAfter(1);
    },
  });
}

function echoThenBad(id, description, rsv, how) {
  return defineCase(id, description, ECHO_THEN_FAIL, {
    onOpen() {
      this.expected[OK] = [['message', HELLO, false]];
      this.expected[NON_STRICT] = [];
      this.expectedClose = protocolError;
      this.p.sendFrame({ opcode: 1, payload: HELLO, ...how });
      this.p.sendFrame({ opcode: 1, payload: HELLO, rsv, ...how });
      this.p.sendFrame({ opcode: 9, ...how });
      this.p.killAfter(1);
    },
  });
}

export default [
  single(
    '3.1',
    'Send small text message with <b>RSV = 1</b>.',
    'The connection is failed immediately (1002/protocol error), since RSV must be 0, when no extension defining RSV meaning has been negoiated.',
    { opcode: 1, payload: HELLO, rsv: 1 },
  ),
  echoThenBad('3.2', 'Send small text message, then send again with <b>RSV = 2</b>, then send Ping.', 2, {}),
  echoThenBad(
    '3.3',
    'Send small text message, then send again with <b>RSV = 3</b>, then send Ping. Octets are sent in frame-wise chops. Octets are sent in octet-wise chops.',
    3,
    { sync: true },
  ),
  echoThenBad('3.4', 'Send small text message, then send again with <b>RSV = 4</b>, then send Ping. Octets are sent in octet-wise chops.', 4, { chopsize: 1 }),
  single('3.5', 'Send small binary message with <b>RSV = 5</b>.', 'The connection is failed immediately, since RSV must be 0.', {
    opcode: 2,
    payload: bytes('\x00\xff\xfe\xfd\xfc\xfb\x00\xff'),
    rsv: 5,
  }),
  // The suite's 3.6 says "Ping" but sends a binary frame; we send what it sends.
  single('3.6', 'Send Ping with <b>RSV = 6</b>.', 'The connection is failed immediately, since RSV must be 0.', { opcode: 2, payload: HELLO, rsv: 6 }),
  single('3.7', 'Send Close with <b>RSV = 7</b>.', 'The connection is failed immediately, since RSV must be 0.', { opcode: 8, rsv: 7 }),
];
