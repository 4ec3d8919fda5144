/** serveCluster() and redisAdapter() check their options at the call, before any worker is forked or Redis is asked. */
import { describe, expect, it } from 'vitest';
import { redisAdapter, serveCluster, WsboltOptionError, WsboltOptionRangeError } from '../../src/index.js';

describe('serveCluster() options', () => {
  it('refuses a bad worker count, a misspelled cluster option and a bad serve option, without forking', async () => {
    await expect(serveCluster({ workers: 0 })).rejects.toMatchObject({ code: 'WSBOLT_OPTION_OUT_OF_RANGE', option: 'workers' });
    await expect(serveCluster({ cluster: { respwan: false } as never })).rejects.toThrow(
      "serveCluster(): unknown option 'cluster.respwan' — did you mean 'respawn'?",
    );
    await expect(serveCluster({ cluster: { env: { N: 1 as never } } })).rejects.toMatchObject({ option: 'cluster.env["N"]' });
    await expect(serveCluster({ path: 'chat' })).rejects.toBeInstanceOf(WsboltOptionRangeError);
  });
});

describe('redisAdapter() options', () => {
  it('refuses bad values and misspelled names at the call', () => {
    expect(() => redisAdapter({ maxBuffered: -1 })).toThrow(WsboltOptionRangeError);
    expect(() => redisAdapter({ retry: { initalDelay: 5 } as never })).toThrow(
      "redisAdapter(): unknown option 'retry.initalDelay' — did you mean 'initialDelay'?",
    );
    expect(() => redisAdapter({ onError: 'log' as never })).toThrow(WsboltOptionError);
    expect(() => redisAdapter({ url: 'http://127.0.0.1:6379' })).toThrow(
      "redisAdapter(): option 'url' must be a redis:// or rediss:// URL, received 'http://127.0.0.1:6379'",
    );
  });

  it('takes ioredis options as they are (ioredis checks them)', async () => {
    const adapter = redisAdapter({ url: 'redis://127.0.0.1:1', redis: { lazyConnect: true, anythingIoredisKnows: 1 } });
    await adapter.close();
  });
});
