// Echo server for bench/echo.mjs under Bun (used only when `bun` is on PATH).
// PORT: port on 127.0.0.1. MODE=broadcast: every message goes to every
// connection (the sender included) through Bun's topic publish.
// Prints "ready" once listening.
const port = Number(process.env.PORT);
const broadcast = process.env.MODE === 'broadcast';
const TOPIC = 'bench';

const server = Bun.serve({
  port,
  hostname: '127.0.0.1',
  websocket: {
    maxPayloadLength: 64 * 1024 * 1024,
    open(ws) {
      if (broadcast) ws.subscribe(TOPIC);
    },
    message(ws, message) {
      // server.publish reaches the sender too (ws.publish would skip it).
      if (broadcast) server.publish(TOPIC, message);
      else ws.send(message);
    },
  },
  fetch(req, server) {
    if (server.upgrade(req)) return undefined;
    return new Response('426 Upgrade Required\n', { status: 426 });
  },
});
console.log('ready');
