// A client that comes back after the server goes away: `URL=ws://127.0.0.1:8080/ node examples/reconnect-client.mjs`
// Start it before the server, or restart the server while it runs: it retries with exponential backoff and jitter.
// Every (re)connection sends a hello; Ctrl-C (or SIGTERM) closes it for good with 1000. A refusal not worth retrying
// (401, 403, 404, ...) ends it: one line on stderr, exit code 1.
import { reconnecting } from 'wsbolt';

const url = process.env.URL ?? `ws://127.0.0.1:${process.env.PORT ?? 8080}/`;
let connections = 0;

console.log(`connecting to ${url}`);
const client = await reconnecting(url, {
  reconnect: { initialDelay: 100, maxDelay: 5000 },
  reconnecting(attempt, delay, cause) {
    const why = cause instanceof Error ? (cause.code ?? cause.message) : `${cause.kind} close`;
    console.log(`reconnecting: attempt ${attempt} in ${delay} ms (${why})`);
  },
  open(ws) {
    connections++;
    console.log(`connected (#${connections})`);
    ws.send(`hello #${connections}`);
  },
  message(_ws, data) {
    console.log(`received: ${data}`);
  },
  close(_ws, code, reason) {
    console.log(`disconnected: ${code}${reason ? ` ${reason}` : ''}`);
  },
  giveUp(_cause, error) {
    // error.message names the URL, the attempts and the HTTP status: all a user needs, without the stack.
    console.error(`reconnect-client: ${error.message}`);
    process.exitCode = 1;
  },
}).catch(() => null); // giving up before the first connection also rejects this promise; giveUp has said why
if (!client) process.exit(1);

const stop = () => {
  client.close(1000, 'bye');
  // The close callback runs once the closing handshake is done; then nothing keeps the process alive.
};
process.once('SIGTERM', stop);
process.once('SIGINT', stop);
