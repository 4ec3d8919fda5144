/**
 * The opening handshake of RFC 6455 §4 on header maps (as Node gives them:
 * lower-case names, repeated headers as arrays), without sockets: what the
 * server accepts or refuses and with which status, the 101 it writes, what a
 * client sends and which answers it accepts. Accept keys are computed by the
 * kit (test/kit/wire.ts), not by src/.
 */
import { describe, expect, it } from 'vitest';
import {
  type Headers,
  acceptKey,
  buildAcceptResponse,
  buildRejectResponse,
  chosenProtocolProblem,
  clientRequestHeaders,
  generateKey,
  isRejection,
  parseProtocolList,
  protocolOfferProblem,
  validateRequest,
  validateResponse,
} from '../../src/core/handshake.js';
import { RFC_ACCEPT, RFC_KEY, acceptFor, parseHead } from '../kit/index.js';

/** A valid client handshake (§4.1) as header map; overrides replace, undefined removes. */
function request(overrides: Headers = {}): Headers {
  const headers: Headers = {
    host: 'example.com',
    upgrade: 'websocket',
    connection: 'Upgrade',
    'sec-websocket-key': RFC_KEY,
    'sec-websocket-version': '13',
    ...overrides,
  };
  for (const name of Object.keys(headers)) if (headers[name] === undefined) delete headers[name];
  return headers;
}

/** The refusal of a request (fails the test when it is accepted). */
function refusal(method: string | undefined, httpVersion: string, headers: Headers) {
  const result = validateRequest(method, httpVersion, headers);
  if (!isRejection(result)) throw new Error(`expected a refusal, got ${JSON.stringify(result)}`);
  return result;
}

/** A correct server answer (§4.2.2) to RFC_KEY as header map; overrides replace, undefined removes. */
function response(overrides: Headers = {}): Headers {
  const headers: Headers = { upgrade: 'websocket', connection: 'Upgrade', 'sec-websocket-accept': RFC_ACCEPT, ...overrides };
  for (const name of Object.keys(headers)) if (headers[name] === undefined) delete headers[name];
  return headers;
}

describe('§1.3 / §4.2.2 the accept key', () => {
  it("the RFC's example: dGhlIHNhbXBsZSBub25jZQ== → s3pPLMBiTxaQ9kYGzzhZRbK+xOo=", () => {
    expect(acceptKey(RFC_KEY)).toBe(RFC_ACCEPT);
  });

  it('matches SHA-1 of key + GUID, base64, for any key', () => {
    for (let i = 0; i < 20; i++) {
      const key = generateKey();
      expect(acceptKey(key)).toBe(acceptFor(key));
    }
  });
});

describe('§4.1 the client opening handshake', () => {
  it('a fresh key is 16 random bytes in base64, different each time', () => {
    const keys = new Set(Array.from({ length: 50 }, () => generateKey()));
    expect(keys.size).toBe(50);
    for (const key of keys) {
      expect(key).toMatch(/^[A-Za-z0-9+/]{22}==$/);
      expect(Buffer.from(key, 'base64')).toHaveLength(16);
    }
  });

  it('the request carries Upgrade, Connection, version 13 and the key', () => {
    expect(clientRequestHeaders({ key: RFC_KEY, protocols: [], origin: undefined, extensions: undefined })).toEqual({
      Connection: 'Upgrade',
      Upgrade: 'websocket',
      'Sec-WebSocket-Version': '13',
      'Sec-WebSocket-Key': RFC_KEY,
    });
  });

  it('subprotocols in order of preference, the origin and the extension offer when given', () => {
    const headers = clientRequestHeaders({ key: RFC_KEY, protocols: ['chat', 'superchat'], origin: 'http://example.com', extensions: 'permessage-deflate' });
    expect(headers['Sec-WebSocket-Protocol']).toBe('chat, superchat');
    expect(headers.Origin).toBe('http://example.com');
    expect(headers['Sec-WebSocket-Extensions']).toBe('permessage-deflate');
  });

  it('a request built by the client passes the server side check', () => {
    const key = generateKey();
    const sent = clientRequestHeaders({ key, protocols: ['a', 'b'], origin: undefined, extensions: 'permessage-deflate' });
    const headers: Headers = { host: 'h' };
    for (const [name, value] of Object.entries(sent)) headers[name.toLowerCase()] = value;
    expect(validateRequest('GET', '1.1', headers)).toEqual({ key, protocols: ['a', 'b'], extensions: 'permessage-deflate' });
  });
});

