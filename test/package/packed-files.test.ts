/**
 * What `npm pack` would publish, from the tree as it is (`--dry-run`, nothing built): the files a package needs (LICENSE,
 * CHANGELOG), no source map without its sources, README links that resolve on the npm page, the repository fields.
 * The prebuild and the install without a compiler are checked by install-without-compiler.test.ts.
 */
import { readFileSync } from 'node:fs';
import { expect, it } from 'vitest';
import { ROOT, start, useCleanup, withTimeout } from '../kit/index.js';

const defer = useCleanup();

it('the packed file list is a package: LICENSE, CHANGELOG, no orphan source maps, README links inside it', async () => {
  const check = start(defer, ['scripts/check-package.mjs', '--list-only']);
  const exit = await withTimeout(check.exited, 30_000, 'scripts/check-package.mjs --list-only');
  const result = JSON.parse(check.lines.find((line) => line.startsWith('result: '))?.slice(8) ?? '{}');
  expect(result.problems, check.stderr()).toEqual([]);
  expect(exit).toEqual({ code: 0, signal: null });
});

it('packing builds the prebuild first, so the tarball always holds one', () => {
  const pkg = JSON.parse(readFileSync(`${ROOT}/package.json`, 'utf8'));
  expect(pkg.scripts.prepack).toMatch(/\bnpm run prebuilds\b/);
  expect(pkg.scripts.prebuilds).toMatch(/^prebuildify --napi --strip\b/);
  expect(pkg.files).toContain('prebuilds');
});
