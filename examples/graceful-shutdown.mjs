// Graceful shutdown: on SIGTERM (or Ctrl-C) stop accepting, send every client a 1001 close frame, wait for the
// closing handshakes (5 s at most), then exit. `PORT=8080 node examples/graceful-shutdown.mjs`
import { serve } from 'wsbolt';

const port = Number(process.env.PORT ?? 8080);
const host = process.env.HOST ?? '127.0.0.1';
const server = await serve({
  port,
  host,
  open() {
    console.log(`open: ${server.connections.size} connected`);
  },
  message(ws, data, isBinary) {
    ws.send(data, { binary: isBinary });
  },
  close(ws, code, reason, cause) {
    console.log(`closed: ${code} ${cause.kind}`);
  },
}).catch(listenFailed);
console.log(`graceful-shutdown server listening on ws://${host}:${server.port}`);

async function shutdown(signal) {
  console.log(`${signal}: closing ${server.connections.size} connections with 1001`);
  await server.close({ code: 1001, reason: 'server shutting down', timeout: 5000 });
  console.log('shutdown complete');
  process.exit(0);
}
process.once('SIGTERM', shutdown);
process.once('SIGINT', shutdown);

// A taken port is the usual first-run mistake: say so in one line instead of a stack.
function listenFailed(error) {
  const taken = error.code === 'EADDRINUSE';
  console.error(
    `graceful-shutdown: ${taken ? `${host}:${port} is already in use; choose another port: PORT=${port + 1} node examples/graceful-shutdown.mjs` : error.message}`,
  );
  process.exit(1);
}
