// Bench reference: uWebSockets.js, a native addon doing its own socket I/O on
// Node's libuv loop (issue 17's yardstick). Never a dependency: UWS_MODULE is
// the module directory contestants.mjs found (../shared/anchors/uws/uWebSockets.js
// or UWS_PATH); without it this server cannot start.
// PORT: port on 127.0.0.1. MODE: echo (default) | broadcast (every message to
// every connection, the sender included, through app.publish) | idle (echo,
// plus the gc command of control.mjs). DEFLATE=1: permessage-deflate with the
// shared (no context takeover) compressor and decompressor, as the load
// generator asks for it.
// Prints "ready backend=uws-<version>" once listening.
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { control } from './control.mjs';

const dir = process.env.UWS_MODULE;
const uWS = createRequire(import.meta.url)(dir);
const version = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')).version;

const port = Number(process.env.PORT);
const broadcast = process.env.MODE === 'broadcast';
const deflate = process.env.DEFLATE === '1';
const TOPIC = 'bench';

const app = uWS.App();
app
  .ws('/*', {
    compression: deflate ? uWS.SHARED_COMPRESSOR | uWS.SHARED_DECOMPRESSOR : uWS.DISABLED,
    maxPayloadLength: 64 * 1024 * 1024,
    idleTimeout: 0,
    // uWS's default (64 KiB) silently drops sends beyond it; every other contestant queues them.
    maxBackpressure: 0,
    open(ws) {
      if (broadcast) ws.subscribe(TOPIC);
    },
    message(ws, message, isBinary) {
      // uWS compresses only when asked (the third argument), as Bun does.
      if (broadcast) app.publish(TOPIC, message, isBinary, deflate);
      else ws.send(message, isBinary, deflate);
    },
  })
  .listen('127.0.0.1', port, (token) => {
    if (!token) {
      console.error(`uws: cannot listen on 127.0.0.1:${port}`);
      process.exit(1);
    }
    control(process.env.MODE);
    console.log(`ready backend=uws-${version}`);
  });
