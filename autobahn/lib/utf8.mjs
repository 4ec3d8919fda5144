/**
 * Incremental UTF-8 validator (RFC 3629), written for the harness alone so a
 * validation bug in the library under test cannot hide itself here.
 *
 * It fails at the first byte that cannot continue a valid sequence (fail
 * fast, as Autobahn's validator does): overlongs, surrogates (U+D800..DFFF)
 * and code points above U+10FFFF are rejected at their second byte.
 */

export class Utf8Validator {
  constructor() {
    this.reset();
  }

  reset() {
    /** Continuation bytes still expected in the current sequence. */
    this.need = 0;
    /** Allowed range of the next continuation byte (narrower right after some lead bytes). */
    this.lo = 0x80;
    this.hi = 0xbf;
    this.valid = true;
    /** Bytes accepted so far, and where it failed (message offset) if it did. */
    this.consumed = 0;
    this.failedAt = -1;
  }

  /** True when everything seen so far is valid and ends on a code point boundary. */
  get complete() {
    return this.valid && this.need === 0;
  }

  /**
   * Feeds bytes; returns false once the stream can no longer be valid UTF-8.
   * @param {Uint8Array} buf
   * @param {number} [start]
   * @param {number} [end]
   * @returns {boolean}
   */
  validate(buf, start = 0, end = buf.length) {
    if (!this.valid) return false;
    let { need, lo, hi } = this;
    let i = start;
    for (; i < end; i++) {
      const b = buf[i];
      if (need === 0) {
        if (b < 0x80) continue;
        if (b >= 0xc2 && b <= 0xdf) {
          need = 1;
          lo = 0x80;
          hi = 0xbf;
        } else if (b === 0xe0) {
          need = 2;
          lo = 0xa0;
          hi = 0xbf; // no overlong 3-byte forms
        } else if ((b >= 0xe1 && b <= 0xec) || b === 0xee || b === 0xef) {
          need = 2;
          lo = 0x80;
          hi = 0xbf;
        } else if (b === 0xed) {
          need = 2;
          lo = 0x80;
          hi = 0x9f; // no surrogates
        } else if (b === 0xf0) {
          need = 3;
          lo = 0x90;
          hi = 0xbf; // no overlong 4-byte forms
        } else if (b >= 0xf1 && b <= 0xf3) {
          need = 3;
          lo = 0x80;
          hi = 0xbf;
        } else if (b === 0xf4) {
          need = 3;
          lo = 0x80;
          hi = 0x8f; // nothing above U+10FFFF
        } else {
          return this.#fail(i - start);
        }
      } else {
        if (b < lo || b > hi) return this.#fail(i - start);
        lo = 0x80;
        hi = 0xbf;
        need--;
      }
    }
    this.need = need;
    this.lo = lo;
    this.hi = hi;
    this.consumed += end - start;
    return true;
  }

  #fail(offset) {
    this.valid = false;
    this.failedAt = this.consumed + offset;
    this.consumed += offset;
    return false;
  }
}

/** Whole-buffer check. */
export function isValidUtf8(buf) {
  const v = new Utf8Validator();
  return v.validate(buf) && v.complete;
}