describe("§4.2.1 reading the client's opening handshake", () => {
  it('a valid request yields the key, the offered subprotocols and the extension offer', () => {
    expect(validateRequest('GET', '1.1', request({ 'sec-websocket-protocol': 'chat, superchat', 'sec-websocket-extensions': 'permessage-deflate' }))).toEqual({
      key: RFC_KEY,
      protocols: ['chat', 'superchat'],
      extensions: 'permessage-deflate',
    });
  });

  it('item 1: a method other than GET → 405 with Allow: GET', () => {
    for (const method of ['POST', 'PUT', 'get', undefined]) {
      const r = refusal(method, '1.1', request());
      expect(r.status).toBe(405);
      expect(r.headers).toEqual({ Allow: 'GET' });
    }
  });

  it('item 1: HTTP older than 1.1 → 400; newer versions pass', () => {
    expect(refusal('GET', '1.0', request())).toMatchObject({ status: 400, reason: 'the WebSocket handshake needs HTTP/1.1' });
    expect(refusal('GET', '0.9', request()).status).toBe(400);
    expect(isRejection(validateRequest('GET', '2.0', request()))).toBe(false);
  });

  it('item 2: no Host → 400', () => {
    expect(refusal('GET', '1.1', request({ host: undefined }))).toMatchObject({ status: 400, reason: 'missing Host header' });
    expect(refusal('GET', '1.1', request({ host: '' })).status).toBe(400);
  });

  it('item 3: Upgrade must contain the token websocket, in any case', () => {
    expect(refusal('GET', '1.1', request({ upgrade: undefined }))).toMatchObject({ status: 400, reason: 'missing or invalid Upgrade: websocket header' });
    expect(refusal('GET', '1.1', request({ upgrade: 'h2c' })).status).toBe(400);
    expect(refusal('GET', '1.1', request({ upgrade: 'websockets' })).status).toBe(400);
    for (const upgrade of ['WebSocket', 'WEBSOCKET', 'h2c, websocket'] as const)
      expect(isRejection(validateRequest('GET', '1.1', request({ upgrade })))).toBe(false);
  });

  it('item 4: Connection must contain the token Upgrade, also in a list or a repeated header', () => {
    expect(refusal('GET', '1.1', request({ connection: undefined }))).toMatchObject({ status: 400, reason: 'missing or invalid Connection: Upgrade header' });
    expect(refusal('GET', '1.1', request({ connection: 'keep-alive' })).status).toBe(400);
    expect(refusal('GET', '1.1', request({ connection: 'upgrades' })).status).toBe(400);
    for (const connection of ['keep-alive, Upgrade', 'upgrade', ['keep-alive', 'Upgrade']])
      expect(isRejection(validateRequest('GET', '1.1', request({ connection })))).toBe(false);
  });

  it('item 5: the key must be base64 of exactly 16 bytes', () => {
    for (const key of [
      undefined,
      '',
      'tooshort',
      Buffer.alloc(15).toString('base64'),
      Buffer.alloc(17).toString('base64'),
      'dGhlIHNhbXBsZSBub25jZQ',
      '!GhlIHNhbXBsZSBub25jZQ==',
    ]) {
      expect(refusal('GET', '1.1', request({ 'sec-websocket-key': key }))).toMatchObject({
        status: 400,
        reason: 'missing or invalid Sec-WebSocket-Key header',
      });
    }
  });

  it('item 5: a key sent twice (an array) → 400', () => {
    expect(refusal('GET', '1.1', request({ 'sec-websocket-key': [RFC_KEY, RFC_KEY] })).status).toBe(400);
  });

  it('item 5: surrounding whitespace is not part of the key', () => {
    expect(validateRequest('GET', '1.1', request({ 'sec-websocket-key': ` ${RFC_KEY} ` }))).toMatchObject({ key: RFC_KEY });
  });

  it('item 6 / §4.4: a missing version → 400, another version → 426, both naming version 13', () => {
    expect(refusal('GET', '1.1', request({ 'sec-websocket-version': undefined }))).toEqual({
      status: 400,
      reason: 'missing Sec-WebSocket-Version header',
      headers: { 'Sec-WebSocket-Version': '13' },
    });
    for (const version of ['8', '12', '14', '']) {
      expect(refusal('GET', '1.1', request({ 'sec-websocket-version': version }))).toEqual({
        status: 426,
        reason: `unsupported Sec-WebSocket-Version ${version}`,
        headers: { 'Sec-WebSocket-Version': '13' },
      });
    }
  });

  it('item 8: subprotocols are a token list (empty elements ignored, RFC 7230 §7); malformed or duplicated → 400', () => {
    expect(validateRequest('GET', '1.1', request({ 'sec-websocket-protocol': ['a', 'b, c'] }))).toMatchObject({ protocols: ['a', 'b', 'c'] });
    expect(validateRequest('GET', '1.1', request({ 'sec-websocket-protocol': 'a,,b' }))).toMatchObject({ protocols: ['a', 'b'] });
    expect(refusal('GET', '1.1', request({ 'sec-websocket-protocol': 'a b' }))).toMatchObject({ status: 400, reason: 'invalid Sec-WebSocket-Protocol header' });
    expect(refusal('GET', '1.1', request({ 'sec-websocket-protocol': 'a/b' })).status).toBe(400);
    expect(refusal('GET', '1.1', request({ 'sec-websocket-protocol': 'chat, chat' }))).toMatchObject({
      status: 400,
      reason: 'duplicate subprotocol in Sec-WebSocket-Protocol',
    });
  });

  it('item 9: no extension offer → extensions undefined', () => {
    expect(validateRequest('GET', '1.1', request())).toEqual({ key: RFC_KEY, protocols: [], extensions: undefined });
  });
});

