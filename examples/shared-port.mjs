// One port for an existing HTTP app and a WebSocket endpoint: `PORT=8080 node examples/shared-port.mjs`
// The http server keeps its routes (/, /health, ...); attach() takes the upgrade requests for /ws.
import * as http from 'node:http';
import { attach } from 'wsbolt';

const app = http.createServer((req, res) => {
  const { pathname } = new URL(req.url, 'http://localhost');
  if (pathname === '/') {
    res.writeHead(200, { 'Content-Type': 'text/plain' }).end('plain HTTP here; WebSocket on /ws\n');
  } else if (pathname === '/health') {
    res.writeHead(200, { 'Content-Type': 'application/json' }).end(JSON.stringify({ ok: true, connections: websockets.connections.size }));
  } else {
    res.writeHead(404, { 'Content-Type': 'text/plain' }).end('not found\n');
  }
});

const websockets = attach(app, {
  path: '/ws',
  perMessageDeflate: true,
  open(socket) {
    socket.send('welcome to /ws');
  },
  message(socket, data, isBinary) {
    socket.send(data, { binary: isBinary });
  },
});

const host = process.env.HOST ?? '127.0.0.1';
const port = Number(process.env.PORT ?? 8080);
app.once('error', listenFailed);
app.listen(port, host, () => {
  console.log(`http and WebSocket listening on http://${host}:${app.address().port}/ (WebSocket: ws://${host}:${app.address().port}/ws)`);
});

const stop = async () => {
  await websockets.close({ code: 1001 }); // the WebSocket connections (attach() does not own the http server)
  app.close(() => process.exit(0));
  app.closeAllConnections();
};
process.once('SIGTERM', stop);
process.once('SIGINT', stop);

// A taken port is the usual first-run mistake: say so in one line instead of a stack.
function listenFailed(error) {
  const taken = error.code === 'EADDRINUSE';
  console.error(
    `shared-port: ${taken ? `${host}:${port} is already in use; choose another port: PORT=${port + 1} node examples/shared-port.mjs` : error.message}`,
  );
  process.exit(1);
}
