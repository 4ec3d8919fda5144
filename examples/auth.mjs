// Authentication in the upgrade hook: `PORT=8080 node examples/auth.mjs`
// A token comes as `Authorization: Bearer <token>` (Node clients) or `?token=<token>` (browsers, which cannot set
// headers on a WebSocket). Unknown or missing tokens get an HTTP 401 before any WebSocket exists.
//   node -e "import('wsbolt').then(({connect}) => connect('ws://127.0.0.1:8080/?token=alice-secret'))"
import { reject, serve } from 'wsbolt';

// A real server would look the token up in its session store, asynchronously: upgrade() may return a promise.
const TOKENS = new Map([
  ['alice-secret', { user: 'alice' }],
  ['bob-secret', { user: 'bob' }],
]);

function tokenOf(req) {
  const header = req.header('authorization');
  if (header?.startsWith('Bearer ')) return header.slice(7).trim();
  return new URLSearchParams(req.query).get('token');
}

const port = Number(process.env.PORT ?? 8080);
const host = process.env.HOST ?? '127.0.0.1';
const server = await serve({
  port,
  host,
  async upgrade(req) {
    const token = tokenOf(req);
    const session = token ? TOKENS.get(token) : undefined;
    if (!session) return reject(401, token ? 'invalid token' : 'missing token', { 'WWW-Authenticate': 'Bearer' });
    return { data: session };
  },
  open(ws) {
    ws.send(`hello ${ws.data.user}`);
  },
  message(ws, data) {
    ws.send(`${ws.data.user} said: ${data}`);
  },
}).catch(listenFailed);
console.log(`auth server listening on ws://${host}:${server.port}`);

const stop = () => server.close().then(() => process.exit(0));
process.once('SIGTERM', stop);
process.once('SIGINT', stop);

// A taken port is the usual first-run mistake: say so in one line instead of a stack.
function listenFailed(error) {
  const taken = error.code === 'EADDRINUSE';
  console.error(`auth: ${taken ? `${host}:${port} is already in use; choose another port: PORT=${port + 1} node examples/auth.mjs` : error.message}`);
  process.exit(1);
}
