/** Section 10, Misc: 10.1.1 auto-fragmentation (the peer must reassemble a message sent in 1300-byte frames). */
import { CLOSE } from '../lib/codec.mjs';
import { Case, FAILED, OK } from '../lib/case-base.mjs';
import { defineCase } from '../lib/define.mjs';

export default [
  defineCase(
    '10.1.1',
    'Send text message with payload of length 65536 auto-fragmented with <b>autoFragmentSize = 1300</b>.',
    "Receive echo'ed text message (with payload as sent and transmitted frame counts as expected). Clean close with normal code.",
    {
      onOpen() {
        this.payload = Buffer.alloc(65536, 0x2a);
        this.p.autoFragmentSize = 1300;
        this.expected[OK] = [['message', this.payload, false]];
        this.expectedClose = { closedByMe: true, closeCode: [CLOSE.NORMAL], requireClean: true };
        this.p.sendMessage(this.payload);
        this.p.killAfter(10);
      },
      onConnectionLost() {
        Case.prototype.onConnectionLost.call(this);
        if (!this.p.connectionWasOpen) {
          this.behavior = FAILED;
          this.result = 'WebSocket connection was never open';
          return;
        }
        // Checks our own transmission: 50 continuation frames and 1 text frame.
        const size = this.p.autoFragmentSize;
        const want = { 0: Math.floor(this.payload.length / size), 1: this.payload.length % size > 0 ? 1 : 0 };
        const got = { 0: this.p.txFrameStats[0] ?? 0, 1: this.p.txFrameStats[1] ?? 0 };
        if (want[0] !== got[0] || want[1] !== got[1]) {
          this.behavior = FAILED;
          this.result = `Frames transmitted ${JSON.stringify(got)} does not match what we expected ${JSON.stringify(want)}.`;
        }
      },
    },
  ),
];
