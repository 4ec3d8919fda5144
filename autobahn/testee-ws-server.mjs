/**
 * Calibration testee: an echo server on the `ws` package with its default
 * options, to check that the harness reproduces the real suite's table for ws.
 * Env: PORT (0 picks one). Prints "ready <port>" when listening.
 */
import { WebSocketServer } from 'ws';

const wss = new WebSocketServer({ host: '127.0.0.1', port: Number(process.env.PORT ?? 0) }, () => {
  console.log(`ready ${wss.address().port}`);
});
wss.on('connection', (ws) => {
  ws.on('message', (data, isBinary) => ws.send(data, { binary: isBinary }));
  ws.on('error', () => {});
});
process.on('SIGTERM', () => process.exit(0));
