/** The incremental UTF-8 validator on this project's backend, against Node's own isUtf8. */
import { isUtf8 } from 'node:buffer';
import { describe, expect, it } from 'vitest';
import { active, backends } from '../../src/native/index.js';
import { utf8Continue } from '../../src/core/utf8.js';
import { rng } from '../kit/index.js';

const SAMPLES = ['a', 'é', '€', '𝄞', '\u{10ffff}', '\u{fffd}', 'κόσμε', '\u{7ff}', '\u{800}', '\u{d7ff}', '\u{e000}', '\u{10000}'];
const NASTY = [0x80, 0xbf, 0xc0, 0xc1, 0xc2, 0xdf, 0xe0, 0xed, 0xef, 0xf0, 0xf4, 0xf5, 0xff, 0xa0, 0x90, 0x8f];

function nearlyValid(random: ReturnType<typeof rng>, n: number): Buffer {
  const parts: Buffer[] = [];
  let length = 0;
  while (length < n) {
    const r = random.int(10);
    const part =
      r < 7
        ? Buffer.from(SAMPLES[random.int(SAMPLES.length)]!)
        : r < 9
          ? Buffer.from('abcdefgh'.repeat(1 + random.int(20)))
          : Buffer.from([NASTY[random.int(NASTY.length)]!]);
    parts.push(part);
    length += part.length;
  }
  return Buffer.concat(parts);
}

describe('utf8Step', () => {
  it('every state × every byte is defined and REJECT is sticky', () => {
    for (let state = 0; state <= 9; state++) {
      for (let b = 0; b < 256; b++) {
        const next = active.utf8Step(Uint8Array.of(b), state);
        expect(next === 0 || next === 1 || (next >= 2 && next <= 8)).toBe(true);
        if (state === 1 || state === 9) expect(next).toBe(1);
        if (backends.native) expect(backends.native.utf8Step(Uint8Array.of(b), state)).toBe(backends.js.utf8Step(Uint8Array.of(b), state));
      }
    }
  });

  it('agrees with isUtf8 on random near-valid text split at random points, carrying state', () => {
    const random = rng(7);
    for (let round = 0; round < 4000; round++) {
      const bytes = nearlyValid(random, 1 + random.int(round % 10 === 0 ? 3000 : 40));
      const cuts = [0, ...Array.from({ length: random.int(5) }, () => random.int(bytes.length + 1)).sort((a, b) => a - b), bytes.length];
      let state = 0;
      let incremental = 0;
      for (let i = 1; i < cuts.length; i++) {
        const piece = bytes.subarray(cuts[i - 1]!, cuts[i]!);
        state = active.utf8Step(piece, state);
        incremental = utf8Continue(active, piece, incremental);
        expect(incremental === 1).toBe(state === 1);
        if (state !== 1) expect(incremental).toBe(state);
      }
      expect(state === 0, bytes.toString('hex')).toBe(isUtf8(bytes));
    }
  });

  it('rejects at the first impossible byte, before the code point ends', () => {
    expect(active.utf8Step(Uint8Array.of(0xf4, 0x90), 0)).toBe(1); // above U+10FFFF
    expect(active.utf8Step(Uint8Array.of(0xed, 0xa0), 0)).toBe(1); // a surrogate
    expect(active.utf8Step(Uint8Array.of(0xe0, 0x80), 0)).toBe(1); // overlong
    expect(active.utf8Step(Uint8Array.of(0xf4), 0)).toBeGreaterThan(1); // still possible
    expect(active.utf8Step(Uint8Array.of(0x8f, 0x80), active.utf8Step(Uint8Array.of(0xf4), 0))).toBeGreaterThan(1);
  });

  it('is fast enough to take large ASCII and mixed runs', () => {
    const big = Buffer.from('hello wörld € '.repeat(100_000));
    expect(active.utf8Step(big, 0)).toBe(0);
    big[big.length - 3] = 0xff;
    expect(active.utf8Step(big, 0)).toBe(1);
  });
});
