/**
 * The raw server: a bare TCP server that reads each request head and lets
 * the test answer by hand, for testing a client. switchingProtocols() is a
 * correct 101; frameReader() parses what the client sends after it (frames
 * parsed by FrameParser, written independently of src/).
 */
import * as http from 'node:http';
import * as net from 'node:net';
import { type RawRequest, readRequest, switchingProtocols } from './http.js';
import { HOST } from './net.js';
import { Queue, defer as deferAfterTest } from './wait.js';
import { FrameParser, type ParsedFrame } from './wire.js';

export interface RawConnection {
  socket: net.Socket;
  request: RawRequest;
}

export interface RawServer {
  port: number;
  url: string;
  /** Connections, each after its request head arrived. */
  connections: Queue<RawConnection>;
  /** Every TCP connection accepted (also those that never send a head). */
  sockets: Set<net.Socket>;
}

/**
 * A net server that reads each request head and then calls respond (which
 * may write anything to the socket; the socket is paused until something
 * reads it, see frameReader). Every socket is destroyed after the test.
 */
export async function rawServer(
  respond: (conn: RawConnection) => void = () => {},
  { host = HOST, port = 0, defer = deferAfterTest }: { host?: string; port?: number; defer?: (fn: () => unknown) => void } = {},
): Promise<RawServer> {
  const connections = new Queue<RawConnection>('raw connection');
  const sockets = new Set<net.Socket>();
  const server = net.createServer((socket) => {
    sockets.add(socket);
    socket.on('error', () => {});
    socket.on('close', () => sockets.delete(socket));
    readRequest(socket).then(
      (request) => {
        const conn = { socket, request };
        respond(conn);
        connections.push(conn);
      },
      () => {},
    );
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => resolve());
  });
  defer(
    () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  );
  const bound = (server.address() as net.AddressInfo).port;
  return { port: bound, url: `ws://${host.includes(':') ? `[${host}]` : host}:${bound}`, connections, sockets };
}

/** A raw server that completes the handshake (101, plus extra header lines) and leaves the socket, paused, to the test. */
export function rawWebSocketServer(extra: string[] = []): Promise<RawServer> {
  return rawServer(({ socket, request }) => {
    socket.write(switchingProtocols(request, extra));
  });
}

/** Parses the frames a client sends, as they arrive on a raw socket (and resumes it). */
export function frameReader(socket: net.Socket): Queue<ParsedFrame> {
  const frames = new Queue<ParsedFrame>('client frame');
  const parser = new FrameParser(frames.push);
  socket.on('data', (chunk: Buffer) => parser.push(chunk));
  socket.resume();
  return frames;
}

/**
 * The same role over node:http, for a test that wants Node's request
 * parsing (an IncomingMessage) and its half-open sockets: the caller's
 * onUpgrade answers by hand. Plain requests get 426.
 */
export async function httpUpgradeServer(
  defer: (fn: () => unknown) => void,
  onUpgrade: (req: http.IncomingMessage, socket: net.Socket) => void,
): Promise<{ port: number; requests: Queue<http.IncomingMessage> }> {
  const requests = new Queue<http.IncomingMessage>('upgrade request');
  const sockets = new Set<net.Socket>();
  const server = http.createServer((_req, res) => res.writeHead(426).end());
  server.on('upgrade', (req, socket: net.Socket) => {
    sockets.add(socket);
    socket.on('error', () => {});
    requests.push(req);
    onUpgrade(req, socket);
  });
  await new Promise<void>((resolve) => server.listen(0, HOST, resolve));
  defer(
    () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  );
  return { port: (server.address() as net.AddressInfo).port, requests };
}
