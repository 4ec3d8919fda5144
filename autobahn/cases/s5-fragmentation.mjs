/**
 * Section 5, Fragmentation: fragmented control frames and continuation
 * frames without a message fail the connection; fragmented messages with
 * interleaved pings are echoed (and the pings answered first).
 */
import { CLOSE } from '../lib/codec.mjs';
import { NON_STRICT, OK, utf8 } from '../lib/case-base.mjs';
import { defineCase } from '../lib/define.mjs';

const protocolError = { closedByMe: false, closeCode: [CLOSE.PROTOCOL_ERROR], requireClean: false };
const normalClose = { closedByMe: true, closeCode: [CLOSE.NORMAL], requireClean: true };
const F = (n) => utf8(`fragment${n}`);
const NOTHING_TO_CONTINUE = 'The connection is failed immediately, since there is no message to continue.';

function fragmentedControl(id, name, opcode) {
  return defineCase(id, `Send ${name} fragmented into 2 fragments.`, 'Connection is failed immediately, since control message MUST NOT be fragmented.', {
    onOpen() {
      this.expected[OK] = [];
      this.expectedClose = protocolError;
      this.p.sendFrame({ opcode, fin: false, payload: F(1) });
      this.p.sendFrame({ opcode: 0, fin: true, payload: F(2) });
      this.p.killAfter(1);
    },
  });
}

function twoFragments(id, how, howText) {
  return defineCase(id, `Send text Message fragmented into 2 fragments${howText}.`, "Message is processed and echo'ed back to us.", {
    onOpen() {
      this.expected[OK] = [['message', Buffer.concat([F(1), F(2)]), false]];
      this.expectedClose = normalClose;
      this.p.sendFrame({ opcode: 1, fin: false, payload: F(1), ...how });
      this.p.sendFrame({ opcode: 0, fin: true, payload: F(2), ...how });
      this.p.closeAfter(1);
    },
  });
}

function withPing(id, how, howText) {
  return defineCase(
    id,
    `Send text Message fragmented into 2 fragments, one ping with payload in-between.${howText}`,
    "A pong is received, then the message is echo'ed back to us.",
    {
      onOpen() {
        const ping = utf8('ping payload');
        this.expected[OK] = [
          ['pong', ping],
          ['message', Buffer.concat([F(1), F(2)]), false],
        ];
        this.expectedClose = normalClose;
        this.p.sendFrame({ opcode: 1, fin: false, payload: F(1), ...how });
        this.p.sendFrame({ opcode: 9, fin: true, payload: ping, ...how });
        this.p.sendFrame({ opcode: 0, fin: true, payload: F(2), ...how });
        this.p.closeAfter(1);
      },
    },
  );
}

function orphanContinuation(id, fin, how, howText) {
  return defineCase(
    id,
    `Send unfragmented Text Message after Continuation Frame with FIN = ${fin}, where there is nothing to continue, sent in ${howText}.`,
    NOTHING_TO_CONTINUE,
    {
      onOpen() {
        this.expected[OK] = [];
        this.expectedClose = protocolError;
        this.p.sendFrame({ opcode: 0, fin, payload: utf8('non-continuation payload'), ...how });
        this.p.sendFrame({ opcode: 1, fin: true, payload: utf8('Hello, world!'), ...how });
        this.p.killAfter(1);
      },
    },
  );
}

function repeated(id, firstFin) {
  return defineCase(
    id,
    `Repeated 2x: Continuation Frame with FIN = ${firstFin} (where there is nothing to continue), then text Message fragmented into 2 fragments.`,
    NOTHING_TO_CONTINUE,
    {
      onOpen() {
        this.expected[OK] = [];
        this.expectedClose = protocolError;
        for (let i = 0; i < 2; i++) {
          this.p.sendFrame({ opcode: 0, fin: firstFin, payload: F(1) });
          this.p.sendFrame({ opcode: 1, fin: false, payload: F(2) });
          this.p.sendFrame({ opcode: 0, fin: true, payload: F(3) });
        }
        this.p.killAfter(1);
      },
    },
  );
}

