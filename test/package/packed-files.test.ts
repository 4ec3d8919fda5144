/**
 * What `npm pack` would publish, from the tree as it is (`--dry-run`, nothing built): the files a package needs (LICENSE,
 * CHANGELOG), no source map without its sources, README links that resolve on the npm page, the repository fields.
 * The prebuild and the install without a compiler are checked by install-without-compiler.test.ts.
 */
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { expect, it } from 'vitest';
import { ROOT } from '../kit/index.js';

it('the packed file list is a package: LICENSE, CHANGELOG, no orphan source maps, README links inside it', () => {
  const run = spawnSync(process.execPath, ['scripts/check-package.mjs', '--list-only'], { cwd: ROOT, encoding: 'utf8' });
  const result = JSON.parse(run.stdout.match(/^result: (.*)$/m)?.[1] ?? '{}');
  expect(result.problems, run.stderr).toEqual([]);
  expect(run.status).toBe(0);
});

it('packing builds the prebuild first, so the tarball always holds one', () => {
  const pkg = JSON.parse(readFileSync(`${ROOT}/package.json`, 'utf8'));
  expect(pkg.scripts.prepack).toMatch(/\bnpm run prebuilds\b/);
  expect(pkg.scripts.prebuilds).toMatch(/^prebuildify --napi --strip\b/);
  expect(pkg.files).toContain('prebuilds');
});
