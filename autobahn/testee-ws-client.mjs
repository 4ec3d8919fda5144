/**
 * Calibration testee: an echo client on the `ws` package with its default
 * options. Env: AUTOBAHN_URL (the fuzzing server), AGENT (report name).
 * Runs getCaseCount, every runCase in turn, then updateReports.
 */
import WebSocket from 'ws';

const base = process.env.AUTOBAHN_URL ?? 'ws://127.0.0.1:9001';
const agent = process.env.AGENT ?? 'ws';

/** Opens url, echoes every message, resolves with the messages once the connection is closed. */
function session(url) {
  return new Promise((resolve) => {
    const messages = [];
    const ws = new WebSocket(url);
    ws.on('message', (data, isBinary) => {
      messages.push(data);
      ws.send(data, { binary: isBinary });
    });
    ws.on('error', () => {});
    ws.on('close', () => resolve(messages));
  });
}

const [count] = await session(`${base}/getCaseCount`);
const total = Number(String(count));
for (let i = 1; i <= total; i++) {
  await session(`${base}/runCase?case=${i}&agent=${encodeURIComponent(agent)}`);
}
await session(`${base}/updateReports?agent=${encodeURIComponent(agent)}`);
