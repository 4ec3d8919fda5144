/**
 * What an idle server connection costs the JS heap (issue 17, scenario g): the marginal heapUsed per connection,
 * after a full collection, with the clients in a child process. The native transport's connection is the engine's
 * objects alone (Node's socket, parser and request are gone once the addon adopted the socket); the stream transport
 * keeps Node's net.Socket, so its budget is that of a socket plus the engine.
 */
import * as v8 from 'node:v8';
import * as vm from 'node:vm';
import { describe, expect, it } from 'vitest';
import { expectedTransport, start, startServer, useCleanup } from '../kit/index.js';

const defer = useCleanup();

v8.setFlagsFromString('--expose-gc');
const gc = vm.runInNewContext('gc') as () => void;

function heapAfterGc(): number {
  gc();
  gc();
  return process.memoryUsage().heapUsed;
}

/**
 * Bytes of JS heap per idle connection, at most. The native transport's connection is the engine's objects alone:
 * 1,660 B before issue 17's trimming, about 1,140 after its first pass, about 900 after the second (no output queue
 * until the first send, the route's constants shared, the peer's address read from the transport, the transport its
 * own native handle), up to 960 seen with other test files running. The budget leaves room above that and still fails
 * on the first pass. The stream transport keeps a net.Socket besides (a guard: about 2,300 B before, 2,050 after the
 * first pass, 1,860 after the second).
 */
const BUDGET = expectedTransport === 'native' ? 1050 : 2600;

describe('idle connection memory', () => {
  it(`an idle ${expectedTransport}-transport connection holds at most ${BUDGET} B of JS heap`, async () => {
    let opened = 0;
    const server = await startServer(defer, {
      open() {
        opened++;
      },
    });
    const clients = start(defer, ['test/fixtures/idle-clients.cjs', String(server.port)]);
    defer(() => clients.proc.stdin!.end());
    // The first connections warm the code paths up (compiled code and feedback are not per connection).
    clients.proc.stdin!.write('open 200\n');
    await clients.waitFor(/^open 200$/, 30_000);
    // Two windows of 1,000 connections; the smaller growth counts. Code compiled or feedback gathered in a window (a
    // one-off cost: once, in one of them) adds to it, a cost per connection adds to both.
    const perConnection: number[] = [];
    for (const total of [1200, 2200]) {
      const before = heapAfterGc();
      clients.proc.stdin!.write('open 1000\n');
      await clients.waitFor(new RegExp(`^open ${total}$`), 30_000);
      // Each server side has opened (the 101 is written after the connection exists).
      expect(opened).toBe(total);
      perConnection.push((heapAfterGc() - before) / 1000);
    }
    expect(Math.min(...perConnection)).toBeLessThanOrEqual(BUDGET);
  });
});
