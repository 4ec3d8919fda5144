#!/usr/bin/env node
// `npm run bench [-- <suite>]`: runs a benchmark suite. Suites: micro.
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { dirname, join } from 'node:path';

const suites = { micro: 'micro.mjs', echo: 'echo.mjs' };
const name = process.argv[2] ?? 'micro';
if (!(name in suites)) {
  console.error(`unknown suite "${name}"; known: ${Object.keys(suites).join(', ')}`);
  process.exit(2);
}
const here = dirname(fileURLToPath(import.meta.url));
const result = spawnSync(process.execPath, ['--expose-gc', join(here, suites[name]), ...process.argv.slice(3)], { stdio: 'inherit' });
process.exit(result.status ?? 1);
