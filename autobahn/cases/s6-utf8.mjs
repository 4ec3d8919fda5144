/**
 * Section 6, UTF-8 Handling: valid text in every fragmentation is echoed;
 * invalid text fails the connection with 1007, and 6.4.x check that it fails
 * as soon as the invalid byte arrives (fail fast) rather than at the end of
 * the message, which is only NON-STRICT.
 */
import { CLOSE } from '../lib/codec.mjs';
import { NON_STRICT, OK, bytes, utf8 } from '../lib/case-base.mjs';
import { defineCase } from '../lib/define.mjs';
import { STATE } from '../lib/protocol.mjs';
import { utf8TestSequences } from './utf8-sequences.mjs';

const normalClose = { closedByMe: true, closeCode: [CLOSE.NORMAL], requireClean: true };
const invalidClose = { closedByMe: false, closeCode: [CLOSE.INVALID_PAYLOAD], requireClean: false, closedByWrongEndpointIsFatal: true };
const hex = (b) => b.toString('hex');
const ECHO = "The message is echo'ed back to us.";

const HELLO_UTF8 = utf8('Hello-µ@ßöäüàá-UTF-8!!');
const KOSME = bytes('\xce\xba\xe1\xbd\xb9\xcf\x83\xce\xbc\xce\xb5');
const INVALID_63 = Buffer.concat([KOSME, bytes('\xed\xa0\x80'), bytes('\x65\x64\x69\x74\x65\x64')]); // invalid at byte 12
// 6.4.x: PART2 is 0x110000 in UTF-8's integer scheme, out of range at its second byte.
const P1 = KOSME;
const P2 = bytes('\xf4\x90\x80\x80');
const P3 = bytes('\x65\x64\x69\x74\x65\x64');
const FAILFAST = Buffer.concat([P1, P2, P3]);

function echoed(id, description, expectation, frames) {
  return defineCase(id, description, expectation, {
    onOpen() {
      const all = Buffer.concat(frames.map((f) => f.payload ?? Buffer.alloc(0)));
      this.expected[OK] = [['message', all, false]];
      this.expectedClose = normalClose;
      for (const f of frames) this.p.sendFrame(f);
      this.p.closeAfter(1);
    },
  });
}

function sendAsMessage(id, description, expectation, payload, fragmentSize, valid) {
  return defineCase(id, description, expectation, {
    onOpen() {
      if (valid) {
        this.expected[OK] = [['message', payload, false]];
        this.expectedClose = normalClose;
      } else {
        this.expected[OK] = [];
        this.expectedClose = invalidClose;
      }
      this.p.sendMessage(payload, { isBinary: false, fragmentSize });
      if (valid) this.p.closeAfter(1);
      else this.p.killAfter(1);
    },
  });
}

const FAILFAST_EXPECTATION =
  'The first frame is accepted, we expect to timeout on the first wait. The 2nd frame should be rejected immediately (fail fast on UTF-8). If we timeout, we expect the connection is failed at least then, since the complete message payload is not valid UTF-8.';

/**
 * 6.4.x: send part 1, wait 1 s ("timeout A"), send part 2 (the bad byte),
 * wait 1 s ("timeout B"), send the rest. Failing during the second wait is
 * OK; failing only after part 3 is NON-STRICT.
 * @param {'frames'|'chops'} how separate frames, or chops of one frame (streaming API)
 */
function failFast(id, description, expectation, parts, how) {
  return defineCase(
    id,
    description,
    expectation,
    {
      onOpen() {
        this.expected[OK] = [['timeout', 'A']];
        this.expected[NON_STRICT] = [
          ['timeout', 'A'],
          ['timeout', 'B'],
        ];
        this.expectedClose = invalidClose;
        if (how === 'frames') {
          this.p.sendFrame({ opcode: 1, fin: false, payload: parts[0] });
        } else {
          this.p.beginMessage();
          this.p.beginMessageFrame(FAILFAST.length);
          this.p.sendMessageFrameData(parts[0]);
        }
        this.p.continueLater(1, () => this.part2(), 'A');
      },
      part2() {
        if (this.p.state !== STATE.OPEN) return;
        this.received.push(['timeout', 'A']);
        if (how === 'frames') this.p.sendFrame({ opcode: 0, fin: false, payload: parts[1] });
        else this.p.sendMessageFrameData(parts[1]);
        this.p.continueLater(1, () => this.part3(), 'B');
      },
      part3() {
        if (this.p.state !== STATE.OPEN) return;
        this.received.push(['timeout', 'B']);
        if (how === 'frames') {
          this.p.sendFrame({ opcode: 0, fin: true, payload: parts[2] });
        } else {
          this.p.sendMessageFrameData(parts[2]);
          this.p.endMessage();
        }
        this.p.killAfter(1);
      },
    },
    { maxSeconds: 10 },
  );
}

const partsText = (a, b, c) => `<br><br>MESSAGE PARTS:<br>PART1 = ${hex(a)}<br>PART2 = ${hex(b)}<br>PART3 = ${hex(c)}<br>`;
const split12 = [FAILFAST.subarray(0, 12), FAILFAST.subarray(12, 13), FAILFAST.subarray(13)];

