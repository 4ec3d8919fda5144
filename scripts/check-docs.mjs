#!/usr/bin/env node
// The API reference builds, and every option and callback of the package root is documented: runs TypeDoc
// (typedoc.json) into a temporary directory and fails on a warning that an option or callback of `wsbolt` (interfaces
// named *Options, Handler, ConnectionCallbacks, and their members) has no documentation, or on any TypeDoc error.
// Other missing comments (wsbolt/ws mirrors ws's documented API; classes, constants) are counted, not fatal.
// `npm run docs` writes the reference to docs/api/ (generated, not committed).
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { stripVTControlCharacters } from 'node:util';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const OPTION_OR_CALLBACK = /^\[warning\] index\.\w*(Options|Handler|Callbacks)\b.*does not have any documentation/;

const out = mkdtempSync(path.join(tmpdir(), 'wsbolt-docs-'));
try {
  const typedoc = path.join(ROOT, 'node_modules', 'typedoc', 'bin', 'typedoc');
  const run = spawnSync(process.execPath, [typedoc, '--out', out], { cwd: ROOT, encoding: 'utf8', env: { ...process.env, NO_COLOR: '1', FORCE_COLOR: '0' } });
  const lines = `${run.stdout}${run.stderr}`.split('\n').map((line) => stripVTControlCharacters(line));
  const undocumented = lines.filter((line) => OPTION_OR_CALLBACK.test(line));
  const errors = lines.filter((line) => line.startsWith('[error]'));
  const otherWarnings = lines.filter((line) => line.startsWith('[warning]')).length - undocumented.length;
  console.log(`result: ${JSON.stringify({ status: run.status, undocumented, errors, otherWarnings })}`);
  if (run.status !== 0 || undocumented.length || errors.length) {
    console.error(`API reference check failed:\n${[...errors, ...undocumented].join('\n') || lines.slice(-20).join('\n')}`);
    process.exitCode = 1;
  }
} finally {
  rmSync(out, { recursive: true, force: true });
}
