// Echo server written against the `ws` API, served by wsbolt: `PORT=8080 node examples/ws-compat-echo.mjs`
// Code written for `ws` moves over by changing the import.
import { WebSocketServer } from 'wsbolt/ws';

const host = process.env.HOST ?? '127.0.0.1';
const port = Number(process.env.PORT ?? 8080);
const wss = new WebSocketServer({ port, host, perMessageDeflate: true });
wss.once('error', listenFailed);

wss.on('connection', (ws, req) => {
  ws.on('message', (data, isBinary) => ws.send(data, { binary: isBinary }));
  ws.on('error', (error) => console.error(`${req.socket.remoteAddress}: ${error.message}`));
});
wss.on('listening', () => console.log(`ws-compatible echo server listening on ws://${host}:${wss.address().port}`));

const stop = () => {
  for (const ws of wss.clients) ws.close(1001, 'server shutting down');
  wss.close(() => process.exit(0));
};
process.once('SIGTERM', stop);
process.once('SIGINT', stop);

// A taken port is the usual first-run mistake: say so in one line instead of a stack.
function listenFailed(error) {
  const taken = error.code === 'EADDRINUSE';
  console.error(
    `ws-compat-echo: ${taken ? `${host}:${port} is already in use; choose another port: PORT=${port + 1} node examples/ws-compat-echo.mjs` : error.message}`,
  );
  process.exit(1);
}
