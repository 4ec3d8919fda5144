// WebSocket next to HTTP/2 on one TLS port: `PORT=8443 node examples/http2.mjs`
// RFC 6455 runs over HTTP/1.1, so the HTTP/2 server must also take HTTP/1.1 (allowHTTP1); its 'upgrade' events go to
// wsbolt, and HTTP/2 requests to the server's own handler. TLS_KEY / TLS_CERT name the key pair (default: the
// self-signed localhost pair of the test suite).
import { readFileSync } from 'node:fs';
import * as http2 from 'node:http2';
import { createServer } from 'wsbolt';

const fixture = (name) => new URL(`../test/fixtures/${name}`, import.meta.url);
const server = http2.createSecureServer(
  { allowHTTP1: true, key: readFileSync(process.env.TLS_KEY ?? fixture('key.pem')), cert: readFileSync(process.env.TLS_CERT ?? fixture('cert.pem')) },
  (req, res) => {
    res.writeHead(200, { 'content-type': 'text/plain' });
    res.end(`plain HTTP/${req.httpVersion} here; WebSocket on wss://.../ws\n`);
  },
);
const ws = createServer({
  path: '/ws',
  message(socket, data, isBinary) {
    socket.send(data, { binary: isBinary });
  },
});
server.on('upgrade', (req, socket, head) => ws.handleUpgrade(req, socket, head));

const host = process.env.HOST ?? '127.0.0.1';
const port = Number(process.env.PORT ?? 8443);
server.once('error', listenFailed);
server.listen(port, host, () => {
  console.log(`http2 + WebSocket on https://${host}:${server.address().port} (WebSocket: /ws)`);
});
const stop = () => ws.close().then(() => server.close(() => process.exit(0)));
process.once('SIGTERM', stop);
process.once('SIGINT', stop);

// A taken port is the usual first-run mistake: say so in one line instead of a stack.
function listenFailed(error) {
  const taken = error.code === 'EADDRINUSE';
  console.error(`http2: ${taken ? `${host}:${port} is already in use; choose another port: PORT=${port + 1} node examples/http2.mjs` : error.message}`);
  process.exit(1);
}
