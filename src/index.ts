/** wsbolt: WebSocket server and client for Node.js. */
export { backend } from './native/index.js';
export * from './core/index.js';
export { WebSocket, type SendData, type SendOptions as WebSocketSendOptions } from './node/connection.js';
export { ReconnectingClient, reconnecting, type ReconnectOptions, type ReconnectingOptions } from './node/reconnect.js';
export { connect, UnexpectedResponseError, type ConnectOptions, type TlsOptions } from './node/client.js';
export { Server } from './node/server/server.js';
export { attach, createServer, handleUpgrade, serve } from './node/server/mount.js';
export type { CloseOptions, RouteOptions, ServeOptions, ServerOptions } from './node/server/options.js';
export {
  ReadyState,
  SendStatus,
  accept,
  reject,
  type AcceptOptions,
  type CloseCause,
  type ConnectionOptions,
  type Handler,
  type Rejection,
  type UpgradeRequest,
  type UpgradeResult,
} from './node/types.js';
export * from './scale/index.js';
export type { DeflateOptions } from './extensions/negotiation.js';
export { setZlibConcurrency, zlibStats } from './node/zlib/limiter.js';
export { openZlibContexts } from './node/zlib/context.js';
