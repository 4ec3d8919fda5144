/**
 * The UTF-8 test sequences behind cases 6.5.x-6.23.x, in the suite's order
 * (after Markus Kuhn's UTF-8-test.txt). Each group becomes subsection 6.N
 * (N from 5) and each sequence case 6.N.M, valid ones echoed, invalid ones
 * failing the connection with 1007.
 */
import { bytes } from '../lib/case-base.mjs';
import { Utf8Validator } from '../lib/utf8.mjs';

const range = (from, to) => Array.from({ length: to - from }, (_, i) => from + i); // [from, to)
const chars = (codes) => Buffer.from(codes);

/** @returns {Array<[string, Array<[boolean, Buffer]>]>} */
export function utf8TestSequences() {
  const groups = [];
  const vss = bytes('\xce\xba\xe1\xbd\xb9\xcf\x83\xce\xbc\xce\xb5'); // "κόσμε"

  groups.push([
    'Some valid UTF-8 sequences',
    [
      [true, bytes('hello\x24world')],
      [true, bytes('hello\xC2\xA2world')],
      [true, bytes('hello\xE2\x82\xACworld')],
      [true, bytes('hello\xF0\xA4\xAD\xA2world')],
      [true, vss],
    ],
  ]);

  const prefixes = [];
  for (let i = 1; i <= vss.length; i++) {
    const v = new Utf8Validator();
    const ok = v.validate(vss.subarray(0, i)) && v.complete;
    prefixes.push([ok, Buffer.from(vss.subarray(0, i))]);
  }
  groups.push(['All prefixes of a valid UTF-8 string that contains multi-byte code points', prefixes]);

  groups.push([
    'First possible sequence of a certain length',
    [
      [true, bytes('\x00')],
      [true, bytes('\xc2\x80')],
      [true, bytes('\xe0\xa0\x80')],
      [true, bytes('\xf0\x90\x80\x80')],
    ],
  ]);
  groups.push([
    'First possible sequence length 5/6 (invalid codepoints)',
    [
      [false, bytes('\xf8\x88\x80\x80\x80')],
      [false, bytes('\xfc\x84\x80\x80\x80\x80')],
    ],
  ]);
  groups.push([
    'Last possible sequence of a certain length',
    [
      [true, bytes('\x7f')],
      [true, bytes('\xdf\xbf')],
      [true, bytes('\xef\xbf\xbf')],
      [true, bytes('\xf4\x8f\xbf\xbf')],
    ],
  ]);
  groups.push([
    'Last possible sequence length 4/5/6 (invalid codepoints)',
    [
      [false, bytes('\xf7\xbf\xbf\xbf')],
      [false, bytes('\xfb\xbf\xbf\xbf\xbf')],
      [false, bytes('\xfd\xbf\xbf\xbf\xbf\xbf')],
    ],
  ]);
  groups.push([
    'Other boundary conditions',
    [
      [true, bytes('\xed\x9f\xbf')],
      [true, bytes('\xee\x80\x80')],
      [true, bytes('\xef\xbf\xbd')],
      [true, bytes('\xf4\x8f\xbf\xbf')],
      [false, bytes('\xf4\x90\x80\x80')],
    ],
  ]);
  groups.push([
    'Unexpected continuation bytes',
    [
      [false, bytes('\x80')],
      [false, bytes('\xbf')],
      [false, bytes('\x80\xbf')],
      [false, bytes('\x80\xbf\x80')],
      [false, bytes('\x80\xbf\x80\xbf')],
      [false, bytes('\x80\xbf\x80\xbf\x80')],
      [false, bytes('\x80\xbf\x80\xbf\x80\xbf')],
      [false, chars(range(0x80, 0xbf))], // 0x80..0xbe, as the suite builds it
    ],
  ]);
  groups.push([
    'Lonely start characters',
    [
      [0xc0, 0xdf],
      [0xe0, 0xef],
      [0xf0, 0xf7],
      [0xf8, 0xfb],
      [0xfc, 0xfd],
    ].map(([a, b]) => [false, chars(range(a, b).flatMap((c) => [c, 0x20]))]),
  ]);
  const lastMissing = [
    '\xc0',
    '\xe0\x80',
    '\xf0\x80\x80',
    '\xf8\x80\x80\x80',
    '\xfc\x80\x80\x80\x80',
    '\xdf',
    '\xef\xbf',
    '\xf7\xbf\xbf',
    '\xfb\xbf\xbf\xbf',
    '\xfd\xbf\xbf\xbf\xbf',
  ];
  groups.push(['Sequences with last continuation byte missing', lastMissing.map((s) => [false, bytes(s)])]);
  groups.push(['Concatenation of incomplete sequences', [[false, bytes(lastMissing.join(''))]]]);
  groups.push([
    'Impossible bytes',
    [
      [false, bytes('\xfe')],
      [false, bytes('\xff')],
      [false, bytes('\xfe\xfe\xff\xff')],
    ],
  ]);
  groups.push([
    'Examples of an overlong ASCII character',
    ['\xc0\xaf', '\xe0\x80\xaf', '\xf0\x80\x80\xaf', '\xf8\x80\x80\x80\xaf', '\xfc\x80\x80\x80\x80\xaf'].map((s) => [false, bytes(s)]),
  ]);
  groups.push([
    'Maximum overlong sequences',
    ['\xc1\xbf', '\xe0\x9f\xbf', '\xf0\x8f\xbf\xbf', '\xf8\x87\xbf\xbf\xbf', '\xfc\x83\xbf\xbf\xbf\xbf'].map((s) => [false, bytes(s)]),
  ]);
  groups.push([
    'Overlong representation of the NUL character',
    ['\xc0\x80', '\xe0\x80\x80', '\xf0\x80\x80\x80', '\xf8\x80\x80\x80\x80', '\xfc\x80\x80\x80\x80\x80'].map((s) => [false, bytes(s)]),
  ]);
  groups.push([
    'Single UTF-16 surrogates',
    ['\xed\xa0\x80', '\xed\xad\xbf', '\xed\xae\x80', '\xed\xaf\xbf', '\xed\xb0\x80', '\xed\xbe\x80', '\xed\xbf\xbf'].map((s) => [false, bytes(s)]),
  ]);
  groups.push([
    'Paired UTF-16 surrogates',
    [
      '\xed\xa0\x80\xed\xb0\x80',
      '\xed\xa0\x80\xed\xbf\xbf',
      '\xed\xad\xbf\xed\xb0\x80',
      '\xed\xad\xbf\xed\xbf\xbf',
      '\xed\xae\x80\xed\xb0\x80',
      '\xed\xae\x80\xed\xbf\xbf',
      '\xed\xaf\xbf\xed\xb0\x80',
      '\xed\xaf\xbf\xed\xbf\xbf',
    ].map((s) => [false, bytes(s)]),
  ]);
  const nonChars = [
    [true, bytes('\xef\xbf\xbe')],
    [true, bytes('\xef\xbf\xbf')],
  ];
  for (const z1 of ['\xf0', '\xf1', '\xf2', '\xf3', '\xf4']) {
    for (const z2 of ['\x8f', '\x9f', '\xaf', '\xbf']) {
      if (z1 === '\xf4' && z2 !== '\x8f') continue; // above U+10FFFF
      for (const z3 of ['\xbe', '\xbf']) {
        const zz = z1 + z2 + '\xbf' + z3;
        if (zz === '\xf0\x8f\xbf\xbe' || zz === '\xf0\x8f\xbf\xbf') continue; // overlong
        nonChars.push([true, bytes(zz)]);
      }
    }
  }
  groups.push(['Non-character code points (valid UTF-8)', nonChars]);
  groups.push([
    'Unicode specials (i.e. replacement char)',
    ['\xef\xbf\xb9', '\xef\xbf\xba', '\xef\xbf\xbb', '\xef\xbf\xbc', '\xef\xbf\xbd', '\xef\xbf\xbe', '\xef\xbf\xbf'].map((s) => [true, bytes(s)]),
  ]);
  return groups;
}
