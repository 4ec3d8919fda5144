// ESM entry for `wsbolt/ws`: the same module instance as the CommonJS entry (index.ts), with ws's named exports.
import type { IncomingMessage } from 'node:http';
import ws from './index.js';

export default ws;
/** The WebSocket class (value, instance type and namespace of types), as `import { WebSocket } from 'ws'`. */
export { ws as WebSocket };

export const WebSocketServer = ws.WebSocketServer;
export type WebSocketServer<T extends typeof ws = typeof ws, U extends typeof IncomingMessage = typeof IncomingMessage> = ws.WebSocketServer<T, U>;
export const Server = ws.Server;
export type Server<T extends typeof ws = typeof ws, U extends typeof IncomingMessage = typeof IncomingMessage> = ws.Server<T, U>;
export const createWebSocketStream = ws.createWebSocketStream;

export type AddressInfo = ws.AddressInfo;
export type CertMeta = ws.CertMeta;
export type ClientOptions = ws.ClientOptions;
export type CloseEvent = ws.CloseEvent;
export type Data = ws.Data;
export type ErrorEvent = ws.ErrorEvent;
export type Event = ws.Event;
export type EventListenerOptions = ws.EventListenerOptions;
export type FinishRequestCallback = ws.FinishRequestCallback;
export type MessageEvent = ws.MessageEvent;
export type PerMessageDeflateOptions = ws.PerMessageDeflateOptions;
export type RawData = ws.RawData;
export type ServerOptions<U extends typeof ws = typeof ws, V extends typeof IncomingMessage = typeof IncomingMessage> = ws.ServerOptions<U, V>;
export type VerifyClientCallbackAsync<Request extends IncomingMessage = IncomingMessage> = ws.VerifyClientCallbackAsync<Request>;
export type VerifyClientCallbackSync<Request extends IncomingMessage = IncomingMessage> = ws.VerifyClientCallbackSync<Request>;
export type WebSocketEventMap = ws.WebSocketEventMap;
