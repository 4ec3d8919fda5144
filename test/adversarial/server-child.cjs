/**
 * A wsbolt server in a child process, for the adversarial tests and the soak
 * run: its memory is measured alone, and an attack that blocks its event loop
 * shows up as slow echoes to an honest client. Loads the built package
 * (dist/, made by `npm run build:ts`, which `npm test` runs first); the
 * backend follows WSBOLT_NO_NATIVE like the parent's.
 *
 * Started with one JSON argument: serve() options (plain data) plus
 *   topic: subscribe connections to this topic on open (only those on subscribePath when it is set)
 *   publishPath: messages of connections on this path are published to topic instead of echoed
 *   echo: echo messages (default true)
 *   sampleMs: how often to sample RSS, bufferedAmount and pauses (default 25)
 *   slowUpgrade: { path, ms, reject? } the upgrade hook for `path` is async: it answers after ms, with
 *                reject(status) when `reject` is set (other paths keep the synchronous hook)
 *   wsApi: serve through `wsbolt/ws` (a WebSocketServer that echoes) instead of serve(); the other options
 *          but maxPayload are ignored then, and close kinds are reported as 'ws'
 * Speaks over IPC. Commands (each answered with { re: id, ... }):
 *   mem           { rss, heapUsed, heapTotal, external, arrayBuffers, peakRss, peakBuffered, anyPaused }  (peaks since the
 *                 last reset; with spaces: true also the size of each V8 heap space)
 *   reset         reset the peaks
 *   gc            run the garbage collector (needs --expose-gc), then mem
 *   stats         { connections, opened, closes: { 'code/kind': count }, lastCloses, uncaught, messages, messageBytes }
 *   publish       { topic, size, count, binary } -> { reached: number[] } one publish per event-loop turn
 *   buffered      { amounts: number[] } bufferedAmount of every connection
 *   resume        resume every paused connection
 *   until         { connections?, opened?, closed? } answers (with stats) once server.connections.size
 *                 equals `connections` and at least `opened` opened / `closed` closed (checked on each open/close)
 *   exit
 * Events sent unasked: { event: 'listening', port, backend }, { event: 'paused' }
 * the first time a connection is paused for backpressure, { event: 'uncaught', error }.
 */
'use strict';
const path = require('node:path');

const root = path.join(__dirname, '..', '..');
let wsbolt;
try {
  wsbolt = require(path.join(root, 'dist', 'index.js'));
} catch (error) {
  process.send({ event: 'fatal', error: `cannot load dist/ (run npm run build:ts): ${error.message}` });
  process.exit(1);
}

const options = JSON.parse(process.argv[2] || '{}');
const { topic, subscribePath, publishPath, echo = true, sampleMs = 25, wsApi = false, slowUpgrade, ...serveOptions } = options;
let server = null;

let opened = 0;
let closed = 0;
/** Waiters of the 'until' command, checked after every open and close. */
let waiters = [];
const closes = {};
const lastCloses = [];
let uncaught = 0;
let messages = 0;
let messageBytes = 0;
let peakRss = 0;
let peakBuffered = 0;
let anyPaused = false;
let pausedReported = false;

process.on('uncaughtException', (error) => {
  uncaught++;
  process.send?.({ event: 'uncaught', error: String(error && error.stack ? error.stack : error) });
});

function sample() {
  const rss = process.memoryUsage.rss();
  if (rss > peakRss) peakRss = rss;
}

/** Paused for backpressure (or by the user): through wsbolt/ws, the engine connection under the ws object says. */
const readingPaused = (ws) => (wsApi ? Boolean(ws._engine && ws._engine.isPaused) : ws.isPaused);

function sampleConnections(server) {
  for (const ws of server.connections) {
    const b = ws.bufferedAmount;
    if (b > peakBuffered) peakBuffered = b;
    if (readingPaused(ws)) {
      anyPaused = true;
      if (!pausedReported) {
        pausedReported = true;
        process.send({ event: 'paused', bufferedAmount: b });
      }
    }
  }
}

/** A wsbolt/ws WebSocketServer that echoes, shaped like serve()'s server for the commands below. */
async function serveWs() {
  const { WebSocketServer } = require(path.join(root, 'dist', 'ws', 'index.js'));
  const wss = new WebSocketServer({ host: '127.0.0.1', port: 0, ...(serveOptions.maxPayload ? { maxPayload: serveOptions.maxPayload } : {}) });
  await new Promise((resolve, reject) => {
    wss.once('listening', resolve);
    wss.once('error', reject);
  });
  wss.on('connection', (ws) => {
    opened++;
    ws.on('error', () => {});
    ws.on('message', (data, isBinary) => {
      messages++;
      messageBytes += data.length;
      if (echo) ws.send(data, { binary: isBinary });
    });
    ws.on('close', (code) => {
      const key = `${code}/ws`;
      closes[key] = (closes[key] || 0) + 1;
      lastCloses.push({ code, kind: 'ws' });
      if (lastCloses.length > 50) lastCloses.shift();
      closed++;
      setImmediate(checkWaiters);
    });
    checkWaiters();
  });
  return {
    connections: wss.clients,
    port: wss.address().port,
    close: () =>
      new Promise((resolve) => {
        for (const ws of wss.clients) ws.terminate();
        wss.close(() => resolve());
      }),
  };
}

