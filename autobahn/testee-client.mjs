/**
 * The wsbolt client under test, driven like any Autobahn testee client:
 * getCaseCount, then runCase?case=N&agent=AGENT for every case (echoing every
 * message with its type), then updateReports?agent=AGENT. Public API only.
 * Env: AUTOBAHN_URL (the fuzzing server), AGENT; WSBOLT_NO_NATIVE=1 selects
 * the TypeScript fallback. Prints "backend <name>" first.
 */
import { backend, connect } from 'wsbolt';

const MiB = 1024 * 1024;
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
