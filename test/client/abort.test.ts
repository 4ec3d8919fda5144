/** connect({ signal }): aborting cancels the opening handshake (AbortError, the socket let go); aborted already: no request at all. */
import { afterEach, describe, expect, it } from 'vitest';
import { connect } from '../../src/index.js';
import { cleanup, deferred, failure, HOST, rawServer, withTimeout } from '../kit/index.js';

afterEach(cleanup);

describe('connect() with an AbortSignal', () => {
  it('aborting during the handshake rejects with an AbortError (ERR_ABORTED, the reason as cause) and closes the socket', async () => {
    const held = await rawServer(() => {}); // never answers
    const controller = new AbortController();
    const pending = connect(`ws://${HOST}:${held.port}/feed`, { signal: controller.signal });
    const { socket } = await held.connections.next();
    const released = deferred();
    socket.on('close', () => released.resolve());
    const reason = new Error('the user navigated away');
    controller.abort(reason);
    const error = await withTimeout(
      failure(() => pending),
      5000,
      'connect() to reject',
    );
    expect(error.name).toBe('AbortError');
    expect(error.code).toBe('ERR_ABORTED');
    expect(error.cause).toBe(reason);
    expect(error.message).toContain(`ws://${HOST}:${held.port}/feed`);
    await withTimeout(released.promise, 5000, 'the socket to be closed');
  });

  it('an already aborted signal rejects at once, without a request', async () => {
    const server = await rawServer(() => {});
    const error = await failure(() => connect(`ws://${HOST}:${server.port}/`, { signal: AbortSignal.abort() }));
    expect(error.code).toBe('ERR_ABORTED');
    expect(server.connections.items.length).toBe(0);
  });
});