/** Set by main() once the server is up: answers the 'until' waiters. */
let checkWaiters = () => {};

async function main() {
  server = wsApi
    ? await serveWs()
    : await wsbolt.serve({
        host: '127.0.0.1',
        port: 0,
        ...serveOptions,
        upgrade(req) {
          if (slowUpgrade && req.path === slowUpgrade.path) {
            return new Promise((resolve) => setTimeout(resolve, slowUpgrade.ms)).then(() =>
              slowUpgrade.reject ? wsbolt.reject(slowUpgrade.reject, 'refused') : { data: { path: req.path } },
            );
          }
          return { data: { path: req.path } };
        },
        open(ws) {
          opened++;
          if (topic && (!subscribePath || ws.data.path === subscribePath)) ws.subscribe(topic);
          checkWaiters();
        },
        message(ws, data, isBinary) {
          messages++;
          messageBytes += data.length;
          if (publishPath && ws.data.path === publishPath) server.publish(topic, data, { binary: isBinary });
          else if (echo) ws.send(data, { binary: isBinary });
        },
        close(_ws, code, _reason, cause) {
          const key = `${code}/${cause.kind}`;
          closes[key] = (closes[key] || 0) + 1;
          lastCloses.push({ code, kind: cause.kind, error: cause.error ? String(cause.error.code || cause.error.message) : undefined });
          if (lastCloses.length > 50) lastCloses.shift();
          closed++;
          // server.connections drops the connection right after this callback.
          setImmediate(checkWaiters);
        },
      });
  const statsOf = () => ({ connections: server.connections.size, opened, closed, closes, lastCloses, uncaught, messages, messageBytes });
  checkWaiters = () => {
    if (waiters.length === 0) return;
    const keep = [];
    for (const w of waiters) {
      const c = w.cond;
      const ok =
        (c.connections === undefined || server.connections.size === c.connections) &&
        (c.opened === undefined || opened >= c.opened) &&
        (c.closed === undefined || closed >= c.closed);
      if (ok) w.reply(statsOf());
      else keep.push(w);
    }
    waiters = keep;
  };
  sample();
  const timer = setInterval(() => {
    sample();
    // Walking every connection costs time with thousands of them: only when few.
    if (server.connections.size <= 200) sampleConnections(server);
  }, sampleMs);
  timer.unref();

  process.on('message', async (msg) => {
    const reply = (body) => process.send({ re: msg.id, ...body });
    switch (msg.cmd) {
      case 'mem':
      case 'gc': {
        if (msg.cmd === 'gc' && global.gc) global.gc();
        sample();
        if (server.connections.size <= 200) sampleConnections(server);
        const m = process.memoryUsage();
        const spaces = msg.spaces
          ? Object.fromEntries(
              require('node:v8')
                .getHeapSpaceStatistics()
                .map((sp) => [sp.space_name, sp.space_size]),
            )
          : undefined;
        reply({
          rss: m.rss,
          heapUsed: m.heapUsed,
          heapTotal: m.heapTotal,
          external: m.external,
          arrayBuffers: m.arrayBuffers,
          peakRss,
          peakBuffered,
          anyPaused,
          spaces,
        });
        break;
      }
      case 'reset':
        peakRss = process.memoryUsage.rss();
        peakBuffered = 0;
        anyPaused = false;
        pausedReported = false;
        reply({});
        break;
      case 'stats':
        reply(statsOf());
        break;
      case 'until':
        waiters.push({ cond: msg.cond || {}, reply });
        checkWaiters();
        break;
      case 'buffered':
        reply({ amounts: [...server.connections].map((ws) => ws.bufferedAmount) });
        break;
      case 'resume':
        for (const ws of server.connections) ws.resume();
        reply({});
        break;
      case 'publish': {
        const payload = msg.binary === false ? 'x'.repeat(msg.size) : Buffer.alloc(msg.size, 0x61);
        const reached = [];
        for (let i = 0; i < msg.count; i++) {
          reached.push(server.publish(msg.topic, payload));
          sampleConnections(server);
          // One publish per turn, so writes reach the kernel in between (as in a real app).
          await new Promise((resolve) => setImmediate(resolve));
        }
        reply({ reached });
        break;
      }
      case 'exit':
        reply({});
        await server.close({ timeout: 200 }).catch(() => {});
        process.exit(0);
        break;
      default:
        reply({ error: `unknown command ${msg.cmd}` });
    }
  });
  process.send({ event: 'listening', port: server.port, backend: wsbolt.backend });
}

main().catch((error) => {
  process.send({ event: 'fatal', error: String(error && error.stack ? error.stack : error) });
  process.exit(1);
});
