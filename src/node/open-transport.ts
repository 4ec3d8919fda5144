/**
 * Which transport carries a new connection (issue 17): the addon's (NativeTransport) for a plain TCP socket it can
 * adopt, else Node's streams (StreamTransport). TLS sockets, other Duplexes (HTTP/2 streams, in-memory pairs),
 * WSBOLT_NO_NATIVE=1, platforms without adoption (Windows) and sockets the addon refuses all take the stream path.
 */
import * as net from 'node:net';
import type { Duplex } from 'node:stream';
import { NativeTransport } from './native-transport.js';
import { StreamTransport } from './stream-transport.js';
import type { Transport } from './transport.js';

export type TransportChoice = 'native' | 'stream';

/** The choice when no option makes one: 'native', unless WSBOLT_TRANSPORT=stream says otherwise. */
function defaultChoice(): TransportChoice {
  return process.env.WSBOLT_TRANSPORT === 'stream' ? 'stream' : 'native';
}

/** What openTransport() gives: the transport, and the bytes already taken from the socket that it has not taken in. */
export interface OpenedTransport {
  transport: Transport;
  /** For the connection to receive after open (the stream path); empty when the native transport took them first. */
  head: Buffer;
}

const NOTHING = Buffer.alloc(0);

/**
 * Carries socket on the transport chosen (the default when undefined). head: bytes the caller already read from the
 * socket (an 'upgrade' event's), which must reach the connection before anything the socket reads later. The caller
 * has removed its own listeners from the socket: Node's socket emits 'close' when the addon releases it. A Promise
 * when Node still had bytes to write (they are flushed before the addon takes over); it rejects if the socket
 * closes meanwhile.
 */
export function openTransport(socket: Duplex, head: Buffer, choice: TransportChoice | undefined): OpenedTransport | Promise<OpenedTransport> {
  if ((choice ?? defaultChoice()) === 'native' && socket instanceof net.Socket) {
    const adopted = NativeTransport.adopt(socket, head);
    if (adopted instanceof Promise) return adopted.then((transport) => ({ transport, head: NOTHING }));
    if (adopted) return { transport: adopted, head: NOTHING };
  }
  return { transport: new StreamTransport(socket), head };
}
