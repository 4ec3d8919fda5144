/** Addresses for tests: everything listens and connects on the IPv4 loopback. */
import * as net from 'node:net';

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