describe("§4.2.2 the server's answer", () => {
  it('a 101 with Upgrade, Connection and the accept key of the RFC example', () => {
    const text = buildAcceptResponse(RFC_KEY, undefined, undefined);
    const { answer, rest } = parseHead(Buffer.from(text, 'latin1'))!;
    expect(answer.status).toBe(101);
    expect(answer.statusText).toBe('Switching Protocols');
    expect(answer.headers).toEqual({ upgrade: 'websocket', connection: 'Upgrade', 'sec-websocket-accept': RFC_ACCEPT });
    expect(rest).toHaveLength(0);
  });

  it('the chosen subprotocol, the accepted extensions and extra headers are in the answer', () => {
    const text = buildAcceptResponse(RFC_KEY, 'chat', 'permessage-deflate; client_no_context_takeover', { 'X-Id': 7, 'Set-Cookie': ['a=1', 'b=2'] });
    const { answer } = parseHead(Buffer.from(text, 'latin1'))!;
    expect(answer.headers['sec-websocket-protocol']).toBe('chat');
    expect(answer.headers['sec-websocket-extensions']).toBe('permessage-deflate; client_no_context_takeover');
    expect(answer.headers['x-id']).toBe('7');
    expect(answer.headers['set-cookie']).toBe('a=1, b=2');
  });

  it('no subprotocol or extension header when none was chosen', () => {
    const { answer } = parseHead(Buffer.from(buildAcceptResponse(RFC_KEY, '', ''), 'latin1'))!;
    expect(answer.headers).not.toHaveProperty('sec-websocket-protocol');
    expect(answer.headers).not.toHaveProperty('sec-websocket-extensions');
  });

  it('a header name or value with CR or LF is refused (it would split the response)', () => {
    expect(() => buildAcceptResponse(RFC_KEY, undefined, undefined, { 'X-A': 'x\r\nInjected: 1' })).toThrow(TypeError);
    expect(() => buildAcceptResponse(RFC_KEY, undefined, undefined, { 'X-A\n': 'x' })).toThrow(TypeError);
    expect(() => buildRejectResponse(403, '', { 'X-A': ['ok', 'x\ny'] })).toThrow(TypeError);
  });

  it('§4.2.1: a refusal is a complete HTTP response that closes the connection', () => {
    const { answer, rest } = parseHead(buildRejectResponse(403, 'go away', { 'X-Why': 'test' }))!;
    expect(answer.status).toBe(403);
    expect(answer.statusText).toBe('Forbidden');
    expect(answer.headers).toMatchObject({ connection: 'close', 'content-length': '7', 'content-type': 'text/plain; charset=utf-8', 'x-why': 'test' });
    expect(rest.toString()).toBe('go away');
  });

  it('§4.4: the 426 for an unsupported version names the supported one', () => {
    const r = refusal('GET', '1.1', request({ 'sec-websocket-version': '8' }));
    const { answer } = parseHead(buildRejectResponse(r.status, r.reason, r.headers))!;
    expect(answer.status).toBe(426);
    expect(answer.statusText).toBe('Upgrade Required');
    expect(answer.headers['sec-websocket-version']).toBe('13');
  });

  it('an empty refusal has no Content-Type; a given one is kept; an unknown status reads Error', () => {
    expect(parseHead(buildRejectResponse(400))!.answer.headers).not.toHaveProperty('content-type');
    expect(parseHead(buildRejectResponse(400, '{}', { 'Content-Type': 'application/json' }))!.answer.headers['content-type']).toBe('application/json');
    expect(parseHead(buildRejectResponse(418))!.answer.statusLine).toBe('HTTP/1.1 418 Error');
  });

  it("headers: 'given' writes exactly the caller's header lines, in order, with its reason phrase (wsbolt/ws writes ws's bytes)", () => {
    const headers = { Connection: 'close', 'Content-Type': 'text/html', 'Content-Length': 3, 'X-List': 'a,b' };
    const bytes = buildRejectResponse(418, 'tea', headers, { statusText: "I'm a Teapot", headers: 'given' });
    expect(bytes.toString('latin1')).toBe(
      "HTTP/1.1 418 I'm a Teapot\r\nConnection: close\r\nContent-Type: text/html\r\nContent-Length: 3\r\nX-List: a,b\r\n\r\ntea",
    );
    expect(() => buildRejectResponse(400, '', {}, { statusText: 'Bad\r\nX: 1' })).toThrow(TypeError);
    expect(() => buildRejectResponse(400, '', { 'X-A': 'x\ny' }, { headers: 'given' })).toThrow(TypeError);
  });
});

