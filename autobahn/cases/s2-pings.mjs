/** Section 2, Pings/Pongs: pong payloads echo pings, bad pings fail the connection, unsolicited pongs are ignored. */
import { CLOSE } from '../lib/codec.mjs';
import { OK, bytes, utf8 } from '../lib/case-base.mjs';
import { defineCase } from '../lib/define.mjs';

const normalClose = { closedByMe: true, closeCode: [CLOSE.NORMAL], requireClean: true };

function pingEcho(id, description, payload, { chopsize = null, closeAfter = 1 } = {}) {
  const expectation =
    chopsize === 1
      ? "Pong with payload echo'ed is sent in reply to Ping. Implementations must be TCP clean. Clean close with normal code."
      : payload.length === 0
        ? 'Pong (with empty payload) is sent in reply to Ping. Clean close with normal code.'
        : "Pong with payload echo'ed is sent in reply to Ping. Clean close with normal code.";
  return defineCase(id, description, expectation, {
    onOpen() {
      this.expected[OK] = [['pong', payload]];
      this.expectedClose = normalClose;
      this.p.sendFrame({ opcode: 9, payload, chopsize });
      this.p.closeAfter(closeAfter);
    },
  });
}

function tenPings(id, description, chopsize) {
  return defineCase(
    id,
    description,
    'Pongs for our Pings with all the payloads. Note: This is not required by the Spec .. but we check for this behaviour anyway. Clean close with normal code.',
    {
      onOpen() {
        this.expected[OK] = [];
        for (let i = 0; i < 10; i++) {
          const payload = utf8(`payload-${i}`);
          this.expected[OK].push(['pong', payload]);
          this.p.sendFrame({ opcode: 9, payload, chopsize });
        }
        this.expectedClose = normalClose;
        this.p.closeAfter(3);
      },
    },
  );
}

function unsolicitedPong(id, description, payload) {
  return defineCase(id, description, 'Nothing.', {
    onOpen() {
      this.expected[OK] = [];
      this.expectedClose = normalClose;
      this.p.sendFrame({ opcode: 10, payload });
      this.p.sendClose(CLOSE.NORMAL);
      this.p.closeAfter(1);
    },
  });
}

export default [
  pingEcho('2.1', 'Send ping without payload.', Buffer.alloc(0)),
  pingEcho('2.2', 'Send ping with small text payload.', utf8('Hello, world!')),
  pingEcho('2.3', 'Send ping with small binary (non UTF-8) payload.', bytes('\x00\xff\xfe\xfd\xfc\xfb\x00\xff')),
  pingEcho('2.4', 'Send ping with binary payload of 125 octets.', Buffer.alloc(125, 0xfe)),
  defineCase(
    '2.5',
    'Send ping with binary payload of 126 octets.',
    'Connection is failed immediately (1002/Protocol Error), since control frames are only allowed to have payload up to and including 125 octets..',
    {
      onOpen() {
        this.expected[OK] = [];
        this.expectedClose = { closedByMe: false, closeCode: [CLOSE.PROTOCOL_ERROR], requireClean: false };
        this.p.sendFrame({ opcode: 9, payload: Buffer.alloc(126, 0xfe) });
        this.p.killAfter(1);
      },
    },
  ),
  pingEcho('2.6', 'Send ping with binary payload of 125 octets, send in octet-wise chops.', Buffer.alloc(125, 0xfe), { chopsize: 1, closeAfter: 2 }),
  unsolicitedPong('2.7', 'Send unsolicited pong without payload. Verify nothing is received. Clean close with normal code.', Buffer.alloc(0)),
  unsolicitedPong('2.8', 'Send unsolicited pong with payload. Verify nothing is received. Clean close with normal code.', utf8('unsolicited pong payload')),
  defineCase(
    '2.9',
    'Send unsolicited pong with payload. Send ping with payload. Verify pong for ping is received.',
    "Nothing in reply to own Pong, but Pong with payload echo'ed in reply to Ping. Clean close with normal code.",
    {
      onOpen() {
        const payload = utf8('ping payload');
        this.expected[OK] = [['pong', payload]];
        this.expectedClose = normalClose;
        this.p.sendFrame({ opcode: 10, payload: utf8('unsolicited pong payload') });
        this.p.sendFrame({ opcode: 9, payload });
        this.p.closeAfter(1);
      },
    },
  ),
  tenPings('2.10', 'Send 10 Pings with payload.', null),
  tenPings('2.11', 'Send 10 Pings with payload. Send out octets in octet-wise chops.', 1),
];
