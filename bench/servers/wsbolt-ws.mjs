// Echo server for bench/echo.mjs: the ws server code below, unchanged but for the import: wsbolt/ws.
// (Shows what the compatibility layer costs next to ws and to the handler API.)
// PORT: port on 127.0.0.1. MODE=broadcast: every message goes to every
// connection (the sender included), the usual ws broadcast loop.
// Prints "ready" once listening.
import { WebSocketServer, WebSocket } from "../../dist/ws/index.mjs";

const port = Number(process.env.PORT);
const broadcast = process.env.MODE === 'broadcast';

const wss = new WebSocketServer({ port, host: '127.0.0.1', maxPayload: 64 * 1024 * 1024 });
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
wss.on('listening', () => console.log('ready'));