/** 5.19/5.20: a ping answered mid-message, then a 1 s pause inside the message. */
function pingsInsideMessage(id, sync, description, expectation) {
  return defineCase(id, description, expectation, {
    onOpen() {
      this.fragments = [1, 2, 3, 4, 5].map(F);
      this.pings = [utf8('pongme 1!'), utf8('pongme 2!')];
      this.expected[OK] = [
        ['pong', this.pings[0]],
        ['pong', this.pings[1]],
        ['message', Buffer.concat(this.fragments), false],
      ];
      this.expectedClose = normalClose;
      this.p.sendFrame({ opcode: 1, fin: false, payload: this.fragments[0], sync });
      this.p.sendFrame({ opcode: 0, fin: false, payload: this.fragments[1], sync });
      this.p.sendFrame({ opcode: 9, fin: true, payload: this.pings[0], sync });
      this.p.continueLater(1, () => this.part2());
    },
    part2() {
      this.p.sendFrame({ opcode: 0, fin: false, payload: this.fragments[2], sync });
      this.p.sendFrame({ opcode: 0, fin: false, payload: this.fragments[3], sync });
      this.p.sendFrame({ opcode: 9, fin: true, payload: this.pings[1], sync });
      this.p.sendFrame({ opcode: 0, fin: true, payload: this.fragments[4], sync });
      this.p.closeAfter(1);
    },
  });
}

export default [
  fragmentedControl('5.1', 'Ping', 9),
  fragmentedControl('5.2', 'Pong', 10),
  twoFragments('5.3', {}, ''),
  twoFragments('5.4', { sync: true }, ', octets are sent in frame-wise chops'),
  twoFragments('5.5', { chopsize: 1 }, ', octets are sent in octet-wise chops'),
  withPing('5.6', {}, ''),
  withPing('5.7', { sync: true }, ' Octets are sent in frame-wise chops.'),
  withPing('5.8', { chopsize: 1 }, ' Octets are sent in octet-wise chops.'),
  orphanContinuation('5.9', true, {}, 'one chop'),
  orphanContinuation('5.10', true, { sync: true }, 'per-frame chops'),
  orphanContinuation('5.11', true, { chopsize: 1 }, 'octet-wise chops'),
  orphanContinuation('5.12', false, {}, 'one chop'),
  orphanContinuation('5.13', false, { sync: true }, 'per-frame chops'),
  orphanContinuation('5.14', false, { chopsize: 1 }, 'octet-wise chops'),
  defineCase(
    '5.15',
    'Send text Message fragmented into 2 fragments, then Continuation Frame with FIN = false where there is nothing to continue, then unfragmented Text Message, all sent in one chop.',
    NOTHING_TO_CONTINUE,
    {
      onOpen() {
        this.expected[OK] = [['message', Buffer.concat([F(1), F(2)]), false]];
        this.expected[NON_STRICT] = [];
        this.expectedClose = protocolError;
        this.p.sendFrame({ opcode: 1, fin: false, payload: F(1) });
        this.p.sendFrame({ opcode: 0, fin: true, payload: F(2) });
        this.p.sendFrame({ opcode: 0, fin: false, payload: F(3) });
        this.p.sendFrame({ opcode: 1, fin: true, payload: F(4) });
        this.p.killAfter(1);
      },
    },
  ),
  repeated('5.16', false),
  repeated('5.17', true),
  defineCase(
    '5.18',
    'Send text Message fragmented into 2 fragments, with both frame opcodes set to text, sent in one chop.',
    'The connection is failed immediately, since all data frames after the initial data frame must have opcode 0.',
    {
      onOpen() {
        this.expected[OK] = [];
        this.expectedClose = protocolError;
        this.p.sendFrame({ opcode: 1, fin: false, payload: F(1) });
        this.p.sendFrame({ opcode: 1, fin: true, payload: F(2) });
        this.p.killAfter(1);
      },
    },
  ),
  pingsInsideMessage(
    '5.19',
    false,
    'A fragmented text message is sent in multiple frames. After sending the first 2 frames of the text message, a Ping is sent. Then we wait 1s, then we send 2 more text fragments, another Ping and then the final text fragment. Everything is legal.',
    "The peer immediately answers the first Ping before it has received the last text message fragment. The peer pong's back the Ping's payload exactly, and echo's the payload of the fragmented message back to us.",
  ),
  pingsInsideMessage(
    '5.20',
    true,
    'Same as Case 5.19, but send all frames with SYNC = True. Note, this does not change the octets sent in any way, only how the stream is chopped up on the wire.',
    'Same as Case 5.19. Implementations must be agnostic to how octet stream is chopped up on wire (must be TCP clean).',
  ),
];
