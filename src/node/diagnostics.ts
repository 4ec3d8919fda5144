/**
 * diagnostics_channel: Node's own way for a library to be observed (undici publishes its WebSocket events the same
 * way). The channels are made once, here; every publish is guarded by `hasSubscribers`, so nobody listening costs
 * one property read per event and builds nothing. The names and the messages are documented in docs/observability.md.
 */
import * as dc from 'node:diagnostics_channel';

/** The channel names, stable: tools subscribe to them by name. */
export const CHANNELS = {
  open: 'wsbolt:connection:open',
  close: 'wsbolt:connection:close',
  refused: 'wsbolt:handshake:refused',
  protocolError: 'wsbolt:protocol:error',
  backpressure: 'wsbolt:backpressure',
  drain: 'wsbolt:drain',
  messageReceived: 'wsbolt:message:received',
  messageSent: 'wsbolt:message:sent',
} as const;

export const openChannel = dc.channel(CHANNELS.open);
export const closeChannel = dc.channel(CHANNELS.close);
export const refusedChannel = dc.channel(CHANNELS.refused);
export const protocolErrorChannel = dc.channel(CHANNELS.protocolError);
export const backpressureChannel = dc.channel(CHANNELS.backpressure);
export const drainChannel = dc.channel(CHANNELS.drain);
export const messageReceivedChannel = dc.channel(CHANNELS.messageReceived);
export const messageSentChannel = dc.channel(CHANNELS.messageSent);

/** What each channel carries (`ws` and `id`: the connection, as in its NODE_DEBUG=wsbolt lines). */
export interface DiagnosticsMessages {
  open: {
    ws: unknown;
    id: number;
    role: 'server' | 'client';
    remoteAddress: string;
    remotePort: number;
    transport: string;
    protocol: string;
    extensions: string;
  };
  close: { ws: unknown; id: number; role: 'server' | 'client'; code: number; reason: string; cause: { kind: string; error?: Error } };
  /** A server's refusal (the HTTP answer it sent), or a client's connect() refused by the server. */
  refused:
    | { role: 'server'; status: number; reason: string; message: string; url: string; remoteAddress: string }
    | { role: 'client'; status: number; url: string; error: Error };
  protocolError: { ws: unknown; id: number; role: 'server' | 'client'; error: Error };
  backpressure: { ws: unknown; id: number; bufferedAmount: number };
  drain: { ws: unknown; id: number };
  /** data: what the handler gets (received) or what was passed to send() (sent). */
  messageReceived: { ws: unknown; id: number; data: Buffer; isBinary: boolean };
  messageSent: { ws: unknown; id: number; data: Buffer | string | ArrayBuffer | ArrayBufferView; isBinary: boolean };
}
