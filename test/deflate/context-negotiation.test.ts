/**
 * Context takeover in negotiation (RFC 7692 §7.1.1): the options
 * serverNoContextTakeover / clientNoContextTakeover on both sides, what each
 * side then offers, answers and accepts, and what the codec keeps. The
 * defaults (no context either way) are covered in negotiation.test.ts.
 */
import { describe, expect, it } from 'vitest';
import { type DeflateOptions, acceptOffer, acceptResponse, buildOffer } from '../../src/extensions/negotiation.js';
import { PerMessageDeflate } from '../../src/extensions/permessage-deflate.js';

const PMD = 'permessage-deflate';
const ALLOW: DeflateOptions = { serverNoContextTakeover: false, clientNoContextTakeover: false };

describe('server: acceptOffer with context takeover allowed', () => {
  it.each([
    // [offer, options, response, server keeps context, client may keep context]
    [PMD, ALLOW, PMD, true, true],
    [`${PMD}; client_max_window_bits`, ALLOW, PMD, true, true],
    // The client asked us to reset: echoed, and our compressor resets.
    [`${PMD}; server_no_context_takeover`, ALLOW, `${PMD}; server_no_context_takeover`, false, true],
    // The client said it will reset anyway: held to it (echoed), so no inflate window is needed.
    [`${PMD}; client_no_context_takeover`, ALLOW, `${PMD}; client_no_context_takeover`, true, false],
    [`${PMD}; server_no_context_takeover; client_no_context_takeover`, ALLOW, `${PMD}; server_no_context_takeover; client_no_context_takeover`, false, false],
    // One direction allowed only.
    [PMD, { serverNoContextTakeover: false }, `${PMD}; client_no_context_takeover`, true, false],
    [PMD, { clientNoContextTakeover: false }, PMD, false, true],
    // Defaults: nothing kept (the response as before).
    [PMD, {}, `${PMD}; client_no_context_takeover`, false, false],
    [`${PMD}; server_max_window_bits=10; client_max_window_bits=9`, ALLOW, `${PMD}; server_max_window_bits=10; client_max_window_bits=9`, true, true],
  ] as [string, DeflateOptions, string, boolean, boolean][])('%j with %j → %j', (offer, options, response, serverKeeps, clientKeeps) => {
    const r = acceptOffer(offer, options);
    expect(r?.response).toBe(response);
    const codec = new PerMessageDeflate(r!.params, 'server', options);
    expect(codec.sendContext).toBe(serverKeeps);
    expect(codec.receiveContext).toBe(clientKeeps);
  });

  it('the inflater window follows the client window agreed, 8 taken as 9 (§7.2.3.2)', () => {
    for (const [bits, expected] of [
      [8, 9],
      [9, 9],
      [12, 12],
      [15, 15],
    ]) {
      const r = acceptOffer(`${PMD}; client_max_window_bits=${bits}; server_max_window_bits=${bits}`, ALLOW)!;
      const codec = new PerMessageDeflate(r.params, 'server', ALLOW);
      expect(codec.receiveWindowBits).toBe(expected);
      expect(codec.sendWindowBits).toBe(expected);
    }
  });

  it.each([
    ['a duplicate parameter', `${PMD}; server_no_context_takeover; server_no_context_takeover`],
    ['a value on server_no_context_takeover', `${PMD}; server_no_context_takeover=1`],
    ['a value on client_no_context_takeover', `${PMD}; client_no_context_takeover=true`],
    ['server_max_window_bits out of range', `${PMD}; server_max_window_bits=16`],
    ['client_max_window_bits out of range', `${PMD}; client_max_window_bits=7`],
    ['an unknown parameter', `${PMD}; context_takeover`],
  ])('still declined with context takeover allowed: %s', (_what, offer) => {
    expect(acceptOffer(offer, ALLOW)).toBeNull();
    // ... and the next acceptable offer is taken instead.
    expect(acceptOffer(`${offer}, ${PMD}`, ALLOW)?.response).toBe(PMD);
  });
});

