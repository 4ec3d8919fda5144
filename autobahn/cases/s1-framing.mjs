/** Section 1, Framing: text (1.1) and binary (1.2) messages of the boundary payload sizes, echoed. */
import { CLOSE } from '../lib/codec.mjs';
import { OK } from '../lib/case-base.mjs';
import { defineCase } from '../lib/define.mjs';

// [payload length, kill timer in seconds, chop size]
const SIZES = [
  [0, 1, null],
  [125, 1, null],
  [126, 1, null],
  [127, 1, null],
  [128, 1, null],
  [65535, 10, null],
  [65536, 10, null],
  [65536, 10, 997],
];

function sizeCases(sub, binary) {
  const kind = binary ? 'binary' : 'text';
  return SIZES.map(([len, kill, chopsize], i) => {
    const description =
      len === 0
        ? `Send ${kind} message with payload 0.`
        : `Send ${kind} message message with payload of length ${len}.${chopsize ? ` Sent out data in chops of ${chopsize} octets.` : ''}`;
    const expectation = `Receive echo'ed ${kind} message (with ${len === 0 ? 'empty payload' : 'payload as sent'}). Clean close with normal code.`;
    return defineCase(`1.${sub}.${i + 1}`, description, expectation, {
      onOpen() {
        const payload = Buffer.alloc(len, binary ? 0xfe : 0x2a);
        this.expected[OK] = [['message', payload, binary]];
        this.expectedClose = { closedByMe: true, closeCode: [CLOSE.NORMAL], requireClean: true };
        this.p.sendFrame({ opcode: binary ? 2 : 1, payload, chopsize });
        this.p.killAfter(kill);
      },
    });
  });
}

export default [...sizeCases(1, false), ...sizeCases(2, true)];