describe("§4.1 the client validating the server's answer", () => {
  it('a correct 101 yields the subprotocol and extensions (empty when none)', () => {
    expect(validateResponse(response(), RFC_KEY, [], false)).toEqual({ protocol: '', extensions: '' });
    expect(validateResponse(response({ 'sec-websocket-protocol': 'chat', 'sec-websocket-extensions': 'permessage-deflate' }), RFC_KEY, ['chat'], true)).toEqual(
      {
        protocol: 'chat',
        extensions: 'permessage-deflate',
      },
    );
  });

  it('item 2: Upgrade must be websocket (any case)', () => {
    expect(validateResponse(response({ upgrade: undefined }), RFC_KEY, [], false)).toBe('the response lacks Upgrade: websocket');
    expect(validateResponse(response({ upgrade: 'h2c' }), RFC_KEY, [], false)).toBe('the response lacks Upgrade: websocket');
    expect(validateResponse(response({ upgrade: 'WebSocket' }), RFC_KEY, [], false)).toEqual({ protocol: '', extensions: '' });
  });

  it('item 3: Connection must contain Upgrade', () => {
    expect(validateResponse(response({ connection: undefined }), RFC_KEY, [], false)).toBe('the response lacks Connection: Upgrade');
    expect(validateResponse(response({ connection: 'close' }), RFC_KEY, [], false)).toBe('the response lacks Connection: Upgrade');
  });

  it('item 4: the accept value must be the one for the key sent', () => {
    expect(validateResponse(response({ 'sec-websocket-accept': undefined }), RFC_KEY, [], false)).toBe('invalid Sec-WebSocket-Accept');
    expect(validateResponse(response(), generateKey(), [], false)).toBe('invalid Sec-WebSocket-Accept');
    expect(validateResponse(response({ 'sec-websocket-accept': RFC_ACCEPT.toLowerCase() }), RFC_KEY, [], false)).toBe('invalid Sec-WebSocket-Accept');
  });

  it('item 5: an extension the client did not offer fails the connection', () => {
    expect(validateResponse(response({ 'sec-websocket-extensions': 'permessage-deflate' }), RFC_KEY, [], false)).toBe(
      'the server chose an extension that was not offered',
    );
    expect(validateResponse(response({ 'sec-websocket-extensions': '' }), RFC_KEY, [], false)).toEqual({ protocol: '', extensions: '' });
  });

  it('item 6: a subprotocol the client did not offer fails the connection', () => {
    expect(validateResponse(response({ 'sec-websocket-protocol': 'chat' }), RFC_KEY, [], false)).toBe(
      'the server chose a subprotocol although none was offered',
    );
    expect(validateResponse(response({ 'sec-websocket-protocol': 'other' }), RFC_KEY, ['chat'], false)).toBe(
      'the server chose a subprotocol that was not offered (other)',
    );
  });
});

