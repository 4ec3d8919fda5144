/**
 * The native addon and the TypeScript reference (reference.ts) must agree
 * exactly: on raw scanFrames calls, and on the event sequences, errors and
 * output bytes of the whole protocol for at least 100,000 random frame
 * sequences (valid and corrupted) with random chunkings.
 * Runs in the native project only (vitest.config.ts), where both
 * implementations are loaded.
 */
import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { Protocol, type Role } from '../../src/core/index.js';
import { backends } from '../../src/native/index.js';
import * as contract from '../../src/native/types.js';
import type { Backend } from '../../src/native/types.js';
import { frame, rng } from '../kit/index.js';

type Random = ReturnType<typeof rng>;

function randomFrames(random: Random, masked: boolean): Buffer {
  const frames: Buffer[] = [];
  const count = 1 + random.int(6);
  let open = false;
  for (let i = 0; i < count; i++) {
    const kind = random.int(10);
    const sizeClass = random.int(20);
    const size =
      sizeClass < 14
        ? random.int(20)
        : sizeClass < 18
          ? random.int(400)
          : sizeClass < 19
            ? 125
            : random.chance(0.1)
              ? 65536 + random.int(3000)
              : 126 + random.int(2000);
    let payload = random.bytes(size);
    if (random.chance(0.5)) payload = Buffer.from('ok κόσμε €'.repeat(1 + (size >> 3)).slice(0, size)); // mostly valid text
    const lengthForm = random.chance(0.1) ? (64 as const) : random.chance(0.1) && size < 65536 ? (16 as const) : undefined;
    if (kind < 5) {
      const fin = random.chance(0.6);
      frames.push(
        frame({
          opcode: open ? 0 : random.chance(0.5) ? 1 : 2,
          payload,
          fin,
          mask: masked,
          lengthForm,
          key: [random.int(256), random.int(256), random.int(256), random.int(256)],
        }),
      );
      open = !fin;
    } else if (kind < 8) {
      frames.push(frame({ opcode: random.chance(0.5) ? 9 : 10, payload: payload.subarray(0, random.int(126)), mask: masked }));
    } else if (kind < 9) {
      const code = [1000, 1001, 3000, 4999, 999, 1005, 1016][random.int(7)]!;
      const body = Buffer.alloc(2 + random.int(10), 0x61);
      body.writeUInt16BE(code);
      frames.push(frame({ opcode: 8, payload: random.chance(0.1) ? body.subarray(0, 1) : body, mask: masked }));
    } else {
      frames.push(
        frame({
          opcode: random.int(16),
          payload: payload.subarray(0, 200),
          fin: random.chance(0.8),
          mask: random.chance(0.9) ? masked : !masked,
          rsv: random.chance(0.2) ? 0x40 : 0,
        }),
      );
    }
  }
  const bytes = Buffer.concat(frames);
  // Corrupt about a third of the sequences.
  const corruption = random.int(9);
  if (corruption === 0 && bytes.length > 0) bytes[random.int(bytes.length)] ^= 1 << random.int(8);
  if (corruption === 1 && bytes.length > 0) bytes[random.int(Math.min(bytes.length, 14))] = random.int(256);
  if (corruption === 2) return bytes.subarray(0, random.int(bytes.length + 1));
  return bytes;
}

/** Short payloads verbatim, long ones by length and digest: cheap, and still every byte compared. */
function show(data: Buffer): string {
  return data.length <= 64 ? data.toString('hex') : `${data.length}#${createHash('sha1').update(data).digest('hex')}`;
}

