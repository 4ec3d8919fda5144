/**
 * The API reference (TypeDoc, from the TSDoc) builds, and no option or callback of the package root is left without
 * documentation (scripts/check-docs.mjs). Runs once (native project): TypeDoc compiles the whole program.
 */
import { expect, it } from 'vitest';
import { start, useCleanup, withTimeout } from '../kit/index.js';

const defer = useCleanup();

it('the API reference builds with every option and callback documented', async () => {
  const check = start(defer, ['scripts/check-docs.mjs']);
  const exit = await withTimeout(check.exited, 170_000, 'scripts/check-docs.mjs');
  const result = JSON.parse(check.lines.find((line) => line.startsWith('result: '))?.slice(8) ?? '{}');
  expect(result.errors, check.stderr()).toEqual([]);
  expect(result.undocumented, check.stderr()).toEqual([]);
  expect(exit).toEqual({ code: 0, signal: null });
}, 180_000);