function generated() {
  const out = [];
  let i = 5;
  for (const [title, seqs] of utf8TestSequences()) {
    let j = 1;
    for (const [valid, payload] of seqs) {
      const description = `Send a text message with payload which is ${valid ? '' : 'not '}valid UTF-8 in one fragment.<br><br>Payload: 0x${hex(payload)}`;
      const expectation = valid ? ECHO : 'The connection is failed immediately, since the payload is not valid UTF-8.';
      const C = defineCase(`6.${i}.${j}`, description, expectation, {
        onOpen() {
          if (valid) {
            this.expected[OK] = [['message', payload, false]];
            this.expectedClose = normalClose;
          } else {
            this.expected[OK] = [];
            this.expectedClose = invalidClose;
          }
          this.p.sendMessage(payload, { isBinary: false });
          this.p.killAfter(0.5);
        },
      });
      C.SUBCATEGORY = title;
      out.push(C);
      j++;
    }
    i++;
  }
  return out;
}

export default [
  echoed('6.1.1', 'Send text message of length 0.', "A message is echo'ed back to us (with empty payload).", [{ opcode: 1, payload: Buffer.alloc(0) }]),
  echoed('6.1.2', 'Send fragmented text message, 3 fragments each of length 0.', "A message is echo'ed back to us (with empty payload).", [
    { opcode: 1, fin: false, payload: Buffer.alloc(0) },
    { opcode: 0, fin: false, payload: Buffer.alloc(0) },
    { opcode: 0, fin: true, payload: Buffer.alloc(0) },
  ]),
  echoed(
    '6.1.3',
    'Send fragmented text message, 3 fragments, first and last of length 0, middle non-empty.',
    "A message is echo'ed back to us (with payload = payload of middle fragment).",
    [
      { opcode: 1, fin: false, payload: Buffer.alloc(0) },
      { opcode: 0, fin: false, payload: utf8('middle frame payload') },
      { opcode: 0, fin: true, payload: Buffer.alloc(0) },
    ],
  ),
  sendAsMessage(
    '6.2.1',
    `Send a valid UTF-8 text message in one fragment.<br><br>MESSAGE:<br>Hello-µ@ßöäüàá-UTF-8!!<br>${hex(HELLO_UTF8)}`,
    ECHO,
    HELLO_UTF8,
    null,
    true,
  ),
  echoed(
    '6.2.2',
    `Send a valid UTF-8 text message in two fragments, fragmented on UTF-8 code point boundary.<br><br>MESSAGE FRAGMENT 1:<br>Hello-µ@ßöä<br>${hex(utf8('Hello-µ@ßöä'))}<br><br>MESSAGE FRAGMENT 2:<br>üàá-UTF-8!!<br>${hex(utf8('üàá-UTF-8!!'))}`,
    ECHO,
    [
      { opcode: 1, fin: false, payload: utf8('Hello-µ@ßöä') },
      { opcode: 0, fin: true, payload: utf8('üàá-UTF-8!!') },
    ],
  ),
  sendAsMessage(
    '6.2.3',
    `Send a valid UTF-8 text message in fragments of 1 octet, resulting in frames ending on positions which are not code point ends.<br><br>MESSAGE:<br>Hello-µ@ßöäüàá-UTF-8!!<br>${hex(HELLO_UTF8)}`,
    ECHO,
    HELLO_UTF8,
    1,
    true,
  ),
  sendAsMessage(
    '6.2.4',
    `Send a valid UTF-8 text message in fragments of 1 octet, resulting in frames ending on positions which are not code point ends.<br><br>MESSAGE:<br>κόσμε<br>${hex(KOSME)}`,
    ECHO,
    KOSME,
    1,
    true,
  ),
  sendAsMessage(
    '6.3.1',
    `Send invalid UTF-8 text message unfragmented.<br><br>MESSAGE:<br>${hex(INVALID_63)}`,
    'The connection is failed immediately, since the payload is not valid UTF-8.',
    INVALID_63,
    null,
    false,
  ),
  sendAsMessage(
    '6.3.2',
    `Send invalid UTF-8 text message in fragments of 1 octet, resulting in frames ending on positions which are not code point ends.<br><br>MESSAGE:<br>${hex(INVALID_63)}`,
    'The connection is failed immediately, since the payload is not valid UTF-8.',
    INVALID_63,
    1,
    false,
  ),
  failFast(
    '6.4.1',
    'Send invalid UTF-8 text message in 3 fragments (frames). First frame payload is valid, then wait, then 2nd frame which contains the payload making the sequence invalid, then wait, then 3rd frame with rest. Note that PART1 and PART3 are valid UTF-8 in themselves, PART2 is a 0x110000 encoded as in the UTF-8 integer encoding scheme, but the codepoint is invalid (out of range).' +
      partsText(P1, P2, P3),
    FAILFAST_EXPECTATION,
    [P1, P2, P3],
    'frames',
  ),
  failFast(
    '6.4.2',
    'Same as Case 6.4.1, but in 2nd frame, we send only up to and including the octet making the complete payload invalid.' + partsText(...split12),
    FAILFAST_EXPECTATION,
    split12,
    'frames',
  ),
  failFast(
    '6.4.3',
    'Same as Case 6.4.1, but we send message not in 3 frames, but in 3 chops of the same message frame.' + partsText(P1, P2, P3),
    FAILFAST_EXPECTATION.replace('first frame', 'first chop').replace('2nd frame', '2nd chop'),
    [P1, P2, P3],
    'chops',
  ),
  failFast(
    '6.4.4',
    'Same as Case 6.4.2, but we send message not in 3 frames, but in 3 chops of the same message frame.' + partsText(...split12),
    FAILFAST_EXPECTATION.replace('first frame', 'first chop').replace('2nd frame', '2nd chop'),
    split12,
    'chops',
  ),
  ...generated(),
];

export const SUBCATEGORIES = Object.fromEntries(utf8TestSequences().map(([title], k) => [`6.${k + 5}`, title]));
