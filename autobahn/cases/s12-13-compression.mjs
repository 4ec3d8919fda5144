/**
 * Sections 12 and 13, WebSocket Compression (permessage-deflate, RFC 7692):
 * 12.D.S sends 1000 compressed messages of size S from data set D, one at a
 * time, each echo checked by type, length and SHA-1; 13.P.S does the same
 * with the client offers / server accepts of parameter set P. The harness
 * offers (as client) or accepts (as server) the extension only in these
 * cases (lib/deflate.mjs); when the testee does not negotiate it, the case
 * ends at once as UNIMPLEMENTED, as in the real suite.
 */
import { createHash } from 'node:crypto';
import { CLOSE } from '../lib/codec.mjs';
import { FAILED, OK, UNIMPLEMENTED } from '../lib/case-base.mjs';
import { defineCase } from '../lib/define.mjs';
import { testData } from './compression-data.mjs';

/** [payload length, message count, case timeout s, auto-fragment size] */
const MSG_SIZES = [
  [16, 1000, 60, 0],
  [64, 1000, 60, 0],
  [256, 1000, 120, 0],
  [1024, 1000, 240, 0],
  [4096, 1000, 480, 0],
  [8192, 1000, 480, 0],
  [16384, 1000, 480, 0],
  [32768, 1000, 480, 0],
  [65536, 1000, 480, 0],
  [131072, 1000, 480, 0],
  [8192, 1000, 480, 256],
  [16384, 1000, 480, 256],
  [32768, 1000, 480, 256],
  [65536, 1000, 480, 256],
  [131072, 1000, 480, 256],
  [131072, 1000, 480, 1024],
  [131072, 1000, 480, 4096],
  [131072, 1000, 480, 32768],
];

/** The suite's data sets, in its (fixed) order for 12.1 .. 12.5. */
const TESTDATA = [
  { key: 'json_data1', desc: 'Large JSON data file', file: 'data1.json', binary: false },
  { key: 'lena512', desc: 'Lena Picture, Bitmap 512x512 bw', file: 'lena512.bmp', binary: true },
  { key: 'gutenberg_faust', desc: "Human readable text, Goethe's Faust I (German)", file: 'pg2229.txt', binary: true },
  { key: 'html_data1', desc: 'Large HTML file', file: 'data1.html', binary: false },
  { key: 'ooms', desc: 'A larger PDF', file: '10.1.1.105.5439.pdf', binary: true },
];

/**
 * 13.1 .. 13.7: what the client offers and what the server accepts, as
 * (requestNoContextTakeover, requestMaxWindowBits) pairs (0 = not requested).
 */
export const DEFLATE_PARAMS = [
  { offers: [[false, 0]], accepts: [[false, 0]] },
  { offers: [[true, 0]], accepts: [[true, 0]] },
  { offers: [[false, 9]], accepts: [[false, 9]] },
  { offers: [[false, 15]], accepts: [[false, 15]] },
  { offers: [[true, 9]], accepts: [[true, 9]] },
  { offers: [[true, 15]], accepts: [[true, 15]] },
  {
    offers: [
      [true, 9],
      [true, 0],
      [false, 0],
    ],
    accepts: [
      [true, 9],
      [true, 0],
      [false, 0],
    ],
  },
];

function compressionCase(id, [len, count, waitSecs, autoFrag], testdata, deflate, paramsText) {
  return defineCase(
    id,
    `Send ${count} compressed messages each of payload size ${len}, auto-fragment to ${autoFrag} octets. Use ${paramsText}`,
    `Receive echo'ed messages (with payload as sent). Timeout case after ${waitSecs} secs.`,
    {
      init() {
        this.reportTime = true;
        this.expectedClose = { closedByMe: true, closeCode: [CLOSE.NORMAL], requireClean: true };
      },
      onOpen() {
        this.p.enableWirelog(false);
        this.p.autoFragmentSize = autoFrag;
        if (!this.p.perMessageDeflate) {
          this.behavior = UNIMPLEMENTED;
          this.result = 'permessage-deflate was not negotiated.';
          this.p.sendClose(CLOSE.NORMAL);
          return;
        }
        this.behavior = FAILED;
        this.result = `Case did not finish within ${waitSecs} seconds.`;
        this.p.closeAfter(waitSecs);
        this.data = testData(testdata.key);
        this.pointer = 0;
        this.count = 0;
        this.sendOne();
      },
      sendOne() {
        // The next len bytes of the data set, wrapping around at its end.
        const from = this.pointer;
        const to = (from + len) % this.data.length;
        const msg =
          len === 0 ? Buffer.alloc(0) : to > from ? this.data.subarray(from, to) : Buffer.concat([this.data.subarray(from), this.data.subarray(0, to)]);
        this.pointer = to;
        this.expectedHash = createHash('sha1').update(msg).digest('hex');
        this.p.sendMessage(msg, { isBinary: testdata.binary });
        this.count++;
      },
      onMessage(msg, isBinary) {
        const hash = createHash('sha1').update(msg).digest('hex');
        if (isBinary !== testdata.binary || msg.length !== len || hash !== this.expectedHash) {
          this.behavior = FAILED;
          if (isBinary !== testdata.binary)
            this.result = `Echo'ed message type differs from what I sent (got binary ${isBinary}, expected binary ${testdata.binary}).`;
          else if (msg.length !== len) this.result = `Echo'ed message length differs from what I sent (got length ${msg.length}, expected length ${len}).`;
          else this.result = `Echo'ed message contents differs from what I sent (got SHA1 ${hash}, expected SHA1 ${this.expectedHash}).`;
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
    { maxSeconds: Math.min(waitSecs, 120) + 15, statics: { DEFLATE: deflate, TESTDATA: testdata, MESSAGE: { len, count, autoFrag } } },
  );
}

const cases12 = TESTDATA.flatMap((td, j) =>
  MSG_SIZES.map((s, i) => compressionCase(`12.${j + 1}.${i + 1}`, s, td, DEFLATE_PARAMS[0], 'default permessage-deflate offer.')),
);

const cases13 = DEFLATE_PARAMS.flatMap((dp, j) =>
  MSG_SIZES.map((s, i) =>
    compressionCase(
      `13.${j + 1}.${i + 1}`,
      s,
      TESTDATA[0],
      dp,
      `permessage-deflate client offers (requestNoContextTakeover, requestMaxWindowBits): ${JSON.stringify(dp.offers)}`,
    ),
  ),
);

export const SUBCATEGORIES = {
  ...Object.fromEntries(TESTDATA.map((td, j) => [`12.${j + 1}`, `${td.desc} (${td.binary ? 'binary' : 'utf8'})`])),
  ...Object.fromEntries(
    DEFLATE_PARAMS.map((dp, j) => [
      `13.${j + 1}`,
      `Large JSON data file (utf8) - client offers ${JSON.stringify(dp.offers)} / server accepts ${JSON.stringify(dp.accepts)}`,
    ]),
  ),
};

export default [...cases12, ...cases13];
