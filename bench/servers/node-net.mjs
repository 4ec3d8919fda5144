// Bench reference, not a contestant to beat: the floor of a WebSocket server
// on node:net. No HTTP parser, no validation (it trusts the load generator:
// no UTF-8 check, no limits, no fragments), a hand-written 101, frames
// unmasked by a plain loop and echoed with one write per read. What a library
// cannot go below on Node's sockets: the scenarios it answers (a, b, e, f, g)
// show how much of the gap to Bun is Node's, not the library's.
// PORT, MODE (echo | broadcast | idle) as for the other servers.
import { hash } from 'node:crypto';
import { createServer } from 'node:net';
import { control } from './control.mjs';

const GUID = '258EAFA5-E914-47DA-95CA-C5AB0DC85B11';
const broadcast = process.env.MODE === 'broadcast';
const sockets = new Set();

function handshake(socket, request) {
  const at = request.toLowerCase().indexOf('sec-websocket-key:');
  const key = request.slice(at + 18, request.indexOf('\r\n', at)).trim();
  socket.write(
    `HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: ${hash('sha1', key + GUID, 'base64')}\r\n\r\n`,
  );
}

/** Every complete frame of buf: unmasked, re-framed unmasked into out; returns [frames out, bytes used, closed]. */
function frames(buf, out) {
  let pos = 0;
  let closed = false;
  while (pos + 6 <= buf.length) {
    let len = buf[pos + 1] & 0x7f;
    let head = 2;
    if (len === 126) {
      if (pos + 8 > buf.length) break;
      len = buf.readUInt16BE(pos + 2);
      head = 4;
    } else if (len === 127) {
      if (pos + 14 > buf.length) break;
      len = buf.readUInt32BE(pos + 6);
      head = 10;
    }
    const start = pos + head + 4;
    if (start + len > buf.length) break;
    const m0 = buf[start - 4],
      m1 = buf[start - 3],
      m2 = buf[start - 2],
      m3 = buf[start - 1];
    for (let i = 0; i + 3 < len; i += 4) {
      buf[start + i] ^= m0;
      buf[start + i + 1] ^= m1;
      buf[start + i + 2] ^= m2;
      buf[start + i + 3] ^= m3;
    }
    for (let i = len & ~3; i < len; i++) buf[start + i] ^= buf[start - 4 + (i & 3)];
    const opcode = buf[pos] & 0x0f;
    const header =
      len < 126
        ? Buffer.from([0x80 | opcode, len])
        : len < 0x10000
          ? Buffer.from([0x80 | opcode, 126, len >> 8, len & 0xff])
          : Buffer.from([0x80 | opcode, 127, 0, 0, 0, 0, len >>> 24, (len >> 16) & 0xff, (len >> 8) & 0xff, len & 0xff]);
    out.push(header, buf.subarray(start, start + len));
    if (opcode === 0x8) closed = true;
    pos = start + len;
  }
  return [pos, closed];
}

const server = createServer((socket) => {
  socket.setNoDelay(true);
  socket.on('error', () => {});
  sockets.add(socket);
  socket.on('close', () => sockets.delete(socket));
  let open = false;
  let pending = null;
  socket.on('data', (chunk) => {
    let buf = pending ? Buffer.concat([pending, chunk]) : chunk;
    pending = null;
    if (!open) {
      const end = buf.indexOf('\r\n\r\n');
      if (end < 0) return void (pending = buf);
      handshake(socket, buf.toString('latin1', 0, end + 2));
      open = true;
      buf = buf.subarray(end + 4);
    }
    const out = [];
    const [used, closed] = frames(buf, out);
    if (used < buf.length) pending = Buffer.from(buf.subarray(used));
    if (out.length === 0) return;
    const data = Buffer.concat(out);
    if (broadcast && !closed) for (const s of sockets) s.write(data);
    else socket.write(data);
    if (closed) socket.end();
  });
});
server.listen(Number(process.env.PORT), '127.0.0.1', () => console.log('ready backend=node-net'));
control(process.env.MODE);
