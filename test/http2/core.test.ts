/** The RFC 8441 entry point of the sans-I/O handshake (src/core/handshake.ts): an extended CONNECT's header map in, a decision out. */
import { describe, expect, it } from 'vitest';
import { buildExtendedConnectResponse, validateExtendedConnect } from '../../src/core/handshake.js';

const valid = {
  ':method': 'CONNECT',
  ':protocol': 'websocket',
  ':scheme': 'https',
  ':path': '/chat',
  ':authority': 'example.com',
  'sec-websocket-version': '13',
};

describe('validateExtendedConnect (RFC 8441 §4, §5)', () => {
  it('accepts CONNECT with :protocol websocket and version 13, with no key', () => {
    expect(validateExtendedConnect({ ...valid, 'sec-websocket-protocol': 'a, b', 'sec-websocket-extensions': 'permessage-deflate' })).toEqual({
      key: '',
      protocols: ['a', 'b'],
      extensions: 'permessage-deflate',
    });
  });

  it('refuses what RFC 8441 and RFC 6455 forbid, with the same statuses as HTTP/1.1 where the rule is shared', () => {
    expect(validateExtendedConnect({ ...valid, ':method': 'GET' })).toMatchObject({ status: 405 });
    expect(validateExtendedConnect({ ...valid, ':protocol': undefined })).toMatchObject({ status: 400 });
    expect(validateExtendedConnect({ ...valid, ':protocol': 'WebSocket2' })).toMatchObject({ status: 400 });
    expect(validateExtendedConnect({ ...valid, ':path': undefined })).toMatchObject({ status: 400 });
    expect(validateExtendedConnect({ ...valid, 'sec-websocket-version': undefined })).toMatchObject({
      status: 400,
      headers: { 'Sec-WebSocket-Version': '13' },
    });
    expect(validateExtendedConnect({ ...valid, 'sec-websocket-version': '8' })).toMatchObject({ status: 426 });
    expect(validateExtendedConnect({ ...valid, 'sec-websocket-protocol': 'a, a' })).toMatchObject({ status: 400 });
  });
});

describe('buildExtendedConnectResponse', () => {
  it('is :status 200 with the choices, lower-case names and no Sec-WebSocket-Accept', () => {
    expect(buildExtendedConnectResponse('chat', 'permessage-deflate', { 'X-Served-By': 'a' })).toEqual({
      ':status': 200,
      'sec-websocket-protocol': 'chat',
      'sec-websocket-extensions': 'permessage-deflate',
      'x-served-by': 'a',
    });
    expect(buildExtendedConnectResponse(undefined, undefined)).toEqual({ ':status': 200 });
  });
});
