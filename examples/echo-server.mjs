// Echo server with the handler API: `PORT=8080 node examples/echo-server.mjs`
import { serve } from 'wsbolt';

const server = await serve({
  port: Number(process.env.PORT ?? 8080),
  host: process.env.HOST ?? '127.0.0.1',
  message(ws, data, isBinary) {
    ws.send(data, { binary: isBinary });
  },
});
console.log(`echo server listening on ws://${process.env.HOST ?? '127.0.0.1'}:${server.port}`);

process.on('SIGTERM', () => server.close().then(() => process.exit(0)));
process.on('SIGINT', () => server.close().then(() => process.exit(0)));
