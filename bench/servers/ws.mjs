// Bench server: the `ws` package. It picks up bufferutil by itself when it is
// installed and WS_NO_BUFFER_UTIL is unset (utf-8-validate is unused on Node
// 20: ws prefers buffer.isUtf8). Prints "ready backend=<bufferutil|js>" by the
// same rule ws uses, so a missing bufferutil cannot pass for ws + bufferutil.
// PORT: port on 127.0.0.1. MODE: echo (default) | broadcast (every message to
// every connection, the sender included: the usual ws broadcast loop) | idle
// (echo, plus the gc command of control.mjs). DEFLATE=1: permessage-deflate.
import { WebSocketServer, WebSocket } from 'ws';
import { createRequire } from 'node:module';
import { control } from './control.mjs';

const port = Number(process.env.PORT);
const broadcast = process.env.MODE === 'broadcast';
// DEFLATE=1: no context takeover both ways, as wsbolt and the load generator use it.
const perMessageDeflate = process.env.DEFLATE === '1' ? { threshold: 1024, serverNoContextTakeover: true, clientNoContextTakeover: true } : false;

const wss = new WebSocketServer({ port, host: '127.0.0.1', maxPayload: 64 * 1024 * 1024, perMessageDeflate });
wss.on('connection', (ws) => {
  ws.on('error', () => {}); // the load generator just drops its sockets at the end
  if (broadcast) {
    ws.on('message', (data, isBinary) => {
      for (const client of wss.clients) if (client.readyState === WebSocket.OPEN) client.send(data, { binary: isBinary });
    });
  } else {
    ws.on('message', (data, isBinary) => ws.send(data, { binary: isBinary }));
  }
});
control(process.env.MODE);
let backend = 'js';
if (!process.env.WS_NO_BUFFER_UTIL) {
  try {
    createRequire(import.meta.url)('bufferutil');
    backend = 'bufferutil';
  } catch {
    // bufferutil not installed: ws uses its JavaScript masking
  }
}
wss.on('listening', () => console.log(`ready backend=${backend}`));
