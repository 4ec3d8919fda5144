// Connects to the echo server, sends a message, prints the echo and closes:
// `PORT=8080 node examples/echo-client.mjs [message]`
import { connect } from 'wsbolt';

const url = process.env.URL ?? `ws://127.0.0.1:${process.env.PORT ?? 8080}/`;
const text = process.argv[2] ?? 'hello, wsbolt';

const closed = new Promise((resolve) => {
  connect(url, {
    message(ws, data) {
      console.log(`echo: ${data.toString()}`);
      ws.close(1000, 'done');
    },
    close(_ws, code) {
      console.log(`closed with ${code}`);
      resolve(code);
    },
  }).then(
    (ws) => ws.send(text),
    (error) => {
      // The usual first-run mistake is a server that is not running: say so in one line instead of a stack.
      console.error(`echo-client: could not connect to ${url} (${error.code ?? error.message}); start the server first: node examples/echo-server.mjs`);
      resolve(null);
    },
  );
});
process.exitCode = (await closed) === 1000 ? 0 : 1;
