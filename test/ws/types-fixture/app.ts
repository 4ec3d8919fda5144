// A small app typed against `ws` (@types/ws), as users write it. types.test.ts compiles it as it is and
// again with only its import changed to 'wsbolt/ws'; both compilations must pass under --strict.
import * as http from 'node:http';
import type { Duplex } from 'node:stream';
import WebSocket, { WebSocketServer, createWebSocketStream } from 'ws';
import type { ClientOptions, Data, RawData, ServerOptions } from 'ws';

/** A library function typed against ws's classes. */
export function broadcast(wss: WebSocketServer, data: Data, except?: WebSocket): number {
  let sent = 0;
  wss.clients.forEach((client: WebSocket) => {
    if (client !== except && client.readyState === WebSocket.OPEN) {
      client.send(data, { binary: typeof data !== 'string' });
      sent++;
    }
  });
  return sent;
}

export function toText(data: RawData): string {
  if (Buffer.isBuffer(data)) return data.toString('utf8');
  if (Array.isArray(data)) return Buffer.concat(data).toString('utf8');
  return Buffer.from(data).toString('utf8');
}

export function asData(data: RawData): WebSocket.Data {
  const d: WebSocket.Data = data;
  return d;
}

export function heartbeat(ws: import('ws').WebSocket, interval: number): NodeJS.Timeout {
  let alive = true;
  ws.on('pong', () => {
    alive = true;
  });
  return setInterval(() => {
    if (!alive) return ws.terminate();
    alive = false;
    ws.ping();
  }, interval);
}

export function startServer(port: number): WebSocketServer {
  const options: ServerOptions = {
    port,
    perMessageDeflate: { threshold: 1024, zlibDeflateOptions: { level: 3 } },
    maxPayload: 1 << 20,
    clientTracking: true,
    verifyClient: (info, done) => done(info.origin !== 'evil'),
    handleProtocols: (protocols) => (protocols.has('chat') ? 'chat' : false),
  };
  const wss = new WebSocketServer(options);
  wss.on('connection', (ws: WebSocket, req: http.IncomingMessage) => {
    ws.binaryType = 'arraybuffer';
    ws.binaryType = 'nodebuffer';
    const ip: string | undefined = req.socket.remoteAddress;
    ws.on('message', (data, isBinary) => {
      const text: string = isBinary ? '' : toText(data);
      broadcast(wss, isBinary ? asData(data) : text, ws);
    });
    ws.on('close', (code: number, reason: Buffer) => console.log(ip, code, reason.toString()));
    ws.on('error', (err: Error) => console.error(err.message));
    ws.onmessage = (event: WebSocket.MessageEvent) => {
      const d: WebSocket.Data = event.data;
      void d;
    };
    ws.addEventListener('close', (event) => console.log(event.code, event.wasClean), { once: true });
    heartbeat(ws, 30_000);
  });
  wss.on('headers', (headers: string[]) => headers.push('X-App: 1'));
  wss.on('wsClientError', (err: Error, socket: Duplex) => {
    socket.end(`HTTP/1.1 400 Bad Request\r\n\r\n${err.message}`);
  });
  return wss;
}

export function attachNoServer(server: http.Server): WebSocketServer {
  const wss = new WebSocketServer({ noServer: true, path: '/ws' });
  server.on('upgrade', (req: http.IncomingMessage, socket: Duplex, head: Buffer) => {
    wss.handleUpgrade(req, socket, head, (ws: WebSocket, request: http.IncomingMessage) => {
      wss.emit('connection', ws, request);
    });
  });
  return wss;
}

export function client(url: string): Promise<WebSocket.RawData> {
  const options: ClientOptions = { headers: { authorization: 'x' }, handshakeTimeout: 5_000, perMessageDeflate: false };
  const ws = new WebSocket(url, ['chat'], options);
  const stream: Duplex = createWebSocketStream(ws, { encoding: 'utf8' });
  void stream;
  return new Promise((resolve, reject) => {
    ws.once('open', () => ws.send('hello', (err?: Error) => err && reject(err)));
    ws.once('message', (data: WebSocket.RawData) => {
      resolve(data);
      ws.close(1000, 'bye');
    });
    ws.once('unexpected-response', (_req: http.ClientRequest, res: http.IncomingMessage) => reject(new Error(String(res.statusCode))));
    ws.once('error', reject);
  });
}

export const server: WebSocket.Server = new WebSocket.Server({ noServer: true });
export const addressOf = (wss: WebSocketServer): WebSocket.AddressInfo | string | null => wss.address();
