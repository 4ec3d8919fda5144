/** Data for the permessage-deflate tests (the shared helpers are in test/kit/). */

/** The empty uncompressed block a sender removes from each message (RFC 7692 §7.2.1). */
export const TAIL = Buffer.from([0x00, 0x00, 0xff, 0xff]);

/** Text that deflates well but is different for every i (so reordering or mixing shows). */
export function compressible(size: number, i = 0): Buffer {
  const unit = Buffer.from(`message ${i} / the quick brown fox jumps over the lazy dog; `);
  const out = Buffer.allocUnsafe(size);
  for (let p = 0; p < size; p += unit.length) unit.copy(out, p, 0, Math.min(unit.length, size - p));
  return out;
}
