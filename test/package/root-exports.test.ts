/**
 * The package root exports a curated list: adding a name is a decision (it
 * becomes public API), so this list changes only on purpose.
 */
import { expect, it } from 'vitest';
import * as wsbolt from '../../src/index.js';

it('the package root exports exactly the public API, no tuning constants or internals', () => {
  expect(Object.keys(wsbolt).sort()).toEqual([
    'CloseCode',
    'ConnectError',
    'DEFAULT_MAX_FRAGMENTS',
    'DEFAULT_MAX_PAYLOAD',
    'DIAGNOSTICS_CHANNELS',
    'HandlerError',
    'MAX_CLOSE_REASON',
    'MAX_CONTROL_PAYLOAD',
    'OPCODE_BINARY',
    'OPCODE_CLOSE',
    'OPCODE_CONTINUATION',
    'OPCODE_PING',
    'OPCODE_PONG',
    'OPCODE_TEXT',
    'Protocol',
    'ReadyState',
    'ReconnectError',
    'ReconnectingClient',
    'SendStatus',
    'Server',
    'State',
    'UnexpectedResponseError',
    'WebSocket',
    'WsboltError',
    'WsboltOptionError',
    'WsboltOptionRangeError',
    'accept',
    'attach',
    'backend',
    'backendError',
    'buildClosePayload',
    'clientStats',
    'cluster',
    'clusterWorker',
    'connect',
    'createServer',
    'defaultShouldRetry',
    'encodeFrame',
    'handleUpgrade',
    'ipcAdapter',
    'ipcRelay',
    'isValidReceivedCloseCode',
    'openZlibContexts',
    'parseClosePayload',
    'reconnecting',
    'redisAdapter',
    'reject',
    'serve',
    'serveCluster',
    'setZlibConcurrency',
    'zlibStats',
  ]);
  expect('COPY_PAYLOAD_BELOW' in wsbolt).toBe(false);
});
