// Bench server: bench/servers/ws.mjs unchanged but for the import (wsbolt/ws), its ready line and
// the "transport=<native|stream>" line for its first connection (as servers/wsbolt.mjs prints it).
// (Shows what the compatibility layer costs next to ws and to the handler API.)
// PORT: port on 127.0.0.1. MODE: echo (default) | broadcast (every message to
// every connection, the sender included: the usual ws broadcast loop) | idle
// (echo, plus the gc command of control.mjs). DEFLATE=1: permessage-deflate.
import { WebSocketServer, WebSocket } from '../../dist/ws/index.mjs';
import { backend } from '../../dist/index.mjs';
import { control, reportTransport } from './control.mjs';

const port = Number(process.env.PORT);
const broadcast = process.env.MODE === 'broadcast';
// DEFLATE=1: no context takeover both ways, as wsbolt and the load generator use it.
const perMessageDeflate = process.env.DEFLATE === '1' ? { threshold: 1024, serverNoContextTakeover: true, clientNoContextTakeover: true } : false;

const wss = new WebSocketServer({ port, host: '127.0.0.1', maxPayload: 64 * 1024 * 1024, perMessageDeflate });
wss.on('connection', (ws) => {
  reportTransport(ws);
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
wss.on('listening', () => console.log(`ready backend=${backend}`));
