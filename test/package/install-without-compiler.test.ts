/**
 * The tarball as a user installs it (scripts/check-package.mjs): `npm pack` builds the linux-x64 prebuild, and the
 * tarball installs into an empty project whose PATH has node and npm only (no make, no compiler, no Python), loads the
 * native backend and echoes. Runs once (native project): it packs and installs from the registry's cache.
 */
import { spawnSync } from 'node:child_process';
import { expect, it } from 'vitest';
import { ROOT } from '../kit/index.js';

it.runIf(process.platform === 'linux' && process.arch === 'x64')(
  'installs from the packed tarball without a compiler and runs on the native backend',
  () => {
    const run = spawnSync(process.execPath, ['scripts/check-package.mjs'], { cwd: ROOT, encoding: 'utf8', timeout: 280_000 });
    const result = JSON.parse(run.stdout.match(/^result: (.*)$/m)?.[1] ?? '{}');
    expect(result.problems, `${run.stdout}\n${run.stderr}`).toEqual([]);
    expect(result).toMatchObject({
      prebuilds: [expect.stringMatching(/^prebuilds\/linux-x64\/[^/]+\.node$/)],
      compiled: false,
      backend: 'native',
      backendError: null,
      esmBackend: 'native',
      transport: 'native',
      echo: 'hello from the tarball',
    });
    expect(run.status).toBe(0);
  },
  300_000,
);
