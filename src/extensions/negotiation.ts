/**
 * permessage-deflate negotiation (RFC 7692 §5, §7.1). Header values are
 * parsed by walking characters (no regular expressions); parameters land in
 * Maps. The server declines an offer it cannot honour and tries the next one;
 * the client fails the handshake on any response the RFC forbids.
 */
import { isSpace, isTchar } from '../core/header-tokens.js';

export type ExtensionParams = Map<string, string | true>;
export interface ExtensionOffer {
  name: string;
  params: ExtensionParams;
}

/**
 * Parses a Sec-WebSocket-Extensions value: `name; param; param=value, name2`.
 * Values may be tokens or quoted strings. Returns null when malformed; a
 * repeated parameter makes the whole offer malformed too (it is recorded as a
 * duplicate and rejected by the validators below).
 */
export function parseExtensions(value: string): ExtensionOffer[] | null {
  const offers: ExtensionOffer[] = [];
  let i = 0;
  const n = value.length;
  const skipSpace = () => {
    while (i < n && isSpace(value.charCodeAt(i))) i++;
  };
  const token = (): string | null => {
    const start = i;
    while (i < n && isTchar(value.charCodeAt(i))) i++;
    return i > start ? value.slice(start, i) : null;
  };
  const quoted = (): string | null => {
    if (value[i] !== '"') return null;
    i++;
    let out = '';
    while (i < n && value[i] !== '"') {
      if (value[i] === '\\') i++;
      if (i < n) out += value[i++];
    }
    if (value[i] !== '"') return null;
    i++;
    return out;
  };

  for (;;) {
    skipSpace();
    if (i >= n) break;
    if (value[i] === ',') {
      i++;
      continue;
    }
    const name = token();
    if (name === null) return null;
    const params: ExtensionParams = new Map();
    const offer: ExtensionOffer = { name: name.toLowerCase(), params };
    for (;;) {
      skipSpace();
      if (i >= n || value[i] === ',') break;
      if (value[i] !== ';') return null;
      i++;
      skipSpace();
      const key = token();
      if (key === null) return null;
      skipSpace();
      let v: string | true = true;
      if (value[i] === '=') {
        i++;
        skipSpace();
        const parsed = value[i] === '"' ? quoted() : token();
        if (parsed === null) return null;
        v = parsed;
      }
      const lower = key.toLowerCase();
      if (params.has(lower)) params.set(DUPLICATE, true);
      params.set(lower, v);
    }
    offers.push(offer);
  }
  return offers;
}

/** Marks a repeated parameter (never a valid parameter name: it has a space). */
const DUPLICATE = ' duplicate';

/**
 * By default wsbolt compresses and decompresses every message on its own (no
 * context takeover in either direction, which it negotiates): no zlib state
 * lives on an idle connection, memory is bounded per message, small messages
 * are (de)compressed inline, and one compressed frame can be written to every
 * subscriber of a topic. Context takeover is opt-in per direction: better
 * ratios for repetitive traffic, paid with a zlib stream per connection and
 * direction (bounded by the window) and thread-pool work for every message.
 */
export interface DeflateOptions {
  /** LZ77 window of the server's compressor, 8..15. */
  serverMaxWindowBits?: number;
  /** LZ77 window of the client's compressor, 8..15. */
  clientMaxWindowBits?: number;
  /**
   * true (default): the server's compressor starts afresh for every message.
   * false: it keeps its context (a deflate stream per connection, about
   * 4·2^serverMaxWindowBits + 2^(memLevel+9) bytes, 256 KiB at 15/8) unless
   * the client asks it not to; a client with false does not ask.
   */
  serverNoContextTakeover?: boolean;
  /**
   * true (default): the client's compressor starts afresh for every message
   * (a server asks the client for this; a client offers it). false: a server
   * lets the client keep its context, unless the client says it will not
   * (then our inflater needs no window of its own); a client keeps its
   * context unless the server asks it not to.
   */
  clientNoContextTakeover?: boolean;
  /** Messages smaller than this (bytes) are sent uncompressed. Default 1024. */
  threshold?: number;
  /**
   * Messages of at least this many bytes (the input of zlib: plain to send,
   * compressed when received) are compressed or inflated on the thread pool,
   * through the process-wide limiter (see setZlibConcurrency), instead of
   * inline; so is an inflate whose output passes 16 times this. Default
   * 64 KiB. A direction with context takeover is always offloaded.
   */
  asyncThreshold?: number;
  /** zlib compression level, 0..9. Default 6 (zlib's). */
  level?: number;
  /** zlib memLevel, 1..9. Default 8. */
  memLevel?: number;
}

/** What was agreed; window bits of 15 mean "not limited". */
export interface DeflateParams {
  serverNoContextTakeover: boolean;
  clientNoContextTakeover: boolean;
  serverMaxWindowBits: number;
  clientMaxWindowBits: number;
}

const KNOWN = new Set(['server_no_context_takeover', 'client_no_context_takeover', 'server_max_window_bits', 'client_max_window_bits']);

function windowBits(v: string | true | undefined): number | null {
  if (typeof v !== 'string' || v.length === 0 || v.length > 2) return null;
  for (let k = 0; k < v.length; k++) if (v.charCodeAt(k) < 0x30 || v.charCodeAt(k) > 0x39) return null;
  const bits = Number(v);
  return bits >= 8 && bits <= 15 && String(bits) === v ? bits : null;
}

/** Structural check shared by both sides: known names, no duplicates, valid values (RFC 7692 §7.1). */
export function validParams(params: ExtensionParams): boolean {
  for (const [key, v] of params) {
    if (!KNOWN.has(key)) return false;
    if ((key === 'server_no_context_takeover' || key === 'client_no_context_takeover') && v !== true) return false;
    if (key === 'server_max_window_bits' && windowBits(v) === null) return false;
    if (key === 'client_max_window_bits' && v !== true && windowBits(v) === null) return false;
  }
  return true;
}

