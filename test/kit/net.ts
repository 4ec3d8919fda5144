/** Addresses for tests: everything listens and connects on the IPv4 loopback. */
import * as net from 'node:net';
import { Duplex } from 'node:stream';

export const HOST = '127.0.0.1';

/** A port nothing listens on (bound, then released): for a server that must come up later on a known port, or a refused connection. */
export async function freePort(): Promise<number> {
  const probe = net.createServer();
  await new Promise<void>((resolve) => probe.listen(0, HOST, () => resolve()));
  const { port } = probe.address() as net.AddressInfo;
  await new Promise<void>((resolve) => probe.close(() => resolve()));
  return port;
}

let ipv6: Promise<boolean> | null = null;

/** Whether this host can listen on the IPv6 loopback (::1). */
export function ipv6Loopback(): Promise<boolean> {
  ipv6 ??= new Promise((resolve) => {
    const probe = net.createServer();
    probe.once('error', () => resolve(false));
    probe.listen(0, '::1', () => probe.close(() => resolve(true)));
  });
  return ipv6;
}

/**
 * Two Duplexes wired back to back, no socket under them: what one writes, the
 * other reads (one 'data' per write). The peer's end ends this side too, as a
 * TCP socket does by default.
 */
export function duplexPair(): [Duplex, Duplex] {
  const sides: Duplex[] = [];
  const make = (peer: () => Duplex) =>
    new Duplex({
      allowHalfOpen: false,
      read() {},
      write(chunk: Buffer, _encoding, callback) {
        peer().push(chunk);
        callback();
      },
      final(callback) {
        peer().push(null);
        callback();
      },
      destroy(error, callback) {
        const other = peer();
        if (!other.destroyed) other.destroy();
        callback(error);
      },
    });
  sides.push(
    make(() => sides[1]!),
    make(() => sides[0]!),
  );
  return [sides[0]!, sides[1]!];
}