describe('§4.1 / §11.3.4 Sec-WebSocket-Protocol: one parser for the server, one offer and choice check for the client', () => {
  it("lenient (wsbolt's server): empty items skipped (RFC 7230 §7), surrounding whitespace ignored", () => {
    expect(parseProtocolList('a, b')).toEqual(['a', 'b']);
    expect(parseProtocolList(' a ,, b ,')).toEqual(['a', 'b']);
    expect(parseProtocolList('')).toEqual([]);
  });

  it("strict (1#token on a field value, ws's grammar): no empty item, no whitespace around the value, at least one token", () => {
    expect(parseProtocolList('a, b', { strict: true })).toEqual(['a', 'b']);
    expect(parseProtocolList('a\t,b', { strict: true })).toEqual(['a', 'b']);
    for (const bad of ['', ',a', 'a,', 'a,,b', ' a', 'a ', '\ta', 'a b', 'a;b', 'é', '"a"']) {
      expect(parseProtocolList(bad, { strict: true }), JSON.stringify(bad)).toBe('invalid');
    }
  });

  it('either grammar: a token that is not a token is invalid, a repeated one is a duplicate (case-sensitive)', () => {
    for (const strict of [false, true]) {
      expect(parseProtocolList('a b', { strict })).toBe('invalid');
      expect(parseProtocolList('a, a', { strict })).toBe('duplicate');
      expect(parseProtocolList('a, A', { strict })).toEqual(['a', 'A']);
    }
  });

  it("the client's offer: non-empty tokens, each once", () => {
    expect(protocolOfferProblem([])).toBeNull();
    expect(protocolOfferProblem(['chat', 'superchat'])).toBeNull();
    expect(protocolOfferProblem(['a', 'a'])).toBe('duplicate');
    for (const bad of ['', 'a b', 'a,b', 'é', 1, null]) expect(protocolOfferProblem(['ok', bad]), JSON.stringify(bad)).toBe('invalid');
  });

  it("the server's choice: one of those offered, exactly; none is allowed", () => {
    expect(chosenProtocolProblem(undefined, ['a'])).toBeNull();
    expect(chosenProtocolProblem('a', ['b', 'a'])).toBeNull();
    expect(chosenProtocolProblem('a', [])).toBe('none-offered');
    expect(chosenProtocolProblem('A', ['a'])).toBe('not-offered');
    expect(chosenProtocolProblem('a, b', ['a', 'b'])).toBe('not-offered');
  });
});
