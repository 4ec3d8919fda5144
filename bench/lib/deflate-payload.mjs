// The payload of scenario h: 16 KiB of JSON-like text, compressed once here
// the way a permessage-deflate client without context takeover compresses
// every message (RFC 7692 7.2.1: raw deflate, sync flush, the trailing
// 00 00 ff ff removed). The load generator sends that frame again and again
// with RSV1 set, so it needs no zlib of its own.
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { constants, deflateRawSync } from 'node:zlib';

/** Deterministic JSON-like text of exactly `size` bytes (ASCII). */
export function jsonLikeText(size) {
  const words = ['alpha', 'bravo', 'charlie', 'delta', 'echo', 'foxtrot', 'golf', 'hotel', 'india', 'juliet'];
  const items = [];
  let length = 2; // the brackets
  for (let i = 0; length < size; i++) {
    const item = JSON.stringify({
      id: i,
      user: `${words[i % 10]}_${(i * 7919) % 10007}`,
      tags: [words[(i * 3) % 10], words[(i * 7) % 10]],
      score: ((i * 2654435761) % 100000) / 100,
      active: i % 3 !== 0,
      ts: 1_700_000_000_000 + i * 1337,
    });
    items.push(item);
    length += item.length + 1;
  }
  const text = `[${items.join(',')}]`;
  // Trim to size inside the last item, then close it as JSON-ish padding would.
  return text.length >= size ? text.slice(0, size - 1) + ']' : text.padEnd(size, ' ');
}

/** The compressed message body for a JSON-like text of `size` bytes. */
export function compressedMessage(size) {
  const raw = deflateRawSync(Buffer.from(jsonLikeText(size)), { finishFlush: constants.Z_SYNC_FLUSH });
  const tail = raw.subarray(raw.length - 4);
  if (!tail.equals(Buffer.from([0x00, 0x00, 0xff, 0xff]))) throw new Error('sync flush did not end with 00 00 ff ff');
  return raw.subarray(0, raw.length - 4);
}

/** Writes the compressed message to `path` for the load generator's --deflate; returns its length. */
export function writeCompressedMessage(path, size) {
  const body = compressedMessage(size);
  mkdirSync(dirname(path), { recursive: true });
  writeFileSync(path, body);
  return body.length;
}