describe('client: buildOffer and acceptResponse with context takeover allowed', () => {
  it('the offer leaves out what we allow', () => {
    expect(buildOffer(ALLOW)).toBe(`${PMD}; client_max_window_bits`);
    expect(buildOffer({ serverNoContextTakeover: false })).toBe(`${PMD}; client_no_context_takeover; client_max_window_bits`);
    expect(buildOffer({ clientNoContextTakeover: false })).toBe(`${PMD}; server_no_context_takeover; client_max_window_bits`);
    expect(buildOffer({ ...ALLOW, serverMaxWindowBits: 10 })).toBe(`${PMD}; server_max_window_bits=10; client_max_window_bits`);
  });

  it.each([
    // [response, options, server keeps context, we keep context]
    [PMD, ALLOW, true, true],
    [`${PMD}; server_no_context_takeover`, ALLOW, false, true],
    [`${PMD}; client_no_context_takeover`, ALLOW, true, false],
    [`${PMD}; server_no_context_takeover; client_no_context_takeover`, ALLOW, false, false],
    // We allowed the server's context only: the response need not echo server_no_context_takeover.
    [PMD, { serverNoContextTakeover: false }, true, false],
    // We allowed ours only: the server must still echo server_no_context_takeover.
    [`${PMD}; server_no_context_takeover`, { clientNoContextTakeover: false }, false, true],
  ] as [string, DeflateOptions, boolean, boolean][])('%j with %j is accepted', (response, options, serverKeeps, weKeep) => {
    const params = acceptResponse(response, options);
    expect(typeof params).toBe('object');
    const codec = new PerMessageDeflate(params as Exclude<typeof params, string>, 'client', options);
    expect(codec.receiveContext).toBe(serverKeeps);
    expect(codec.sendContext).toBe(weKeep);
  });

  it.each([
    ['server_no_context_takeover missing when we offered it', PMD, { clientNoContextTakeover: false }],
    ['server_no_context_takeover missing (defaults)', PMD, {}],
    ['a duplicate parameter', `${PMD}; client_no_context_takeover; client_no_context_takeover`, ALLOW],
    ['a value on client_no_context_takeover', `${PMD}; client_no_context_takeover=1`, ALLOW],
    ['valueless client_max_window_bits', `${PMD}; client_max_window_bits`, ALLOW],
    ['server_max_window_bits out of range', `${PMD}; server_max_window_bits=20`, ALLOW],
    ['an unknown parameter', `${PMD}; foo`, ALLOW],
    ['two extensions', `${PMD}, ${PMD}`, ALLOW],
  ] as [string, string, DeflateOptions][])('%s → the handshake fails', (_what, response, options) => {
    expect(typeof acceptResponse(response, options)).toBe('string');
  });

  it('our client and our server agree for every combination of the context options', () => {
    const values = [undefined, true, false];
    for (const cs of values)
      for (const cc of values)
        for (const ss of values)
          for (const sc of values) {
            const clientOptions: DeflateOptions = {
              ...(cs !== undefined && { serverNoContextTakeover: cs }),
              ...(cc !== undefined && { clientNoContextTakeover: cc }),
            };
            const serverOptions: DeflateOptions = {
              ...(ss !== undefined && { serverNoContextTakeover: ss }),
              ...(sc !== undefined && { clientNoContextTakeover: sc }),
            };
            const label = JSON.stringify({ clientOptions, serverOptions });
            const server = acceptOffer(buildOffer(clientOptions), serverOptions);
            expect(server, label).not.toBeNull();
            const client = acceptResponse(server!.response, clientOptions);
            expect(client, label).toEqual(server!.params);
            const s = new PerMessageDeflate(server!.params, 'server', serverOptions);
            const c = new PerMessageDeflate(client as Exclude<typeof client, string>, 'client', clientOptions);
            // Whoever keeps a context is matched by a peer that keeps its window.
            expect(s.sendContext && !c.receiveContext, label).toBe(false);
            expect(c.sendContext && !s.receiveContext, label).toBe(false);
            // A side keeps its context only when both allow it.
            expect(s.sendContext, label).toBe(ss === false && cs === false);
            expect(c.sendContext, label).toBe(cc === false && sc === false);
          }
  });

  it('options are checked', () => {
    expect(
      () =>
        new PerMessageDeflate({ serverNoContextTakeover: true, clientNoContextTakeover: true, serverMaxWindowBits: 15, clientMaxWindowBits: 15 }, 'server', {
          serverNoContextTakeover: 'no' as unknown as boolean,
        }),
    ).toThrow(TypeError);
    expect(
      () =>
        new PerMessageDeflate({ serverNoContextTakeover: true, clientNoContextTakeover: true, serverMaxWindowBits: 15, clientMaxWindowBits: 15 }, 'server', {
          asyncThreshold: -1,
        }),
    ).toThrow(RangeError);
  });
});
