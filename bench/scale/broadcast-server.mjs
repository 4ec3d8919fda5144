// Broadcast server for bench/scale/broadcast-workers.mjs, from the built package (npm run build:ts).
//
// env:
//   PORT      port on 127.0.0.1 (0: any; the chosen one is printed)
//   WORKERS   0: one plain process (serve()), N >= 1: serveCluster with N workers
//   ADAPTER   'ipc' (default with WORKERS >= 1), 'redis' (REDIS_URL), or 'none'
//
// Paths: '/' subscribes the connection to topic 'bench' and publishes every
// message it sends there with server.publish (so the sender gets its copy:
// what bench/loadgen.c's broadcast mode expects). '/pub' and '/sub' (the
// latency clients) first receive {"pid":...}; '/sub' subscribes, '/pub' does
// not.
//
// Prints "ready port=<port> workers=<n> backend=<native|js>" once every worker listens.
import { backend, serve } from '../../dist/index.mjs';
import { redisAdapter, serveCluster } from '../../dist/scale/index.js';

const port = Number(process.env.PORT ?? 0);
const workers = Number(process.env.WORKERS ?? 0);
const adapterKind = process.env.ADAPTER ?? (workers >= 1 ? 'ipc' : 'none');
const TOPIC = 'bench';

let server;
const options = {
  port,
  host: '127.0.0.1',
  maxPayload: 64 * 1024 * 1024,
  open(ws) {
    if (ws.data === '/pub' || ws.data === '/sub') ws.send(JSON.stringify({ pid: process.pid }));
    if (ws.data !== '/pub') ws.subscribe(TOPIC);
  },
  upgrade(req) {
    return { data: req.path };
  },
  message(_ws, data, isBinary) {
    server.publish(TOPIC, data, { binary: isBinary });
  },
};

function redis() {
  return redisAdapter({ url: process.env.REDIS_URL, channelPrefix: 'bench:', onError: (e) => console.error(`redis: ${e.message}`) });
}

if (workers === 0) {
  server = await serve({ ...options, ...(adapterKind === 'redis' ? { adapter: redis() } : {}) });
  console.log(`ready port=${server.port} workers=0 backend=${backend}`);
} else {
  const c = await serveCluster({ workers, ...options, ...(adapterKind === 'redis' ? { adapter: redis() } : {}) });
  if (c.isPrimary) {
    console.log(`ready port=${port} workers=${workers} backend=${backend}`);
    process.on('SIGTERM', () => c.close({ timeout: 2000 }).then(() => process.exit(0)));
  } else {
    server = c.value;
  }
}
