/**
 * Every function of `wsbolt/native` (the public ones and both raw
 * implementations) refuses hostile arguments with a TypeError or RangeError,
 * runs no user code (no valueOf, no getters) and never crashes: a valueOf that
 * detaches or shrinks a buffer after the addon took its pointer was a
 * segfault. The calls run in a child process (fixtures/hostile-args.cjs, on
 * the built package), so a crash fails this test instead of killing the test
 * runner. In the native project the child has the addon; in the js project
 * (WSBOLT_NO_NATIVE=1) it checks the fallback and the public functions on it.
 */
import { spawnSync } from 'node:child_process';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';

interface Outcome {
  threw?: string;
  code?: string;
  message?: string;
  returned?: unknown;
  args?: string[];
  userCodeRan: boolean;
}
interface Result {
  fn: string;
  name: string;
  mustThrow: boolean;
  native: Outcome | null;
  js: Outcome;
  public: Outcome | null;
}
interface Report {
  backend: string;
  native: boolean;
  results: Result[];
  isValidUtf8: { name: string; public: Outcome }[];
}

const FIXTURE = path.join(__dirname, 'fixtures', 'hostile-args.cjs');

describe('hostile arguments to wsbolt/native', () => {
  const child = spawnSync(process.execPath, [FIXTURE], { encoding: 'utf8', timeout: 60_000, maxBuffer: 64 * 1024 * 1024 });

  it('the child survives every call', () => {
    expect({ status: child.status, signal: child.signal }, `stderr: ${child.stderr}`).toEqual({ status: 0, signal: null });
  });

  const report: Report | null = child.status === 0 ? JSON.parse(child.stdout) : null;

  it(`the child runs on the ${process.env.WSBOLT_EXPECT_BACKEND} backend`, () => {
    expect(report?.backend).toBe(process.env.WSBOLT_EXPECT_BACKEND);
    expect(report?.native).toBe(process.env.WSBOLT_EXPECT_BACKEND === 'native');
  });

  it('every hostile call throws a TypeError or RangeError with a stable code', () => {
    const wrong: string[] = [];
    for (const r of report?.results ?? []) {
      if (!r.mustThrow) continue;
      for (const [impl, o] of [
        ['native', r.native],
        ['js', r.js],
        ['public', r.public],
      ] as const) {
        if (o === null) continue;
        const ok = (o.threw === 'TypeError' && o.code === 'ERR_INVALID_ARG_TYPE') || (o.threw === 'RangeError' && o.code === 'ERR_OUT_OF_RANGE');
        if (!ok) wrong.push(`${impl} ${r.fn}: ${r.name} -> ${JSON.stringify(o)}`);
      }
    }
    expect(report).not.toBeNull();
    expect(wrong).toEqual([]);
  });

  it('no call runs user code (valueOf, getters)', () => {
    const ran = (report?.results ?? []).flatMap((r) =>
      [
        ['native', r.native],
        ['js', r.js],
        ['public', r.public],
      ]
        .filter(([, o]) => (o as Outcome | null)?.userCodeRan)
        .map(([impl]) => `${impl} ${r.fn}: ${r.name}`),
    );
    expect(report).not.toBeNull();
    expect(ran).toEqual([]);
  });

  it('native, fallback and public functions give the same outcome for every call, odd arguments included', () => {
    const differ: string[] = [];
    for (const r of report?.results ?? []) {
      for (const [impl, o] of [
        ['native', r.native],
        ['public', r.public],
      ] as const) {
        if (o !== null && JSON.stringify(o) !== JSON.stringify(r.js))
          differ.push(`${r.fn}: ${r.name}: ${impl} ${JSON.stringify(o)} js ${JSON.stringify(r.js)}`);
      }
    }
    expect(report).not.toBeNull();
    expect(report!.results.filter((r) => !r.mustThrow).length).toBeGreaterThan(20);
    expect(differ).toEqual([]);
  });

  it('isValidUtf8 refuses what is not bytes, and takes a detached view as empty', () => {
    expect(report).not.toBeNull();
    for (const r of report!.isValidUtf8) {
      if (r.name === 'a detached Uint8Array') expect(r.public.returned, r.name).toBe(true);
      else expect(r.public.threw, r.name).toBe('TypeError');
    }
  });
});
