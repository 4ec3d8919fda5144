// Server CPU time per echoed message: 100 WebSockets over one HTTP/2 session (RFC 8441) next to 100 over HTTP/1.1
// (one TLS connection each), both wss, measured in one run with the same client. Not part of the suite; needs
// `npm run build:ts`.
//
//   node bench/http2-cpu.mjs [--conns 100] [--messages 300] [--size 128]
//
// The server is a child process (serve({ tls, http2: true }), the test certificate); it reports
// process.cpuUsage() (user + system, all its threads) around each measured phase, which starts once every
// connection is open and warmed up, so handshakes are not counted. The client (this process, wsbolt's connect())
// keeps one message in flight per connection. CPU time, not wall-clock: the figure does not depend on how busy the
// machine is, though it still varies by a few per cent from run to run.
import { fork } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const key = readFileSync(`${root}test/fixtures/key.pem`);
const cert = readFileSync(`${root}test/fixtures/cert.pem`);
const { serve, connect } = await import(`${root}dist/index.js`);

function option(name, fallback) {
  const i = process.argv.indexOf(`--${name}`);
  return i === -1 ? fallback : Number(process.argv[i + 1]);
}

if (process.argv.includes('--serve')) {
  const server = await serve({
    host: '127.0.0.1',
    tls: { key, cert },
    http2: true,
    message: (ws, data, isBinary) => void ws.send(data, { binary: isBinary }),
  });
  let start = null;
  process.on('message', (m) => {
    if (m === 'begin') start = process.cpuUsage();
    if (m === 'end') {
      const used = process.cpuUsage(start);
      process.send({ cpu: used.user + used.system });
    }
    if (m === 'exit') server.close({ timeout: 1000 }).then(() => process.exit(0));
  });
  process.send({ port: server.port });
} else {
  const conns = option('conns', 100);
  const messages = option('messages', 300);
  const size = option('size', 128);
  const child = fork(fileURLToPath(import.meta.url), ['--serve'], { stdio: 'inherit' });
  const replies = [];
  let waiter = null;
  child.on('message', (m) => (waiter ? (waiter(m), (waiter = null)) : replies.push(m)));
  const reply = () => (replies.length > 0 ? Promise.resolve(replies.shift()) : new Promise((resolve) => (waiter = resolve)));
  const { port } = await reply();
  const payload = 'x'.repeat(size);

  /** Opens conns WebSockets, echoes `count` messages on each (one in flight), then closes them; returns server µs per message. */
  async function phase(http2) {
    let echoed = null;
    const sockets = [];
    for (let i = 0; i < conns; i++) {
      sockets.push(
        await connect(`wss://localhost:${port}/`, {
          ca: cert,
          http2,
          perMessageDeflate: false,
          message: (ws) => echoed(ws),
        }),
      );
    }
    const round = (count) =>
      new Promise((resolve) => {
        const left = new Map(sockets.map((ws) => [ws, count]));
        let open = sockets.length;
        echoed = (ws) => {
          const n = left.get(ws) - 1;
          left.set(ws, n);
          if (n > 0) ws.send(payload);
          else if (--open === 0) resolve();
        };
        for (const ws of sockets) ws.send(payload);
      });
    await round(20); // warm-up: JIT and buffers
    child.send('begin');
    const started = Date.now();
    await round(messages);
    const wall = Date.now() - started;
    child.send('end');
    const { cpu } = await reply();
    for (const ws of sockets) ws.close(1000);
    return { cpu, perMessage: cpu / (conns * messages), wall };
  }

  const h2 = await phase(true);
  const h1 = await phase(false);
  const line = (name, r) =>
    `${name.padEnd(34)} ${(r.cpu / 1000).toFixed(0).padStart(6)} ms CPU  ${r.perMessage.toFixed(2).padStart(7)} µs/message  (wall ${r.wall} ms)`;
  console.log(`${conns} WebSockets, ${messages} echoes each of ${size} bytes (${conns * messages} messages), server CPU (user + system):`);
  console.log(line('HTTP/2, one session (RFC 8441)', h2));
  console.log(line('HTTP/1.1, one TLS connection each', h1));
  console.log(`HTTP/2 / HTTP/1.1: ${(h2.perMessage / h1.perMessage).toFixed(2)}`);
  child.send('exit');
  await new Promise((resolve) => child.once('exit', resolve));
  process.exit(0);
}