function formatResponse(p: DeflateParams, includeClientBits: boolean, includeServerBits: boolean): string {
  let out = 'permessage-deflate';
  if (p.serverNoContextTakeover) out += '; server_no_context_takeover';
  if (p.clientNoContextTakeover) out += '; client_no_context_takeover';
  if (includeServerBits) out += `; server_max_window_bits=${p.serverMaxWindowBits}`;
  if (includeClientBits) out += `; client_max_window_bits=${p.clientMaxWindowBits}`;
  return out;
}

/**
 * Server side: picks the first permessage-deflate offer it can honour.
 * By default the server resets both contexts after every message (it asks
 * the client to, RFC 7692 §7.1.1.2); serverNoContextTakeover: false and
 * clientNoContextTakeover: false let either side keep its context.
 */
export function acceptOffer(header: string | undefined, options: DeflateOptions): { params: DeflateParams; response: string } | null {
  if (!header) return null;
  const offers = parseExtensions(header);
  if (!offers) return null;
  for (const { name, params } of offers) {
    if (name !== 'permessage-deflate' || !validParams(params)) continue;
    const offeredServerBits = params.has('server_max_window_bits') ? windowBits(params.get('server_max_window_bits')) : null;
    const clientBitsOffered = params.has('client_max_window_bits');
    const offeredClientBits = clientBitsOffered ? windowBits(params.get('client_max_window_bits')) : null;
    // A client window limit we want, but the client did not say it can honour: decline (§7.1.2.2).
    if (options.clientMaxWindowBits !== undefined && !clientBitsOffered) continue;
    let serverBits = options.serverMaxWindowBits ?? 15;
    if (offeredServerBits !== null) serverBits = Math.min(serverBits, offeredServerBits);
    let clientBits = options.clientMaxWindowBits ?? 15;
    if (offeredClientBits !== null) clientBits = Math.min(clientBits, offeredClientBits);
    const agreed: DeflateParams = {
      // The client asked us to reset (§7.1.1.1): echo it. Otherwise our compressor follows
      // options.serverNoContextTakeover on its own; a stateless one need not say so.
      serverNoContextTakeover: params.has('server_no_context_takeover'),
      // By default our inflater is stateless, so the client must be too (§7.1.1.2). With the
      // option false we let it keep context, but a client that said it will not is held to it:
      // echoing its hint saves the connection an inflate window.
      clientNoContextTakeover: options.clientNoContextTakeover !== false || params.has('client_no_context_takeover'),
      serverMaxWindowBits: serverBits,
      clientMaxWindowBits: clientBits,
    };
    const includeServerBits = offeredServerBits !== null || options.serverMaxWindowBits !== undefined;
    const includeClientBits = clientBitsOffered && (offeredClientBits !== null || options.clientMaxWindowBits !== undefined);
    return { params: agreed, response: formatResponse(agreed, includeClientBits, includeServerBits) };
  }
  return null;
}

/** Client side: the offer to send. */
export function buildOffer(options: DeflateOptions): string {
  let out = 'permessage-deflate';
  // By default our inflater is stateless, so the server must not carry context over (§7.1.1.1).
  if (options.serverNoContextTakeover !== false) out += '; server_no_context_takeover';
  // A hint that our compressor resets (§7.1.1.2); left out when we want to keep our context.
  if (options.clientNoContextTakeover !== false) out += '; client_no_context_takeover';
  if (options.serverMaxWindowBits !== undefined) out += `; server_max_window_bits=${options.serverMaxWindowBits}`;
  out += options.clientMaxWindowBits !== undefined ? `; client_max_window_bits=${options.clientMaxWindowBits}` : '; client_max_window_bits';
  return out;
}

/** Client side: checks the server's answer to buildOffer(); returns the agreement or why it is unacceptable. */
export function acceptResponse(header: string, options: DeflateOptions): DeflateParams | string {
  const offers = parseExtensions(header);
  if (!offers || offers.length === 0) return 'malformed Sec-WebSocket-Extensions in the response';
  if (offers.length > 1) return 'the server accepted more than one extension';
  const { name, params } = offers[0]!;
  if (name !== 'permessage-deflate') return `the server chose an extension that was not offered (${name})`;
  if (!validParams(params)) return 'invalid permessage-deflate parameters in the response';
  const serverBits = params.has('server_max_window_bits') ? windowBits(params.get('server_max_window_bits'))! : 15;
  if (options.serverMaxWindowBits !== undefined && serverBits > options.serverMaxWindowBits) return 'server_max_window_bits above the offered value';
  if (params.get('client_max_window_bits') === true) return 'client_max_window_bits needs a value in a response';
  const clientBits = params.has('client_max_window_bits') ? windowBits(params.get('client_max_window_bits'))! : 15;
  if (options.clientMaxWindowBits !== undefined && clientBits > options.clientMaxWindowBits) return 'client_max_window_bits above the offered value';
  const serverReset = params.has('server_no_context_takeover');
  if (options.serverNoContextTakeover !== false && !serverReset) {
    // §7.1.1.1: a server accepting an offer with server_no_context_takeover must echo it.
    return 'the server did not accept server_no_context_takeover';
  }
  return {
    // Without our asking, the server may still reset its context; then our inflater needs no window (§7.1.1.1).
    serverNoContextTakeover: serverReset,
    // The server may require it (§7.1.1.2); and when we offered it, we reset whatever the answer says.
    clientNoContextTakeover: params.has('client_no_context_takeover') || options.clientNoContextTakeover !== false,
    serverMaxWindowBits: serverBits,
    clientMaxWindowBits: clientBits,
  };
}
