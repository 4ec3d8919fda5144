/**
 * allocFrame(): a large frame's buffer. Both implementations give a Buffer of the length asked for; the addon's
 * reuses the memory of frame Buffers V8 has collected (native/frame-pool.cc), within bounds, and never the memory of
 * one still referenced. The pool's side runs in a child process (fixtures/frame-pool.cjs, on the built package,
 * with --expose-gc): collections are what hand blocks back, and a crash must fail this test, not the runner.
 */
import { spawnSync } from 'node:child_process';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { implementations } from '../../src/native/public.js';
import { FRAME_POOL_MAX, FRAME_POOL_MIN } from '../../src/native/types.js';

describe('allocFrame()', () => {
  for (const [name, impl] of Object.entries(implementations)) {
    if (impl === null) continue;
    it(`${name}: a writable Buffer of the length asked for, below, within and above the pooled lengths`, () => {
      for (const length of [0, 1, 65_536, FRAME_POOL_MIN - 1, FRAME_POOL_MIN, 1 << 20, FRAME_POOL_MAX, FRAME_POOL_MAX + 1]) {
        const buffer = impl.allocFrame(length);
        expect(Buffer.isBuffer(buffer), `${length}`).toBe(true);
        expect(buffer.length).toBe(length);
        if (length > 0) {
          buffer.fill(0x5c);
          expect(buffer[0]).toBe(0x5c);
          expect(buffer[length - 1]).toBe(0x5c);
        }
      }
    });
  }
});

describe.runIf(process.env.WSBOLT_EXPECT_BACKEND === 'native')('the addon’s frame pool', () => {
  const FIXTURE = path.join(__dirname, 'fixtures', 'frame-pool.cjs');
  const child = spawnSync(process.execPath, ['--expose-gc', FIXTURE], { encoding: 'utf8', timeout: 60_000 });
  const report = child.status === 0 ? JSON.parse(child.stdout) : null;

  it('the child survives every call', () => {
    expect({ status: child.status, signal: child.signal }, `stderr: ${child.stderr}`).toEqual({ status: 0, signal: null });
  });

  it('gets back every Buffer it drops once V8 collects it', () => {
    expect(report?.timedOut).toBe(0);
  });

  it('refuses what is not an integer number of bytes within the pooled lengths, running no user code', () => {
    expect(report?.refusals).toEqual({
      'no argument': 'TypeError ERR_INVALID_ARG_TYPE',
      'a string': 'TypeError ERR_INVALID_ARG_TYPE',
      'a BigInt': 'TypeError ERR_INVALID_ARG_TYPE',
      null: 'TypeError ERR_INVALID_ARG_TYPE',
      'an object with valueOf': 'TypeError ERR_INVALID_ARG_TYPE',
      'below the minimum': 'RangeError ERR_OUT_OF_RANGE',
      'above the maximum': 'RangeError ERR_OUT_OF_RANGE',
      'a fraction': 'RangeError ERR_OUT_OF_RANGE',
      NaN: 'RangeError ERR_OUT_OF_RANGE',
      Infinity: 'RangeError ERR_OUT_OF_RANGE',
      negative: 'RangeError ERR_OUT_OF_RANGE',
    });
    expect(report?.ranUserCode).toBe(false);
  });

  it('gives a writable Buffer of the length asked for', () => {
    expect(report?.first).toEqual({ isBuffer: true, length: FRAME_POOL_MIN + 1, filled: true });
  });

  it('reuses a collected Buffer’s block for a frame of a near length', () => {
    expect(report?.reuse).toMatchObject({ allocated: 2, reused: 1, again: (1 << 20) - 1000 });
    expect(report?.reuse.idleBefore).toBeGreaterThanOrEqual(2); // the two collected (and the first test's block)
  });

  it('keeps at most 32 MiB of blocks for reuse, however many are collected at once', () => {
    expect(report?.bounded.idleBytes).toBeLessThanOrEqual(32 * 1024 * 1024);
    expect(report?.bounded.idleBlocks).toBeLessThanOrEqual(64);
    expect(report?.bounded.idleBlocks).toBeGreaterThan(0);
  });

  it('serves the engine’s large frames, and never reuses a payload the application still holds', () => {
    // Twelve 300 KiB frames, each arriving in 8 KiB reads; the first four kept across collections.
    expect(report?.kept).toEqual([true, true, true, true]);
    expect(report?.frames.count).toBe(12);
    expect(report?.frames.allocated + report?.frames.reused).toBe(12);
    expect(report?.frames.reused).toBeGreaterThanOrEqual(7);
  });
});
