/**
 * The tarball as a user installs it (scripts/check-package.mjs): `npm pack` builds the linux-x64 prebuild, and the
 * tarball installs into an empty project whose PATH has node and npm only (no make, no compiler, no Python), loads the
 * native backend and echoes. Runs once (native project): it packs and installs from the registry's cache.
 */
import { expect, it } from 'vitest';
import { start, useCleanup, withTimeout } from '../kit/index.js';

const defer = useCleanup();

it.runIf(process.platform === 'linux' && process.arch === 'x64')(
  'installs from the packed tarball without a compiler and runs on the native backend',
  async () => {
    const check = start(defer, ['scripts/check-package.mjs']);
    const exit = await withTimeout(check.exited, 280_000, 'scripts/check-package.mjs');
    const output = `${check.lines.join('\n')}\n${check.stderr()}`;
    const result = JSON.parse(output.match(/^result: (.*)$/m)?.[1] ?? '{}');
    expect(result.problems, output).toEqual([]);
    expect(result).toMatchObject({
      prebuilds: [expect.stringMatching(/^prebuilds\/linux-x64\/[^/]+\.node$/)],
      compiled: false,
      backend: 'native',
      backendError: null,
      esmBackend: 'native',
      transport: 'native',
      echo: 'hello from the tarball',
    });
    expect(exit).toEqual({ code: 0, signal: null });
  },
  300_000,
);
