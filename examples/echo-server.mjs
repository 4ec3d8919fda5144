// Echo server with the handler API: `PORT=8080 node examples/echo-server.mjs`
import { serve } from 'wsbolt';

const port = Number(process.env.PORT ?? 8080);
const host = process.env.HOST ?? '127.0.0.1';
const server = await serve({
  port,
  host,
  message(ws, data, isBinary) {
    ws.send(data, { binary: isBinary });
  },
}).catch(listenFailed);
console.log(`echo server listening on ws://${host}:${server.port}`);

process.on('SIGTERM', () => server.close().then(() => process.exit(0)));
process.on('SIGINT', () => server.close().then(() => process.exit(0)));

// A taken port is the usual first-run mistake: say so in one line instead of a stack.
function listenFailed(error) {
  const taken = error.code === 'EADDRINUSE';
  console.error(
    `echo-server: ${taken ? `${host}:${port} is already in use; choose another port: PORT=${port + 1} node examples/echo-server.mjs` : error.message}`,
  );
  process.exit(1);
}
