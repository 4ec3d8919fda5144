// The wsbolt chat demo: `npm start` (or `PORT=3000 HOST=0.0.0.0 npm start`), then open the printed URL in two tabs.
//
// One port serves the page (plain HTTP) and the WebSocket endpoint /ws. Protocol, JSON text messages:
//   browser → server  {type:'nick', nick}  {type:'join', room}  {type:'leave'}  {type:'chat', text}
//   server → browser  {type:'welcome', nick, extensions}  {type:'joined'|'left', room}  {type:'presence', room, nick, event}
//                     {type:'chat', room, nick, text}  {type:'binary', room, nick, bytes}  {type:'stats', ...}  {type:'error', message}
// A binary message is forwarded as it is to everyone in the sender's room, after a {type:'binary'} notice saying who sent it.
// Rooms are pub/sub topics 'room:<name>'; every connection is subscribed to 'stats', pushed once a second.
import { readFile } from 'node:fs/promises';
import { serve } from 'wsbolt';

const PUBLIC = new URL('./public/', import.meta.url);
const FILES = {
  '/': ['index.html', 'text/html; charset=utf-8'],
  '/app.js': ['app.js', 'text/javascript; charset=utf-8'],
  '/style.css': ['style.css', 'text/css; charset=utf-8'],
};
const ROOM = /^[\w-]{1,32}$/;
const HOST = process.env.HOST || '127.0.0.1';
const PORT = process.env.PORT || '8080';
// An IPv6 literal needs brackets in a URL.
const ADDRESS = (port) => `${HOST.includes(':') ? `[${HOST}]` : HOST}:${port}`;

/** A mistake in how the demo was started is one line and exit code 1, not a stack trace. */
function quit(message) {
  console.error(`wsbolt chat demo: ${message}`);
  process.exit(1);
}

if (!/^\d{1,5}$/.test(PORT) || Number(PORT) > 65535) quit(`PORT must be a port number (0-65535), not ${JSON.stringify(PORT)}`);
const clean = (text, max) =>
  String(text ?? '')
    // eslint-disable-next-line no-control-regex -- control characters are exactly what is replaced
    .replace(/[\u0000-\u001f]/g, ' ')
    .trim()
    .slice(0, max);

let guests = 0;
let received = 0; // messages in the current second
const rooms = new Map(); // room name → number of members

function leave(ws) {
  const { room } = ws.data;
  if (!room) return;
  ws.unsubscribe(`room:${room}`);
  ws.data.room = null;
  const left = rooms.get(room) - 1;
  if (left > 0) rooms.set(room, left);
  else rooms.delete(room);
  ws.send(JSON.stringify({ type: 'left', room }));
  server.publish(`room:${room}`, JSON.stringify({ type: 'presence', room, nick: ws.data.nick, event: 'leave' }));
}

function join(ws, room) {
  if (!ROOM.test(room)) return ws.send(JSON.stringify({ type: 'error', message: 'room names are 1-32 letters, digits, _ or -' }));
  if (room === ws.data.room) return;
  leave(ws);
  ws.data.room = room;
  rooms.set(room, (rooms.get(room) ?? 0) + 1);
  server.publish(`room:${room}`, JSON.stringify({ type: 'presence', room, nick: ws.data.nick, event: 'join' }));
  ws.subscribe(`room:${room}`);
  ws.send(JSON.stringify({ type: 'joined', room, members: rooms.get(room) }));
}

function onText(ws, text) {
  let msg;
  try {
    msg = JSON.parse(text);
  } catch {
    return ws.send(JSON.stringify({ type: 'error', message: 'text messages must be JSON' }));
  }
  const { room, nick } = ws.data;
  switch (msg?.type) {
    case 'nick':
      ws.data.nick = clean(msg.nick, 24) || nick;
      return ws.send(JSON.stringify({ type: 'nick', nick: ws.data.nick }));
    case 'join':
      return join(ws, String(msg.room ?? ''));
    case 'leave':
      return leave(ws);
    case 'chat': {
      const body = clean(msg.text, 2000);
      if (!room) return ws.send(JSON.stringify({ type: 'error', message: 'join a room first' }));
      if (body) server.publish(`room:${room}`, JSON.stringify({ type: 'chat', room, nick, text: body }));
      return;
    }
    default:
      return ws.send(JSON.stringify({ type: 'error', message: `unknown message type ${JSON.stringify(msg?.type)}` }));
  }
}

const server = await serve({
  port: Number(PORT),
  host: HOST,
  path: '/ws',
  perMessageDeflate: true,
  maxPayload: 1024 * 1024,
  async http(req, res) {
    const file = FILES[new URL(req.url, 'http://x').pathname];
    if (req.method !== 'GET' || !file) {
      res.writeHead(404, { 'Content-Type': 'text/plain' }).end('not found\n');
      return;
    }
    const body = await readFile(new URL(file[0], PUBLIC));
    res.writeHead(200, { 'Content-Type': file[1], 'Cache-Control': 'no-cache' }).end(body);
  },
  upgrade(req) {
    const nick = clean(new URLSearchParams(req.query).get('nick'), 24) || `guest-${++guests}`;
    return { data: { nick, room: null } };
  },
  open(ws) {
    ws.subscribe('stats');
    ws.send(JSON.stringify({ type: 'welcome', nick: ws.data.nick, extensions: ws.extensions }));
  },
  message(ws, data, isBinary) {
    received++;
    if (!isBinary) return onText(ws, data.toString());
    const { room, nick } = ws.data;
    if (!room) return ws.send(JSON.stringify({ type: 'error', message: 'join a room first' }));
    server.publish(`room:${room}`, JSON.stringify({ type: 'binary', room, nick, bytes: data.length }));
    server.publish(`room:${room}`, data, { binary: true });
  },
  close(ws) {
    leave(ws);
  },
}).catch((error) => {
  const next = Number(PORT) === 65535 ? 8080 : Number(PORT) + 1;
  if (error?.code === 'EADDRINUSE') quit(`${ADDRESS(PORT)} is already in use (another demo?); choose another port: PORT=${next} npm start`);
  if (error?.code === 'EADDRNOTAVAIL' || error?.code === 'ENOTFOUND')
    quit(`HOST ${HOST} is not an address of this machine (try HOST=127.0.0.1 or HOST=0.0.0.0)`);
  if (error?.code === 'EACCES') quit(`no permission to listen on ${ADDRESS(PORT)} (ports below 1024 need privileges); try PORT=8080 npm start`);
  throw error;
});

const stats = setInterval(() => {
  const connections = [...server.connections];
  server.publish(
    'stats',
    JSON.stringify({
      type: 'stats',
      connections: connections.length,
      deflate: connections.filter((ws) => ws.extensions.includes('permessage-deflate')).length,
      messagesPerSecond: received,
      rooms: Object.fromEntries(rooms),
    }),
  );
  received = 0;
}, 1000);

console.log(`wsbolt chat demo on http://${ADDRESS(server.port)}/ (PORT and HOST choose the address)`);

async function shutdown() {
  clearInterval(stats);
  await server.close({ code: 1001, reason: 'server shutting down' });
  process.exit(0);
}
process.once('SIGTERM', shutdown);
process.once('SIGINT', shutdown);
