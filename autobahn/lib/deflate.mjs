/**
 * permessage-deflate (RFC 7692) for the compression cases 12.x/13.x, on
 * node:zlib only (never the library under test). Negotiation follows
 * Autobahn's PerMessageDeflateOffer / OfferAccept / Response semantics.
 *
 * Context takeover is kept synchronously without a zlib stream: each message
 * is (de)compressed one-shot with the previous messages' last 32 KiB as the
 * preset dictionary, which gives the sliding window exactly the contents a
 * long-lived stream would have.
 */
import zlib from 'node:zlib';

export const PMD = 'permessage-deflate';
const TAIL = Buffer.from([0x00, 0x00, 0xff, 0xff]);
const WINDOW = 32 * 1024;
/** Fast compression: the testee must inflate any valid stream, and 12.x/13.x move 1000 messages per case. */
const LEVEL = 1;

/** Sec-WebSocket-Extensions → [{ name, params: Map }]; null when malformed (duplicate parameter included). */
export function parseExtensions(value) {
  const out = [];
  for (const part of String(value ?? '').split(',')) {
    const pieces = part.split(';').map((s) => s.trim());
    if (!pieces[0]) continue;
    const params = new Map();
    for (const p of pieces.slice(1)) {
      if (!p) return null;
      const eq = p.indexOf('=');
      const key = (eq < 0 ? p : p.slice(0, eq)).trim().toLowerCase();
      let v = eq < 0 ? true : p.slice(eq + 1).trim();
      if (typeof v === 'string' && v.startsWith('"') && v.endsWith('"') && v.length >= 2) v = v.slice(1, -1);
      if (params.has(key)) return null;
      params.set(key, v);
    }
    out.push({ name: pieces[0].toLowerCase(), params });
  }
  return out;
}

const bits = (v) => (typeof v === 'string' && /^\d+$/.test(v) && Number(v) >= 8 && Number(v) <= 15 ? Number(v) : null);

/** A client's offer string for [requestNoContextTakeover, requestMaxWindowBits] pairs (Autobahn always adds client_no_context_takeover and client_max_window_bits). */
export function offerString(offers) {
  return offers
    .map(([requestNoContextTakeover, requestMaxWindowBits]) => {
      let s = `${PMD}; client_no_context_takeover; client_max_window_bits`;
      if (requestNoContextTakeover) s += '; server_no_context_takeover';
      if (requestMaxWindowBits) s += `; server_max_window_bits=${requestMaxWindowBits}`;
      return s;
    })
    .join(', ');
}

/** One offered permessage-deflate, as the server sees it; null when invalid. */
function parseOffer(params) {
  const o = { acceptNoContextTakeover: false, acceptMaxWindowBits: false, requestNoContextTakeover: false, requestMaxWindowBits: 0 };
  for (const [k, v] of params) {
    if (k === 'client_no_context_takeover' && v === true) o.acceptNoContextTakeover = true;
    else if (k === 'client_max_window_bits' && (v === true || bits(v))) o.acceptMaxWindowBits = true;
    else if (k === 'server_no_context_takeover' && v === true) o.requestNoContextTakeover = true;
    else if (k === 'server_max_window_bits' && bits(v)) o.requestMaxWindowBits = bits(v);
    else return null;
  }
  return o;
}

/**
 * The server side: picks the first offer that fits the first possible of the
 * case's accepts ([requestNoContextTakeover, requestMaxWindowBits] pairs),
 * as the suite's accept1..accept7 do. Returns { header, codec } or null.
 */
