// Bench server: wsbolt's handler API, from the built package (npm run build:ts).
// PORT: port on 127.0.0.1. MODE: echo (default) | broadcast (every message to
// every connection, the sender included, through one topic) | idle (echo, plus
// the gc command of control.mjs). DEFLATE=1: permessage-deflate on (defaults:
// threshold 1024 B; the load generator asks for no context takeover).
// BENCH_DC=1: a no-op subscriber on every diagnostics_channel wsbolt publishes on, so every event is built and
// published (the wsbolt-dc contestant).
// Prints "ready backend=<native|js>" once listening (WSBOLT_NO_NATIVE=1 forces js),
// and "transport=<native|stream>" for its first connection when connections
// say which socket layer they use (WSBOLT_TRANSPORT=stream picks streams).
import { subscribe } from 'node:diagnostics_channel';
import { serve, backend, DIAGNOSTICS_CHANNELS } from '../../dist/index.mjs';
import { control, reportTransport } from './control.mjs';

const port = Number(process.env.PORT);
const broadcast = process.env.MODE === 'broadcast';
const TOPIC = 'bench';
if (process.env.BENCH_DC === '1') for (const name of Object.values(DIAGNOSTICS_CHANNELS)) subscribe(name, () => {});

const server = await serve({
  port,
  host: '127.0.0.1',
  maxPayload: 64 * 1024 * 1024,
  perMessageDeflate: process.env.DEFLATE === '1',
  open(ws) {
    reportTransport(ws);
    if (broadcast) ws.subscribe(TOPIC);
  },
  message(ws, data, isBinary) {
    if (broadcast) server.publish(TOPIC, data, { binary: isBinary });
    else ws.send(data, { binary: isBinary });
  },
});
control(process.env.MODE);
console.log(`ready backend=${backend}`);
