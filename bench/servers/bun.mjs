// Bench server under Bun (Bun.serve's websocket handler). PORT: port on
// 127.0.0.1. MODE: echo (default) | broadcast (every message to every
// connection, the sender included, through Bun's topic publish) | idle (echo,
// plus the gc command of control.mjs). DEFLATE=1: permessage-deflate.
// Prints "ready backend=bun-<version>" once listening.
import { control } from './control.mjs';

const port = Number(process.env.PORT);
const broadcast = process.env.MODE === 'broadcast';
const TOPIC = 'bench';
// Bun compresses a message only when send/publish is asked to (compress = true).
const deflate = process.env.DEFLATE === '1';

const server = Bun.serve({
  port,
  hostname: '127.0.0.1',
  websocket: {
    maxPayloadLength: 64 * 1024 * 1024,
    perMessageDeflate: deflate,
    open(ws) {
      if (broadcast) ws.subscribe(TOPIC);
    },
    message(ws, message) {
      // server.publish reaches the sender too (ws.publish would skip it).
      if (broadcast) server.publish(TOPIC, message, deflate);
      else ws.send(message, deflate);
    },
  },
  fetch(req, server) {
    if (server.upgrade(req)) return undefined;
    return new Response('426 Upgrade Required\n', { status: 426 });
  },
});
control(process.env.MODE);
console.log(`ready backend=bun-${Bun.version}`);
