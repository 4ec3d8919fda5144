/**
 * A deliberately faulty echo testee on the `ws` package, to prove that the
 * harness fails exactly the cases a given fault affects (calibration).
 *
 * Env:
 *   ROLE  server (default; PORT, prints "ready <port>") or client (AUTOBAHN_URL, AGENT)
 *   FAULT skip-utf8   accept and echo invalid UTF-8 (text and close reasons)
 *         rsv         set RSV1 on every data frame sent, with no extension negotiated
 *         close-code  answer a peer's close frame with code 4001 instead of echoing its code
 */
import WebSocket, { Sender, WebSocketServer } from 'ws';

const fault = process.env.FAULT ?? '';
const known = ['skip-utf8', 'rsv', 'close-code'];
if (!known.includes(fault)) {
  console.error(`FAULT must be one of ${known.join(', ')}`);
  process.exit(2);
}

if (fault === 'rsv') {
  // Sender.frame is the static framing helper every send goes through.
  const frame = Sender.frame;
  Sender.frame = (data, options) => frame(data, options.opcode <= 2 ? { ...options, rsv1: true } : options);
}

/** Echo, with the close-code fault applied to the instance when selected. */
function setup(ws) {
  if (fault === 'close-code') {
    const close = ws.close.bind(ws);
    // ws answers a received close via ws.close(code, reason); only that reply is altered.
    ws.close = (code, reason) => (ws._closeFrameReceived && !ws._closeFrameSent ? close(4001) : close(code, reason));
  }
  ws.on('message', (data, isBinary) => ws.send(data, { binary: isBinary }));
  ws.on('error', () => {});
}

const options = { skipUTF8Validation: fault === 'skip-utf8' };

if ((process.env.ROLE ?? 'server') === 'server') {
  const wss = new WebSocketServer({ host: '127.0.0.1', port: Number(process.env.PORT ?? 0), ...options }, () => console.log(`ready ${wss.address().port}`));
  wss.on('connection', setup);
  process.on('SIGTERM', () => process.exit(0));
} else {
  const base = process.env.AUTOBAHN_URL ?? 'ws://127.0.0.1:9001';
  const agent = encodeURIComponent(process.env.AGENT ?? `faulty-${fault}`);
  const session = (url) =>
    new Promise((resolve) => {
      const messages = [];
      const ws = new WebSocket(url, options);
      setup(ws);
      ws.on('message', (data) => messages.push(data));
      ws.on('close', () => resolve(messages));
    });
  const [count] = await session(`${base}/getCaseCount`);
  for (let i = 1; i <= Number(String(count)); i++) await session(`${base}/runCase?case=${i}&agent=${agent}`);
  await session(`${base}/updateReports?agent=${agent}`);
}
