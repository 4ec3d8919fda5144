/**
 * A fallback the user can see (issue 19): when the addon is there but does not load, wsbolt warns once at run time
 * with the reason (code WSBOLT_NO_NATIVE_ADDON), exports the reason as backendError, and NODE_DEBUG=wsbolt says which
 * backend loaded and why; WSBOLT_QUIET=1 silences the warning and WSBOLT_NO_NATIVE=1 (deliberate) never warns.
 * The broken install is a copy of the built package whose only addon is a prebuild that is not a shared library; the
 * working one is a link to this repository (its build/Release).
 * Each child gets its environment from the test, so the result is the same in every project: runs once.
 */
import { cpSync, existsSync, mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { ROOT, start, useCleanup, withTimeout } from '../kit/index.js';

const defer = useCleanup();

let work = '';

beforeAll(() => {
  if (!existsSync(`${ROOT}/dist/index.js`)) throw new Error('dist/ is not built: run `npm run build:ts` (npm test does it first)');
  work = mkdtempSync(path.join(tmpdir(), 'wsbolt-fallback-'));
  const pkg = path.join(work, 'node_modules', 'wsbolt');
  mkdirSync(path.join(pkg, 'prebuilds', `${process.platform}-${process.arch}`), { recursive: true });
  cpSync(`${ROOT}/dist`, path.join(pkg, 'dist'), { recursive: true });
  cpSync(`${ROOT}/package.json`, path.join(pkg, 'package.json'));
  writeFileSync(path.join(pkg, 'prebuilds', `${process.platform}-${process.arch}`, 'wsbolt.node'), 'not a shared library');
  symlinkSync(`${ROOT}/node_modules/node-gyp-build`, path.join(work, 'node_modules', 'node-gyp-build'), 'dir');
  mkdirSync(path.join(work, 'built', 'node_modules'), { recursive: true });
  symlinkSync(ROOT, path.join(work, 'built', 'node_modules', 'wsbolt'), 'dir');
  // Loads wsbolt twice (require and import: one module instance) and prints what it reports.
  const program = `
    const { backend, backendError } = require('wsbolt');
    import('wsbolt').then((esm) => console.log(JSON.stringify({ backend, backendError, esmBackend: esm.backend, esmError: esm.backendError })));
  `;
  writeFileSync(path.join(work, 'app.cjs'), program);
  writeFileSync(path.join(work, 'built', 'app.cjs'), program);
});

afterAll(() => {
  if (work) rmSync(work, { recursive: true, force: true });
});

/** Runs the program against the broken or the working install; what it reports, its stderr and the warnings in it. */
async function load(from: 'broken' | 'built', env: Record<string, string> = {}) {
  const script = path.join(work, ...(from === 'broken' ? [] : ['built']), 'app.cjs');
  const child = start(defer, [script], { env: { WSBOLT_NO_NATIVE: '', WSBOLT_QUIET: '', NODE_DEBUG: '', ...env } });
  expect(await withTimeout(child.exited, 20_000, 'the child exiting'), child.stderr()).toEqual({ code: 0, signal: null });
  const warnings = child
    .stderr()
    .split('\n')
    .filter((line) => line.includes('Warning'));
  return { ...JSON.parse(child.lines[0]!), stderr: child.stderr(), warnings };
}

it('a broken addon: one warning with the reason and its code, backendError set, the fallback runs', async () => {
  const seen = await load('broken');
  expect(seen).toMatchObject({ backend: 'js', esmBackend: 'js' });
  expect(seen.backendError).toMatch(/wsbolt\.node/);
  expect(seen.esmError).toBe(seen.backendError);
  expect(seen.warnings).toHaveLength(1);
  expect(seen.warnings[0]).toContain('[WSBOLT_NO_NATIVE_ADDON]');
  expect(seen.warnings[0]).toContain('wsbolt: the native addon did not load');
  expect(seen.warnings[0]).toContain(seen.backendError.split('\n')[0]);
  expect(seen.warnings[0]).toContain('npm rebuild wsbolt');
});

it('WSBOLT_QUIET=1 silences the warning; backendError still tells why', async () => {
  const seen = await load('broken', { WSBOLT_QUIET: '1' });
  expect(seen.warnings).toEqual([]);
  expect(seen.backend).toBe('js');
  expect(seen.backendError).toMatch(/wsbolt\.node/);
});

it('WSBOLT_NO_NATIVE=1 is a choice, not a failure: no warning', async () => {
  const seen = await load('broken', { WSBOLT_NO_NATIVE: '1' });
  expect(seen.warnings).toEqual([]);
  expect(seen).toMatchObject({ backend: 'js', backendError: 'WSBOLT_NO_NATIVE is set' });
});

it('NODE_DEBUG=wsbolt prints which backend loaded and why', async () => {
  const broken = await load('broken', { NODE_DEBUG: 'wsbolt', WSBOLT_QUIET: '1' });
  expect(broken.stderr).toMatch(/^WSBOLT \d+: backend js \(the TypeScript fallback\): .*wsbolt\.node/m);
  const deliberate = await load('broken', { NODE_DEBUG: 'wsbolt', WSBOLT_NO_NATIVE: '1' });
  expect(deliberate.stderr).toMatch(/^WSBOLT \d+: backend js \(the TypeScript fallback\): WSBOLT_NO_NATIVE is set/m);
  const built = await load('built', { NODE_DEBUG: 'wsbolt' });
  expect(built).toMatchObject({ backend: 'native', backendError: null, warnings: [] });
  expect(built.stderr).toMatch(/^WSBOLT \d+: backend native: the addon from .*\.node/m);
});
