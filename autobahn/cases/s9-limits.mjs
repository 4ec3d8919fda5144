/**
 * Section 9, Limits/Performance: large messages, many fragments, tiny TCP
 * chops, and round trips of 1000 messages. Each case is OK when the echo
 * arrives complete (type and length) before its wait runs out; the duration
 * is reported. The wire log is off during the transfer, as in the suite.
 */
import { CLOSE } from '../lib/codec.mjs';
import { FAILED, OK, bytes, utf8 } from '../lib/case-base.mjs';
import { defineCase } from '../lib/define.mjs';

const K = 1024;
const M = 1024 * 1024;
const normalClose = { closedByMe: true, closeCode: [CLOSE.NORMAL], requireClean: true };
const sizeText = (n) => (n >= M ? `${n / M} * 2**20 (${n / M}M)` : `${n / K} * 2**10 (${n / K}k)`);
const fragText = (n) => (n >= M ? `${n / M}M` : n >= K ? `${n / K}k` : `${n}`);
/** Harness cap: the case's own wait plus slack, never more than two minutes plus slack. */
const cap = (waitSecs) => Math.min(waitSecs, 120) + 15;

/** Shared onMessage: OK when the echo has the right type and length. */
function judgeEcho(binary, length) {
  return function onMessage(msg, isBinary) {
    const kind = binary ? 'binary' : 'text';
    if (isBinary !== binary) this.result = `Expected ${kind} message with payload, but got ${isBinary ? 'binary' : 'text'}.`;
    else if (msg.length !== length) this.result = `Expected ${kind} message with payload of length ${length}, but got ${msg.length}.`;
    else {
      this.behavior = OK;
      this.result = `Received ${kind} message of length ${msg.length}.`;
    }
    this.p.createWirelog = true;
    this.p.sendClose(CLOSE.NORMAL);
  };
}

function bigMessage(id, binary, length, waitSecs, chopsize = null) {
  const kind = binary ? 'binary' : 'text';
  const description = `Send ${kind} message message with payload of length ${sizeText(length)}.${chopsize ? ` Sent out data in chops of ${chopsize} octets.` : ''}`;
  const payload = binary ? bytes('\x00\xfe\x23\xfa\xf0') : utf8('BAsd7&jh23');
  return defineCase(
    id,
    description,
    `Receive echo'ed ${kind} message (with payload as sent).`,
    {
      init() {
        this.reportTime = true;
      },
      onOpen() {
        this.p.createWirelog = false;
        this.behavior = FAILED;
        this.expectedClose = normalClose;
        this.result = `Did not receive message within ${waitSecs} seconds.`;
        this.p.sendFrame({ opcode: binary ? 2 : 1, payload, payloadLen: length, chopsize });
        this.p.closeAfter(waitSecs);
      },
      onMessage: judgeEcho(binary, length),
    },
    { maxSeconds: cap(waitSecs) },
  );
}

function fragmented(id, binary, fragSize) {
  const kind = binary ? 'binary' : 'text';
  const length = 4 * M;
  return defineCase(
    id,
    `Send fragmented ${kind} message message with message payload of length 4 * 2**20 (4M). Sent out in fragments of ${fragText(fragSize)}.`,
    `Receive echo'ed ${kind} message (with payload as sent).`,
    {
      init() {
        this.reportTime = true;
      },
      onOpen() {
        this.p.createWirelog = false;
        this.behavior = FAILED;
        this.expectedClose = normalClose;
        this.result = 'Did not receive message within 100 seconds.';
        this.p.sendMessage(Buffer.alloc(length, binary ? 0xfe : 0x2a), { isBinary: binary, fragmentSize: fragSize });
        this.p.closeAfter(100);
      },
      onMessage: judgeEcho(binary, length),
    },
    { maxSeconds: cap(100) },
  );
}

/** 9.7.x / 9.8.x: 1000 messages, each sent once the previous echo came back. */
function roundTrips(id, binary, length, count, waitSecs) {
  const kind = binary ? 'binary' : 'text';
  return defineCase(
    id,
    `Send ${count} ${kind} messages of payload size ${length} to measure implementation/network RTT (round trip time) / latency.`,
    `Receive echo'ed ${kind} messages (with payload as sent). Timeout case after ${waitSecs} secs.`,
    {
      init() {
        this.reportTime = true;
      },
      onOpen() {
        this.p.enableWirelog(false);
        this.behavior = FAILED;
        this.expectedClose = normalClose;
        this.result = `Case did not finish within ${waitSecs} seconds.`;
        this.p.closeAfter(waitSecs);
        this.count = 0;
        this.sendOne();
      },
      sendOne() {
        if (binary) this.p.sendFrame({ opcode: 2, payload: bytes('\xfe'), payloadLen: length });
        else this.p.sendFrame({ opcode: 1, payload: utf8('*'), payloadLen: length });
        this.count++;
      },
      onMessage(msg, isBinary) {
        if (isBinary !== binary || msg.length !== length) {
          this.behavior = FAILED;
          this.result = `Echo'ed message type or length differs from what I sent (got binary = ${isBinary}, payload length = ${msg.length}).`;
          this.p.enableWirelog(true);
          this.p.sendClose(CLOSE.NORMAL);
        } else if (this.count < count) {
          this.sendOne();
        } else {
          this.behavior = OK;
          this.result = "Ok, received all echo'ed messages in time.";
          this.p.enableWirelog(true);
          this.p.sendClose(CLOSE.NORMAL);
        }
      },
    },
    { maxSeconds: cap(waitSecs) },
  );
}

const BIG = [
  [64 * K, 10],
  [256 * K, 10],
  [1 * M, 100],
  [4 * M, 100],
  [8 * M, 100],
  [16 * M, 100],
];
const FRAGS = [64, 256, 1 * K, 4 * K, 16 * K, 64 * K, 256 * K, 1 * M, 4 * M];
const CHOPS = [64, 128, 256, 512, 1024, 2048];
const RTT = [
  [0, 1000, 60],
  [16, 1000, 60],
  [64, 1000, 60],
  [256, 1000, 120],
  [1024, 1000, 240],
  [4096, 1000, 480],
];

export default [
  ...BIG.map(([n, w], i) => bigMessage(`9.1.${i + 1}`, false, n, w)),
  ...BIG.map(([n, w], i) => bigMessage(`9.2.${i + 1}`, true, n, w)),
  ...FRAGS.map((f, i) => fragmented(`9.3.${i + 1}`, false, f)),
  ...FRAGS.map((f, i) => fragmented(`9.4.${i + 1}`, true, f)),
  ...CHOPS.map((c, i) => bigMessage(`9.5.${i + 1}`, false, M, 1000, c)),
  ...CHOPS.map((c, i) => bigMessage(`9.6.${i + 1}`, true, M, 1000, c)),
  ...RTT.map(([n, c, w], i) => roundTrips(`9.7.${i + 1}`, false, n, c, w)),
  ...RTT.map(([n, c, w], i) => roundTrips(`9.8.${i + 1}`, true, n, c, w)),
];
