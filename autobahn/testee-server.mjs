/**
 * The wsbolt server under test: echoes every message with its type, through
 * the public API only. permessage-deflate is switched on (the client offers
 * it by default) so sections 12/13 test it. Env: PORT (0 picks a free one);
 * WSBOLT_NO_NATIVE=1 selects the TypeScript fallback, WSBOLT_TRANSPORT=stream
 * Node's streams (the library reads them). Prints "ready <port> <backend>"
 * once listening, and "transport <kind>" at the first connection.
 */
import { backend, serve } from 'wsbolt';

const MiB = 1024 * 1024;
let reported = false;
const server = await serve({
  port: Number(process.env.PORT ?? 9001),
  host: '127.0.0.1',
  // Section 9 sends messages up to 16 MiB (echoed back whole) and 65,537 fragments.
  maxPayload: 64 * MiB,
  maxBackpressure: 256 * MiB,
  // Accept permessage-deflate offers; the harness offers it only in sections 12 and 13. Context
  // takeover is allowed both ways, so the offers without server_no_context_takeover (13.1, 13.3,
  // 13.4, 13.7) run our per-connection zlib streams, and asyncThreshold 16 KiB sends the larger
  // messages of 12.x/13.x through the thread-pool path and its ordering.
  perMessageDeflate: { serverNoContextTakeover: false, clientNoContextTakeover: false, asyncThreshold: 16 * 1024 },
  open(ws) {
    // Once, for run.mjs to check the configuration (WSBOLT_TRANSPORT=stream, WSBOLT_NO_NATIVE=1).
    if (!reported) console.log(`transport ${ws.transport}`);
    reported = true;
  },
  message(ws, data, isBinary) {
    ws.send(data, { binary: isBinary });
  },
});
console.log(`ready ${server.port} ${backend}`);

const stop = () => server.close({ timeout: 1000 }).finally(() => process.exit(0));
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
