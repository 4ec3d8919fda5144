/**
 * wsbolt: WebSocket server and client for Node.js. The package root exports
 * this curated list only: the server and client API, the sans-I/O protocol
 * for those who bring their own I/O, and the protocol's public constants.
 * Tuning constants and internals stay inside (no `export *`).
 */
export { backend, backendError } from './native/index.js';
export {
  CloseCode,
  DEFAULT_MAX_FRAGMENTS,
  DEFAULT_MAX_PAYLOAD,
  MAX_CLOSE_REASON,
  MAX_CONTROL_PAYLOAD,
  OPCODE_BINARY,
  OPCODE_CLOSE,
  OPCODE_CONTINUATION,
  OPCODE_PING,
  OPCODE_PONG,
  OPCODE_TEXT,
} from './core/constants.js';
export { HandlerError, WsboltError, type CallbackName, type ProtocolErrorCode, type UsageErrorCode } from './core/errors.js';
export { buildClosePayload, isValidReceivedCloseCode, parseClosePayload } from './core/close.js';
export { encodeFrame, type FrameOptions } from './core/frame-writer.js';
export { Protocol, State, type ProtocolHandler, type ProtocolOptions, type Role, type SendOptions } from './core/protocol.js';
export { WebSocket } from './node/connection.js';
export { WsboltOptionError, WsboltOptionRangeError, type OptionErrorCode } from './node/options/check.js';
export type { SendData, SendOptions as WebSocketSendOptions } from './node/connection-options.js';
export {
  ReconnectError,
  ReconnectingClient,
  defaultShouldRetry,
  reconnecting,
  type AttemptOverrides,
  type ReconnectOptions,
  type ReconnectingOptions,
} from './node/reconnect.js';
export { connect, type ConnectOptions, type TlsOptions } from './node/client.js';
export { ConnectError, UnexpectedResponseError } from './node/client-errors.js';
export type { TransportChoice } from './node/open-transport.js';
export { Server } from './node/server/server.js';
export { CHANNELS as DIAGNOSTICS_CHANNELS, type DiagnosticsMessages } from './node/diagnostics.js';
export { clientStats, type ConnectionStats, type RefusalReason, type ServerStats } from './node/stats.js';
export { attach, createServer, handleUpgrade, serve } from './node/server/mount.js';
export type { CloseOptions, RouteOptions, ServeOptions, ServerOptions } from './node/server/options.js';
export {
  ReadyState,
  SendStatus,
  accept,
  reject,
  type AcceptOptions,
  type CloseCause,
  type ConnectionCallbacks,
  type ConnectionOptions,
  type Handler,
  type Rejection,
  type UpgradeRequest,
  type UpgradeResult,
} from './node/types.js';
export {
  cluster,
  clusterWorker,
  ipcAdapter,
  ipcRelay,
  redisAdapter,
  serveCluster,
  type ClusterCloseOptions,
  type ClusterHandle,
  type ClusterOptions,
  type ClusterPrimary,
  type ClusterWorker,
  type IpcAdapter,
  type IpcAdapterOptions,
  type IpcAdapterStats,
  type IpcRelay,
  type PubSubAdapter,
  type RedisAdapter,
  type RedisAdapterOptions,
  type RedisAdapterStats,
  type RedisAdapterStatus,
  type ServeClusterOptions,
  type WorkerContext,
  type WorkerExit,
  type WorkerInfo,
} from './scale/index.js';
export type { DeflateOptions } from './extensions/negotiation.js';
export { setZlibConcurrency, zlibStats } from './node/zlib/limiter.js';
export { openZlibContexts } from './node/zlib/context.js';
