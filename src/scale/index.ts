/** Horizontal scaling: workers sharing a port (node:cluster) and pub/sub across processes and machines. */
export {
  cluster,
  clusterWorker,
  serveCluster,
  type ClusterCloseOptions,
  type ClusterHandle,
  type ClusterOptions,
  type ClusterPrimary,
  type ClusterWorker,
  type ServeClusterOptions,
  type WorkerContext,
  type WorkerExit,
  type WorkerInfo,
} from './cluster.js';
export { ipcAdapter, ipcRelay, type IpcAdapter, type IpcAdapterOptions, type IpcAdapterStats, type IpcRelay } from './ipc.js';
export { redisAdapter, type RedisAdapter, type RedisAdapterOptions, type RedisAdapterStats, type RedisAdapterStatus } from './redis.js';
export type { PubSubAdapter } from '../node/pubsub.js';
