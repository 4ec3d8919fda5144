/**
 * `wsbolt/ws`: the API of the `ws` package (version 8) on the wsbolt engine.
 * Code written for ws moves over by changing the import:
 *
 *   import WebSocket, { WebSocketServer } from 'wsbolt/ws';
 *   const WebSocket = require('wsbolt/ws');
 *
 * As in ws, the CommonJS export is the WebSocket class itself, with
 * WebSocket.WebSocket, WebSocket.Server, WebSocket.WebSocketServer and
 * WebSocket.createWebSocketStream attached.
 */
import { WebSocketServer } from './server.js';
import { createWebSocketStream } from './stream.js';
import { WebSocket } from './websocket.js';

Object.assign(WebSocket, {
  createWebSocketStream,
  Server: WebSocketServer,
  WebSocket,
  WebSocketServer,
});

export = WebSocket;
