// Graceful shutdown: on SIGTERM (or Ctrl-C) stop accepting, send every client a 1001 close frame, wait for the
// closing handshakes (5 s at most), then exit. `PORT=8080 node examples/graceful-shutdown.mjs`
import { serve } from 'wsbolt';

const server = await serve({
  port: Number(process.env.PORT ?? 8080),
  host: process.env.HOST ?? '127.0.0.1',
  open() {
    console.log(`open: ${server.connections.size} connected`);
  },
  message(ws, data, isBinary) {
    ws.send(data, { binary: isBinary });
  },
  close(ws, code, reason, cause) {
    console.log(`closed: ${code} ${cause.kind}`);
  },
});
console.log(`graceful-shutdown server listening on ws://${process.env.HOST ?? '127.0.0.1'}:${server.port}`);

async function shutdown(signal) {
  console.log(`${signal}: closing ${server.connections.size} connections with 1001`);
  await server.close({ code: 1001, reason: 'server shutting down', timeout: 5000 });
  console.log('shutdown complete');
  process.exit(0);
}
process.once('SIGTERM', shutdown);
process.once('SIGINT', shutdown);
