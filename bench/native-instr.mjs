// Server instructions per echoed WebSocket message, counted by callgrind
// (deterministic, unlike wall-clock on a shared machine). Not part of the
// suite; needs `npm run build` and valgrind.
//
//   node bench/native-instr.mjs [--transport native|stream] [--size 1024] [--conns 50] [--inflight 2] [--n 20000] [--base 4000]
//
// Runs the server twice under callgrind, echoing `base` and then `base + n`
// messages in all (the two runs at once: counts do not depend on timing), and
// reports (I(base + n) - I(base)) / n, so startup and warm-up cancel out:
// for the main thread (the loop and JS; the figure to compare) and for all
// threads (adds background JIT compiles and GC, which vary from run to run).
// Kernel time is not counted: fewer syscalls show only in wall-clock. The
// server adopts each raw TCP connection straight away (no HTTP handshake:
// the engine does not care) and runs the real engine (connection.ts) on it;
// the client is a plain Node process sending masked frames, `inflight` in
// flight per connection.
import { spawn } from 'node:child_process';
import { createRequire } from 'node:module';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';

const HOST = '127.0.0.1';
const here = fileURLToPath(import.meta.url);

function parse(argv) {
  const o = { transport: 'native', size: 1024, conns: 50, inflight: 2, n: 20000, base: 4000, serve: false, out: null, keep: false };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '--serve') o.serve = true;
    else if (a === '--keep') o.keep = true;
    else if (a === '--transport') o.transport = argv[++i];
    else if (a === '--out') o.out = argv[++i];
    else if (['--size', '--conns', '--inflight', '--n', '--base'].includes(a)) o[a.slice(2)] = Number(argv[++i]);
    else throw new Error(`unknown option ${a}`);
  }
  return o;
}

function serve(o) {
  const require = createRequire(import.meta.url);
  const { NativeTransport } = require('../dist/node/native-transport.js');
  const { StreamTransport } = require('../dist/node/stream-transport.js');
  const { WebSocket } = require('../dist/node/connection.js');
  const { resolveOptions } = require('../dist/node/connection-options.js');
  const options = resolveOptions({ idleTimeout: 0, messageTimeout: 0, sendPings: false });
  const handler = { message: (ws, data, isBinary) => ws.send(data, { binary: isBinary }) };
  let closed = 0;
  const server = net.createServer({ noDelay: true }, (socket) => {
    const transport = o.transport === 'native' ? NativeTransport.adopt(socket) : new StreamTransport(socket);
    if (!transport || transport instanceof Promise) throw new Error('native transport unavailable');
    new WebSocket({
      io: transport,
      role: 'server',
      handler,
      options,
      data: null,
      protocol: '',
      extensions: '',
      hub: null,
      onFinished: () => {
        if (++closed === o.conns) process.exit(0);
      },
    });
  });
  server.listen(0, HOST, () => process.stdout.write(`port ${server.address().port}\n`));
}

function frame(size) {
  const header =
    size < 126
      ? Buffer.from([0x82, 0x80 | size])
      : size < 65536
        ? Buffer.from([0x82, 0xfe, size >> 8, size & 255])
        : Buffer.from([0x82, 0xff, 0, 0, 0, 0, size >>> 24, (size >> 16) & 255, (size >> 8) & 255, size & 255]);
  return Buffer.concat([header, Buffer.from([1, 2, 3, 4]), Buffer.alloc(size, 0x61 ^ 1)]);
}

/** Echoes `total` messages over o.conns connections, then closes them all. */
async function drive(port, total, o) {
  const message = frame(o.size);
  const replySize = o.size + (o.size < 126 ? 2 : o.size < 65536 ? 4 : 10);
  let sent = 0;
  let received = 0;
  let finish;
  const done = new Promise((resolve) => (finish = resolve));
  const sockets = await Promise.all(
    Array.from(
      { length: o.conns },
      () =>
        new Promise((resolve, reject) => {
          const socket = net.connect({ port, host: HOST, noDelay: true }, () => resolve(socket));
          socket.on('error', reject);
          let bytes = 0;
          socket.on('data', (chunk) => {
            bytes += chunk.length;
            while (bytes >= replySize) {
              bytes -= replySize;
              received++;
              if (sent < total) {
                sent++;
                socket.write(message);
              }
              if (received === total) finish();
            }
          });
        }),
    ),
  );
  for (const socket of sockets) for (let i = 0; i < o.inflight && sent < total; i++, sent++) socket.write(message);
  await done;
  for (const socket of sockets) socket.destroy();
}

async function measure(total, o) {
  const out = path.join(os.tmpdir(), `native-instr-${process.pid}-${total}.out`);
  const child = spawn(
    'valgrind',
    [
      '--tool=callgrind',
      '--smc-check=all-non-file',
      '--separate-threads=yes',
      `--callgrind-out-file=${out}`,
      process.execPath,
      here,
      '--serve',
      '--transport',
      o.transport,
      '--conns',
      String(o.conns),
    ],
    {
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  let stderr = '';
  child.stderr.on('data', (d) => (stderr += d));
  const port = await new Promise((resolve, reject) => {
    let text = '';
    child.stdout.on('data', (d) => {
      text += d;
      const m = /port (\d+)/.exec(text);
      if (m) resolve(Number(m[1]));
    });
    child.once('exit', (code) => reject(new Error(`server exited (${code}): ${stderr}`)));
  });
  await drive(port, total, o);
  await new Promise((resolve) => child.once('exit', resolve));
  // One file per thread: -01 is the main thread (the loop, JS); the others compile and collect in the background.
  const files = fs
    .readdirSync(path.dirname(out))
    .filter((f) => f.startsWith(`${path.basename(out)}-`))
    .map((f) => path.join(path.dirname(out), f));
  let instructions = 0;
  let main = 0;
  for (const file of files) {
    const summary = /summary: (\d+)/.exec(fs.readFileSync(file, 'utf8'));
    if (!summary) throw new Error(`no callgrind summary in ${file}`);
    instructions += Number(summary[1]);
    if (file.endsWith('-01')) main = Number(summary[1]);
    if (!o.keep) fs.unlinkSync(file);
  }
  return { instructions, main, out: `${out}-01` };
}

const o = parse(process.argv.slice(2));
if (o.serve) serve(o);
else {
  const [a, b] = await Promise.all([measure(o.base, o), measure(o.base + o.n, o)]);
  const per = (key) => Math.round((b[key] - a[key]) / o.n).toLocaleString('en');
  console.log(
    `${o.transport} ${o.size} B, ${o.conns} conns x ${o.inflight} in flight: server instructions/message ${per('main')} main thread, ${per('instructions')} all threads` +
      (o.keep ? ` (main-thread profiles: ${a.out} ${b.out})` : ''),
  );
}
