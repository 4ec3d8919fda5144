/**
 * HTTP header value parsing with a character table and index walks: no
 * regular expressions (ws once had a ReDoS in Sec-WebSocket-Protocol), and
 * parsed parameters go into Maps, never plain objects (no __proto__ keys).
 */

/** RFC 7230 §3.2.6 tchar. */
const TCHAR = new Uint8Array(128);
for (const c of "!#$%&'*+-.^_`|~") TCHAR[c.charCodeAt(0)] = 1;
for (let c = 0x30; c <= 0x39; c++) TCHAR[c] = 1;
for (let c = 0x41; c <= 0x5a; c++) TCHAR[c] = 1;
for (let c = 0x61; c <= 0x7a; c++) TCHAR[c] = 1;

/** True for a character code RFC 7230 allows in a token. */
export function isTchar(code: number): boolean {
  return code < 128 && TCHAR[code] === 1;
}

export function isToken(s: string): boolean {
  if (s.length === 0) return false;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c >= 128 || TCHAR[c] === 0) return false;
  }
  return true;
}

/** RFC 7230 §3.2.3 whitespace (OWS): space or horizontal tab. */
export const isSpace = (c: number): boolean => c === 0x20 || c === 0x09;

/** Calls visit(start, end) for each comma-separated item of value, trimmed of spaces and tabs; stops when visit returns true. */
function forEachItem(value: string, visit: (start: number, end: number) => boolean | void): void {
  let start = 0;
  for (let i = 0; i <= value.length; i++) {
    if (i === value.length || value.charCodeAt(i) === 0x2c) {
      let a = start;
      let b = i;
      while (a < b && isSpace(value.charCodeAt(a))) a++;
      while (b > a && isSpace(value.charCodeAt(b - 1))) b--;
      if (visit(a, b) === true) return;
      start = i + 1;
    }
  }
}

export interface TokenListGrammar {
  /**
   * false (default): a recipient's leniency (RFC 7230 §7): empty items are skipped and the value may have whitespace
   * around it. true: the sender's grammar, 1#token on a field value: at least one item, none empty, no whitespace at
   * either end of the value (ws refuses anything else in Sec-WebSocket-Protocol).
   */
  strict?: boolean;
}

/** Splits a comma-separated header value into trimmed items. Returns null if an item is not a token (or, strict, breaks 1#token). */
export function splitTokenList(value: string, grammar: TokenListGrammar = {}): string[] | null {
  if (grammar.strict && (value.length === 0 || isSpace(value.charCodeAt(0)) || isSpace(value.charCodeAt(value.length - 1)))) return null;
  const items: string[] = [];
  let valid = true;
  forEachItem(value, (a, b) => {
    if (b === a && !grammar.strict) return;
    const item = value.slice(a, b);
    if (!isToken(item)) return !(valid = false);
    items.push(item);
  });
  return valid ? items : null;
}

/** True if the comma-separated header value contains token, case-insensitively. */
export function hasToken(value: string | undefined, token: string): boolean {
  if (value === undefined) return false;
  const wanted = token.toLowerCase();
  let found = false;
  forEachItem(value, (a, b) => (found = b - a === wanted.length && value.slice(a, b).toLowerCase() === wanted));
  return found;
}
