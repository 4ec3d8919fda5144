/** Section 4, Opcodes: reserved non-control (3-7) and control (11-15) opcodes fail the connection. */
import { CLOSE } from '../lib/codec.mjs';
import { NON_STRICT, OK, utf8 } from '../lib/case-base.mjs';
import { defineCase } from '../lib/define.mjs';

const protocolError = { closedByMe: false, closeCode: [CLOSE.PROTOCOL_ERROR], requireClean: false };
const HELLO = utf8('Hello, world!');
const RESERVED_PAYLOAD = utf8('reserved opcode payload');
const ECHO_THEN_FAIL =
  'Echo for first message is received, but then connection is failed immediately, since reserved opcode frame is used. A Pong is not received.';

function alone(id, kind, opcode, withPayload) {
  return defineCase(
    id,
    `Send frame with reserved ${kind} <b>Opcode = ${opcode}</b>${withPayload ? ' and non-empty payload' : ''}.`,
    'The connection is failed immediately.',
    {
      onOpen() {
        this.expected[OK] = [];
        this.expectedClose = protocolError;
        this.p.sendFrame({ opcode, payload: withPayload ? RESERVED_PAYLOAD : undefined });
        this.p.killAfter(1);
      },
    },
  );
}

function afterEcho(id, kind, opcode, withPayload, chopsize = null) {
  return defineCase(
    id,
    `Send small text message, then send frame with reserved ${kind} <b>Opcode = ${opcode}</b>${withPayload ? ' and non-empty payload' : ''}, then send Ping.`,
    ECHO_THEN_FAIL,
    {
      onOpen() {
        this.expected[OK] = [['message', HELLO, false]];
        this.expected[NON_STRICT] = [];
        this.expectedClose = protocolError;
        this.p.sendFrame({ opcode: 1, payload: HELLO, chopsize });
        this.p.sendFrame({ opcode, payload: withPayload ? HELLO : undefined, chopsize });
        this.p.sendFrame({ opcode: 9, chopsize });
        this.p.killAfter(1);
      },
    },
  );
}

export default [
  alone('4.1.1', 'non-control', 3, false),
  alone('4.1.2', 'non-control', 4, true),
  afterEcho('4.1.3', 'non-control', 5, false),
  afterEcho('4.1.4', 'non-control', 6, true),
  afterEcho('4.1.5', 'non-control', 7, true, 1),
  alone('4.2.1', 'control', 11, false),
  alone('4.2.2', 'control', 12, true),
  afterEcho('4.2.3', 'control', 13, false),
  afterEcho('4.2.4', 'control', 14, true),
  afterEcho('4.2.5', 'control', 15, true, 1),
];
