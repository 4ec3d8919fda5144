// wsbolt/ws's classes where code typed against @types/ws expects ws's: a library typed with ws takes them.
import type * as http from 'node:http';
import type WsDefault from 'ws';
import type * as ws from 'ws';
import Bolt from 'wsbolt/ws';

declare const boltSocket: Bolt;
declare const boltServer: Bolt.WebSocketServer;
declare const boltRaw: Bolt.RawData;

export const socket: ws.WebSocket = boltSocket;
export const socket2: WsDefault = new Bolt('ws://127.0.0.1:1');
export const server: ws.WebSocketServer = boltServer;
export const server2: ws.Server = new Bolt.WebSocketServer({ noServer: true });
export const data: ws.Data = boltRaw;
export const raw: ws.RawData = boltRaw;
export const clients: Set<ws.WebSocket> = boltServer.clients;
export const ctor: typeof ws.WebSocket = Bolt.WebSocket;
export const serverCtor: typeof ws.WebSocketServer = Bolt.WebSocketServer;
export const options: ws.ServerOptions = {} as Bolt.ServerOptions;
export const clientOptions: ws.ClientOptions = {} as Bolt.ClientOptions;

// A library typed with ws's callbacks gets wsbolt's objects.
export function useLibrary(register: (ws: ws.WebSocket, req: http.IncomingMessage) => void): void {
  boltServer.on('connection', (client, req) => register(client, req));
  boltServer.handleUpgrade({} as http.IncomingMessage, {} as never, Buffer.alloc(0), (client: ws.WebSocket) => register(client, {} as http.IncomingMessage));
}
