// attach() on an HTTP/2 server that also speaks HTTP/1.1 (allowHTTP1), where WebSocket upgrades arrive.
import * as http2 from 'node:http2';
import { attach } from 'wsbolt';

export function mount(key: Buffer, cert: Buffer) {
  const httpServer = http2.createSecureServer({ key, cert, allowHTTP1: true });
  return attach(httpServer, { message: (ws, data) => ws.send(data) });
}
