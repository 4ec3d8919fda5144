/** The schemas of serveCluster()'s and redisAdapter()'s options (cluster.ts, redis.ts), checked at the call. */
import { type Rule, type Schema, boolean, func, milliseconds, number, object, recordOf, string } from '../node/options/check.js';
import { SERVE_SCHEMA } from '../node/server/options-schema.js';

const RESPAWN_DELAY_SCHEMA: Schema = { initial: milliseconds(), max: milliseconds() };

/** ClusterOptions, setup and workers aside (serveCluster sets both). */
const CLUSTER_SCHEMA: Schema = {
  respawn: boolean,
  respawnDelay: object(RESPAWN_DELAY_SCHEMA, { what: 'respawn delays' }),
  // node:cluster's own settings (exec, args, execArgv, silent, …): Node checks them.
  settings: object({}, { open: true, what: 'cluster settings' }),
  env: recordOf(string(), 'environment variables (strings)'),
  onError: func,
};

export const SERVE_CLUSTER_SCHEMA: Schema = {
  ...SERVE_SCHEMA,
  workers: number({ min: 1, max: 1024 }),
  cluster: object(CLUSTER_SCHEMA, { what: 'cluster options' }),
};

const REDIS_URL = 'a redis:// or rediss:// URL';
const redisUrl: Rule = (v, path) =>
  typeof v !== 'string'
    ? { path, kind: 'type', expected: REDIS_URL, received: v }
    : /^rediss?:\/\//i.test(v)
      ? null
      : { path, kind: 'range', expected: REDIS_URL, received: v };

export const REDIS_ADAPTER_SCHEMA: Schema = {
  url: redisUrl,
  // ioredis's own options: ioredis checks them.
  redis: object({}, { open: true, what: 'ioredis options' }),
  channelPrefix: string(),
  retry: object({ initialDelay: milliseconds({ positive: true }), maxDelay: milliseconds({ positive: true }) }, { what: 'retry delays' }),
  maxBuffered: number({ min: 0 }),
  maxBufferedBytes: number({ min: 0, unit: 'bytes' }),
  onError: func,
  onStatus: func,
};
