// Raw TCP echo, no WebSocket: Node's net.Socket against the addon's native
// transport (src/node/native-transport.ts), to see what the stream layer
// costs. Not part of the suite or the tests; needs `npm run build`.
//
//   node bench/transport-echo.mjs [--duration 3] [--conns 50] [--size 1024] [--inflight 8] [--only net,native]
//
// Each server runs in its own process; this process drives it with net
// sockets, keeping `inflight` messages of `size` bytes per connection in
// flight (bytes echoed are sent again). Prints echoed messages/s, MB/s and the
// server's CPU time per message (the fair figure when the client is the limit).
import { fork } from 'node:child_process';
import { createRequire } from 'node:module';
import * as net from 'node:net';
import { fileURLToPath } from 'node:url';

const HOST = '127.0.0.1';

function parse(argv) {
  const o = { duration: 3, conns: 50, size: 1024, inflight: 8, only: ['net', 'native'], serve: null };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const v = argv[++i];
    if (a === '--duration') o.duration = Number(v);
    else if (a === '--conns') o.conns = Number(v);
    else if (a === '--size') o.size = Number(v);
    else if (a === '--inflight') o.inflight = Number(v);
    else if (a === '--only') o.only = v.split(',');
    else if (a === '--serve') o.serve = v;
    else throw new Error(`unknown option ${a}`);
  }
  return o;
}

function serve(kind) {
  const require = createRequire(import.meta.url);
  const { NativeTransport } = require('../dist/node/native-transport.js');
  const server = net.createServer({ noDelay: true }, (socket) => {
    if (kind === 'net') {
      socket.on('data', (chunk) => socket.write(chunk));
      socket.on('error', () => socket.destroy());
      return;
    }
    const transport = NativeTransport.adopt(socket);
    if (!transport || transport instanceof Promise) throw new Error('native transport unavailable (build the addon, unset WSBOLT_NO_NATIVE)');
    transport.start({
      onData: (chunk) => transport.write([chunk]),
      onEnd: () => transport.end(),
      onError: () => {},
      onClose: () => {},
      onDrain: () => {},
    });
  });
  server.listen(0, HOST, () => process.send(server.address().port));
  // CPU time spent by the server: the figure that holds on a busy machine, where msg/s may be the client's limit.
  process.on('message', () => {
    const { user, system } = process.cpuUsage();
    process.send(user + system);
  });
  process.on('disconnect', () => process.exit(0));
}

async function drive(kind, o) {
  const child = fork(fileURLToPath(import.meta.url), ['--serve', kind], { stdio: 'inherit' });
  const port = await new Promise((resolve, reject) => {
    child.once('message', resolve);
    child.once('exit', (code) => reject(new Error(`${kind} server exited (${code})`)));
  });
  const message = Buffer.alloc(o.size, 0x61);
  const sockets = [];
  let echoed = 0;
  let measuring = false;
  await Promise.all(
    Array.from(
      { length: o.conns },
      () =>
        new Promise((resolve, reject) => {
          const socket = net.connect({ port, host: HOST, noDelay: true }, resolve);
          socket.on('error', reject);
          socket.on('data', (chunk) => {
            if (measuring) echoed += chunk.length;
            socket.write(chunk); // keep the same number of bytes in flight
          });
          sockets.push(socket);
        }),
    ),
  );
  for (const socket of sockets) for (let i = 0; i < o.inflight; i++) socket.write(message);
  await new Promise((resolve) => setTimeout(resolve, 500)); // warm-up
  const cpu = () =>
    new Promise((resolve) => {
      child.once('message', resolve);
      child.send('cpu');
    });
  const cpuBefore = await cpu();
  measuring = true;
  const start = process.hrtime.bigint();
  await new Promise((resolve) => setTimeout(resolve, o.duration * 1000));
  const seconds = Number(process.hrtime.bigint() - start) / 1e9;
  measuring = false;
  const cpuMicros = (await cpu()) - cpuBefore;
  for (const socket of sockets) socket.destroy();
  child.disconnect();
  const messages = echoed / o.size;
  return { kind, messages: messages / seconds, mbps: echoed / seconds / 1e6, nsPerMessage: (cpuMicros * 1000) / messages, cpuShare: cpuMicros / 1e6 / seconds };
}

const o = parse(process.argv.slice(2));
if (o.serve) {
  serve(o.serve);
} else {
  console.log(`echo ${o.size} B, ${o.conns} connections, ${o.inflight} in flight each, ${o.duration} s per server`);
  const results = [];
  for (const kind of o.only) results.push(await drive(kind, o));
  const base = results[0];
  for (const r of results) {
    console.log(
      `${r.kind.padEnd(7)} ${Math.round(r.messages).toLocaleString('en').padStart(12)} msg/s ${r.mbps.toFixed(1).padStart(9)} MB/s  ${(r.messages / base.messages).toFixed(2)}x` +
        `  server CPU ${Math.round(r.nsPerMessage)} ns/msg (${(r.cpuShare * 100).toFixed(0)} % of a core)`,
    );
  }
}
