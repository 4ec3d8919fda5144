/**
 * The wsbolt client under test, driven like any Autobahn testee client:
 * getCaseCount, then runCase?case=N&agent=AGENT for every case (echoing every
 * message with its type), then updateReports?agent=AGENT. Public API only.
 * Env: AUTOBAHN_URL (the fuzzing server), AGENT; WSBOLT_NO_NATIVE=1 selects
 * the TypeScript fallback, WSBOLT_TRANSPORT=stream Node's streams. Prints
 * "backend <name>" first, and "transport <kind>" at the first connection.
 */
import { backend, connect } from 'wsbolt';

const MiB = 1024 * 1024;
let reported = false;
const base = process.env.AUTOBAHN_URL ?? 'ws://127.0.0.1:9001';
const agent = process.env.AGENT ?? 'wsbolt';
console.log(`backend ${backend}`);

/** One connection: echo everything; resolves with the received messages once it is closed. */
function session(url) {
  return new Promise((resolve) => {
    const messages = [];
    connect(url, {
      maxPayload: 64 * MiB,
      maxBackpressure: 256 * MiB,
      // Let the server keep its context (no server_no_context_takeover in the offer): where the
      // fuzzing server does (13.1, 13.3, 13.4, 13.7) our per-connection inflate stream runs. We keep
      // offering client_no_context_takeover, which the fuzzing server requires for its accepts that
      // ask the client to reset (13.2, 13.5, 13.6); the server testee runs our keeping compressor.
      // asyncThreshold 16 KiB sends the larger messages through the thread-pool path too.
      perMessageDeflate: { serverNoContextTakeover: false, asyncThreshold: 16 * 1024 },
      open(ws) {
        // Once, for run.mjs to check the configuration (WSBOLT_TRANSPORT=stream, WSBOLT_NO_NATIVE=1).
        if (!reported) console.log(`transport ${ws.transport}`);
        reported = true;
      },
      message(ws, data, isBinary) {
        messages.push(data);
        ws.send(data, { binary: isBinary });
      },
      close() {
        resolve(messages);
      },
    }).catch((error) => {
      // A failed opening handshake ends this session; the fuzzer records the case.
      console.error(`connect ${url}: ${error.message}`);
      resolve(messages);
    });
  });
}

const [count] = await session(`${base}/getCaseCount`);
const total = Number(String(count));
for (let i = 1; i <= total; i++) {
  await session(`${base}/runCase?case=${i}&agent=${encodeURIComponent(agent)}`);
}
await session(`${base}/updateReports?agent=${encodeURIComponent(agent)}`);
process.exit(0);