export function serverAccept(extensionsHeader, accepts) {
  const exts = parseExtensions(extensionsHeader);
  if (!exts) return null;
  const offers = exts
    .filter((e) => e.name === PMD)
    .map((e) => parseOffer(e.params))
    .filter(Boolean);
  for (const [reqNoContextTakeover, reqMaxWindowBits] of accepts) {
    const offer = offers.find((o) => (!reqNoContextTakeover || o.acceptNoContextTakeover) && (!reqMaxWindowBits || o.acceptMaxWindowBits));
    if (!offer) continue;
    let header = PMD;
    if (offer.requestNoContextTakeover) header += '; server_no_context_takeover';
    if (offer.requestMaxWindowBits) header += `; server_max_window_bits=${offer.requestMaxWindowBits}`;
    if (reqNoContextTakeover) header += '; client_no_context_takeover';
    if (reqMaxWindowBits) header += `; client_max_window_bits=${reqMaxWindowBits}`;
    const codec = new PerMessageDeflate({
      ownNoContextTakeover: offer.requestNoContextTakeover,
      ownWindowBits: offer.requestMaxWindowBits || 15,
      peerNoContextTakeover: reqNoContextTakeover,
      peerWindowBits: reqMaxWindowBits || 15,
    });
    return { header, codec };
  }
  return null;
}

/** The client side: validates the server's answer to our offer; returns { codec } or { error }. */
export function clientAccept(extensionsHeader) {
  const exts = parseExtensions(extensionsHeader);
  if (!exts || exts.length !== 1 || exts[0].name !== PMD) return { error: `unexpected extensions answer: ${extensionsHeader}` };
  const cfg = { ownNoContextTakeover: false, ownWindowBits: 15, peerNoContextTakeover: false, peerWindowBits: 15 };
  for (const [k, v] of exts[0].params) {
    if (k === 'server_no_context_takeover' && v === true) cfg.peerNoContextTakeover = true;
    else if (k === 'server_max_window_bits' && bits(v)) cfg.peerWindowBits = bits(v);
    else if (k === 'client_no_context_takeover' && v === true) cfg.ownNoContextTakeover = true;
    else if (k === 'client_max_window_bits' && bits(v)) cfg.ownWindowBits = bits(v);
    else return { error: `invalid permessage-deflate parameter in answer: ${k}` };
  }
  return { codec: new PerMessageDeflate(cfg) };
}

function keepTail(context, data) {
  if (data.length >= WINDOW) return Buffer.from(data.subarray(data.length - WINDOW));
  const joined = Buffer.concat([context, data]);
  return joined.length > WINDOW ? joined.subarray(joined.length - WINDOW) : joined;
}

export class PerMessageDeflate {
  constructor({ ownNoContextTakeover, ownWindowBits, peerNoContextTakeover, peerWindowBits }) {
    this.ownNoContextTakeover = ownNoContextTakeover;
    this.ownWindowBits = Math.max(9, ownWindowBits); // zlib's raw deflate has no 8-bit window
    this.peerNoContextTakeover = peerNoContextTakeover;
    // Inflate with the agreed window, as Autobahn does (zlib is lenient within one message, but the
    // dictionary carried over from earlier messages is cut to it).
    this.peerWindowBits = peerWindowBits;
    this.txContext = Buffer.alloc(0);
    this.rxContext = Buffer.alloc(0);
  }

  /** A message's payload, compressed, without the trailing 00 00 ff ff. */
  compress(data) {
    const opts = { windowBits: this.ownWindowBits, level: LEVEL, finishFlush: zlib.constants.Z_SYNC_FLUSH };
    if (!this.ownNoContextTakeover && this.txContext.length > 0) opts.dictionary = this.txContext;
    const out = zlib.deflateRawSync(data, opts);
    if (!this.ownNoContextTakeover) this.txContext = keepTail(this.txContext, data);
    return out.subarray(0, out.length - 4);
  }

  /** A received message's payload, inflated (throws on corrupt data). */
  decompress(data) {
    const opts = { windowBits: this.peerWindowBits, finishFlush: zlib.constants.Z_SYNC_FLUSH };
    if (!this.peerNoContextTakeover && this.rxContext.length > 0)
      opts.dictionary = this.rxContext.subarray(Math.max(0, this.rxContext.length - (1 << this.peerWindowBits)));
    const out = zlib.inflateRawSync(Buffer.concat([data, TAIL]), opts);
    if (!this.peerNoContextTakeover) this.rxContext = keepTail(this.rxContext, out);
    return out;
  }
}
