// Echo server for bench/echo.mjs: wsbolt, from the built package (npm run build:ts).
// PORT: port on 127.0.0.1. MODE=broadcast: every message goes to every
// connection (the sender included) through one topic instead of back to its sender.
// Prints "ready backend=<native|js>" once listening (WSBOLT_NO_NATIVE=1 forces js).
import { serve, backend } from '../../dist/index.mjs';

const port = Number(process.env.PORT);
const broadcast = process.env.MODE === 'broadcast';
const TOPIC = 'bench';

const server = await serve({
  port,
  host: '127.0.0.1',
  maxPayload: 64 * 1024 * 1024,
  open(ws) {
    if (broadcast) ws.subscribe(TOPIC);
  },
  message(ws, data, isBinary) {
    if (broadcast) server.publish(TOPIC, data, { binary: isBinary });
    else ws.send(data, { binary: isBinary });
  },
});
console.log(`ready backend=${backend}`);