function run(backend: Backend, role: Role, bytes: Buffer, cuts: number[], maxPayload: number, rsvMask: number) {
  const log: string[] = [];
  let keyCounter = 0;
  const protocol = new Protocol(
    {
      role,
      backend,
      maxPayload,
      rsvMask,
      maxFragments: 4,
      maskKey: (t, o) => t.set([keyCounter++ & 0xff, 0x5a, 0xa5, 0x3c], o),
    },
    {
      onMessage: (d, b) => log.push(`m${b ? 'b' : 't'}:${show(d)}`),
      onPing: (d) => log.push(`ping:${show(d)}`),
      onPong: (d) => log.push(`pong:${show(d)}`),
      onCloseFrame: (c, r) => log.push(`close:${c}:${r}`),
      onProtocolError: (e) => log.push(`error:${e.code}:${e.closeCode}:${e.message}`),
    },
  );
  let last = 0;
  for (const at of [...cuts, bytes.length]) {
    if (at > last) protocol.receive(Buffer.from(bytes.subarray(last, at)));
    last = Math.max(last, at);
  }
  log.push(`out:${show(Buffer.concat(protocol.dataToSend()))}`);
  return log;
}

describe('native and the TypeScript reference agree', () => {
  const native = backends.native!;
  const js = backends.js;

  it('the native addon is loaded', () => {
    expect(native).not.toBeNull();
  });

  it('on 100,000 random frame sequences with random chunkings (events, close codes, output bytes)', () => {
    const random = rng(20261122);
    let errors = 0;
    let messages = 0;
    for (let i = 0; i < 100_000; i++) {
      const role: Role = random.chance(0.5) ? 'server' : 'client';
      const bytes = randomFrames(random, role === 'server');
      const cuts = Array.from({ length: random.int(4) }, () => random.int(bytes.length + 1)).sort((a, b) => a - b);
      const maxPayload = random.chance(0.2) ? random.int(500) : 1 << 20;
      const rsvMask = random.chance(0.2) ? 0x40 : 0;
      const a = run(native, role, bytes, cuts, maxPayload, rsvMask);
      const b = run(js, role, bytes, cuts, maxPayload, rsvMask);
      if (a.join('\n') !== b.join('\n')) {
        expect(a, `sequence ${i}: ${bytes.toString('hex')} cuts ${cuts}`).toEqual(b);
      }
      if (a.some((e) => e.startsWith('error'))) errors++;
      if (a.some((e) => e.startsWith('m'))) messages++;
    }
    // The generator must exercise both outcomes, or this test proves little.
    expect(errors).toBeGreaterThan(10_000);
    expect(messages).toBeGreaterThan(10_000);
  });

  it('on raw scanFrames calls (records, status, close code, fault, unmasked bytes)', () => {
    const random = rng(99);
    const faults = new Set<number>();
    for (let i = 0; i < 50_000; i++) {
      const masked = random.chance(0.5);
      const bytes = randomFrames(random, masked);
      const offset = random.int(Math.min(bytes.length, 8) + 1);
      const flags = (masked ? 1 : 0) | [0, 0x40, 0x70][random.int(3)]!;
      const maxPayload = random.chance(0.3) ? random.int(300) : 2 ** 53;
      const records = 1 + random.int(4);
      const outA = new Float64Array(8 + 3 * records).fill(-1);
      const outB = new Float64Array(8 + 3 * records).fill(-1);
      const bufA = Buffer.from(bytes);
      const bufB = Buffer.from(bytes);
      const countA = native.scanFrames(bufA, offset, outA, flags, maxPayload);
      const countB = js.scanFrames(bufB, offset, outB, flags, maxPayload);
      if (outB[contract.OUT_STATUS] === contract.SCAN_ERROR) faults.add(outB[contract.OUT_FAULT]!);
      if (countA !== countB || !bufA.equals(bufB) || outA.some((v, k) => !Object.is(v, outB[k]))) {
        expect({ countA, outA: [...outA], bufA: bufA.toString('hex') }, `input ${bytes.toString('hex')} flags ${flags} max ${maxPayload}`).toEqual({
          countA: countB,
          outA: [...outB],
          bufA: bufB.toString('hex'),
        });
      }
    }
    // Every header rule must have failed somewhere in these inputs, or the fault slot went untested for it.
    const every = Object.entries(contract).filter(([k]) => k.startsWith('FAULT_') && k !== 'FAULT_NONE');
    expect([...faults].sort((a, b) => a - b)).toEqual(every.map(([, v]) => v).sort((a, b) => a - b));
  });
});
