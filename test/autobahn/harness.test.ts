/**
 * The conformance harness's own pieces, checked against independent
 * references (Node's isUtf8, hand-computed frame headers, the suite's case
 * counts), so a harness bug shows up here rather than as a verdict.
 * The harness is plain ESM JavaScript; it is loaded by URL (typed as any).
 */
import { isUtf8 } from 'node:buffer';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { describe, expect, it } from 'vitest';

const lib = (name: string) => pathToFileURL(join(__dirname, '../../autobahn', name)).href;
const load = (name: string): Promise<any> => import(lib(name));

describe.runIf(!process.env.WSBOLT_NO_NATIVE)('autobahn harness', () => {
  it('has the suite catalogue: 517 cases with the suite ids and per-section counts', async () => {
    const { CASES, sectionOf } = await load('lib/catalogue.mjs');
    const ids: string[] = CASES.map((C: any) => C.ID);
    expect(new Set(ids).size).toBe(ids.length);
    const perSection: Record<number, number> = {};
    for (const id of ids) perSection[sectionOf(id)] = (perSection[sectionOf(id)] ?? 0) + 1;
    expect(perSection).toEqual({ 1: 16, 2: 11, 3: 7, 4: 10, 5: 20, 6: 145, 7: 37, 9: 54, 10: 1, 12: 90, 13: 126 });
    expect(ids.length).toBe(517);
    for (const id of ['1.1.8', '2.11', '5.20', '6.4.4', '6.22.34', '6.23.7', '7.7.13', '7.9.9', '7.13.2', '9.8.6', '10.1.1', '12.5.18', '13.7.18']) {
      expect(ids).toContain(id);
    }
  });

  it('classifies every UTF-8 test sequence (6.5-6.23) as Node does', async () => {
    const { utf8TestSequences } = await load('cases/utf8-sequences.mjs');
    const { Utf8Validator } = await load('lib/utf8.mjs');
    let n = 0;
    for (const [, seqs] of utf8TestSequences()) {
      for (const [valid, payload] of seqs) {
        expect(valid, payload.toString('hex')).toBe(isUtf8(payload));
        const v = new Utf8Validator();
        expect(v.validate(payload) && v.complete).toBe(valid);
        n++;
      }
    }
    expect(n).toBe(132);
  });

  it('validates UTF-8 incrementally exactly like a whole-buffer check', async () => {
    const { Utf8Validator } = await load('lib/utf8.mjs');
    const samples = ['κόσμε', 'Hello-µ@ßöäüàá-UTF-8!!', '\u{10ffff}\u{1f600}\ud7ff\ue000'].map((s) => Buffer.from(s));
    for (let i = 0; i < 3000; i++) {
      const base = samples[i % samples.length]!;
      const buf = Buffer.from(base);
      if (i % 2) buf[i % buf.length] = randomBytes(1)[0]!; // mostly-valid text with one random byte
      const cut = i % (buf.length + 1);
      const v = new Utf8Validator();
      const ok = v.validate(buf.subarray(0, cut)) && v.validate(buf.subarray(cut)) && v.complete;
      expect(ok, buf.toString('hex')).toBe(isUtf8(buf));
    }
    for (let i = 0; i < 2000; i++) {
      const buf = randomBytes(1 + (i % 9));
      const v = new Utf8Validator();
      expect(v.validate(buf) && v.complete, buf.toString('hex')).toBe(isUtf8(buf));
    }
  });

  it('encodes frames with minimal lengths, masks and RSV bits as specified', async () => {
    const { encodeFrame, applyMask, repeatPayload } = await load('lib/codec.mjs');
    const head = (len: number) => encodeFrame({ opcode: 2, payload: Buffer.alloc(len) }).raw.subarray(0, 10);
    expect([...head(125).subarray(0, 2)]).toEqual([0x82, 125]);
    expect([...head(126).subarray(0, 4)]).toEqual([0x82, 126, 0x00, 0x7e]);
    expect([...head(65535).subarray(0, 4)]).toEqual([0x82, 126, 0xff, 0xff]);
    expect([...head(65536)]).toEqual([0x82, 127, 0, 0, 0, 0, 0, 1, 0, 0]);
    const { raw } = encodeFrame({ opcode: 1, payload: Buffer.from('Hello'), mask: Buffer.from([0x37, 0xfa, 0x21, 0x3d]) });
    expect(raw.toString('hex')).toBe('818537fa213d7f9f4d5158'); // RFC 6455 section 5.7
    expect(encodeFrame({ opcode: 8, rsv: 7, fin: false }).raw[0]).toBe(0x78);
    const data = randomBytes(1001);
    const key = randomBytes(4);
    const twice = applyMask(applyMask(Buffer.from(data), key), key);
    expect(twice.equals(data)).toBe(true);
    // Masking in two pieces with the key phase carried over equals one pass.
    const one = applyMask(Buffer.from(data), key);
    const a = applyMask(Buffer.from(data.subarray(0, 7)), key, 0);
    const b = applyMask(Buffer.from(data.subarray(7)), key, 7);
    expect(Buffer.concat([a, b]).equals(one)).toBe(true);
    expect(repeatPayload(Buffer.from('abc'), 8).toString()).toBe('abcabcab');
  });

  it('keeps permessage-deflate context across messages exactly as a long-lived zlib stream does', async () => {
    const zlib = await import('node:zlib');
    const { PerMessageDeflate } = await load('lib/deflate.mjs');
    const ours = new PerMessageDeflate({ ownNoContextTakeover: false, ownWindowBits: 15, peerNoContextTakeover: false, peerWindowBits: 15 });
    // A peer with real streams (what RFC 7692 context takeover means): one deflater, one inflater for the whole connection.
    const deflater = zlib.createDeflateRaw();
    const inflater = zlib.createInflateRaw();
    const run = (stream: any, data: Buffer) =>
      new Promise<Buffer>((resolve) => {
        const out: Buffer[] = [];
        const onData = (d: Buffer) => out.push(d);
        stream.on('data', onData);
        stream.write(data);
        stream.flush(zlib.constants.Z_SYNC_FLUSH, () => {
          stream.off('data', onData);
          resolve(Buffer.concat(out));
        });
      });
    const tail = Buffer.from([0, 0, 0xff, 0xff]);
    const base = Buffer.from(JSON.stringify(Array.from({ length: 400 }, (_, i) => ({ i, name: `item ${i % 17}`, tags: ['a', 'b', String(i % 5)] }))));
    for (let m = 0; m < 12; m++) {
      const message = base.subarray((m * 997) % 5000, ((m * 997) % 5000) + 3000 + m * 500);
      // ours → peer
      expect((await run(inflater, Buffer.concat([ours.compress(message), tail]))).equals(message)).toBe(true);
      // peer → ours
      const sent = await run(deflater, message);
      expect(sent.subarray(-4).equals(tail)).toBe(true);
      expect(ours.decompress(sent.subarray(0, -4)).equals(message)).toBe(true);
    }
  });

  it('negotiates permessage-deflate with Autobahn’s offers and accepts', async () => {
    const { offerString, serverAccept, clientAccept } = await load('lib/deflate.mjs');
    expect(offerString([[true, 9]])).toBe(
      'permessage-deflate; client_no_context_takeover; client_max_window_bits; server_no_context_takeover; server_max_window_bits=9',
    );
    const wsOffer = 'permessage-deflate; client_max_window_bits';
    expect(serverAccept(wsOffer, [[false, 0]])?.header).toBe('permessage-deflate');
    expect(serverAccept(wsOffer, [[true, 0]])).toBeNull(); // needs client_no_context_takeover in the offer
    expect(serverAccept(wsOffer, [[false, 9]])?.header).toBe('permessage-deflate; client_max_window_bits=9');
    expect(
      serverAccept(`${wsOffer}, permessage-deflate`, [
        [true, 9],
        [true, 0],
        [false, 0],
      ])?.header,
    ).toBe('permessage-deflate');
    expect(serverAccept('permessage-deflate; server_max_window_bits=16', [[false, 0]])).toBeNull();
    expect(serverAccept('x-other, permessage-deflate; server_no_context_takeover', [[false, 0]])?.header).toBe(
      'permessage-deflate; server_no_context_takeover',
    );
    expect(clientAccept('permessage-deflate; server_no_context_takeover; client_max_window_bits=10').codec.ownWindowBits).toBe(10);
    expect(clientAccept('permessage-deflate; bogus').error).toMatch(/bogus/);
  });

  it('fragments messages as Autobahn does (a final empty frame when the size divides evenly)', async () => {
    const { FuzzingProtocol } = await load('lib/protocol.mjs');
    const { EventEmitter } = await import('node:events');
    const frames = (length: number, fragmentSize: number) => {
      const socket: any = Object.assign(new EventEmitter(), { setNoDelay() {}, write() {}, destroy() {}, destroyed: false, writableEnded: false });
      const p = new FuzzingProtocol({ isServer: true, socket });
      p.state = 'OPEN';
      const sent: Array<[number, boolean, number]> = [];
      p.sendFrame = ({ opcode, fin = true, payload }: any) => void sent.push([opcode, fin, payload.length]);
      p.sendMessage(Buffer.alloc(length), { fragmentSize });
      p.connectionLost();
      return sent;
    };
    expect(frames(4 * 1024 * 1024, 256).length).toBe(16385); // case 9.3.2
    expect(frames(10, 5)).toEqual([
      [1, false, 5],
      [0, false, 5],
      [0, true, 0],
    ]);
    expect(frames(11, 5)).toEqual([
      [1, false, 5],
      [0, false, 5],
      [0, true, 1],
    ]);
    expect(frames(5, 5)).toEqual([[1, true, 5]]);
  });
});
