/**
 * native/contract.h is generated from src/native/types.ts (the one source of
 * the scanner's statuses, out-slot layout, flags, fault and close codes and
 * UTF-8 states). Regenerating it must give the committed file, so a constant
 * changed on one side only fails here, in `npm test`.
 */
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { describe, expect, it } from 'vitest';

const root = resolve(__dirname, '../..');
const read = (path: string) => readFileSync(resolve(root, path), 'utf8');

describe('the C++/TypeScript contract', () => {
  it('native/contract.h is what scripts/gen-contract.mjs makes of src/native/types.ts (run it after changing types.ts)', () => {
    const generated = execFileSync(process.execPath, ['scripts/gen-contract.mjs', '--stdout'], { cwd: root, encoding: 'utf8' });
    expect(read('native/contract.h')).toBe(generated);
  });

  it('the C++ scanner and UTF-8 validator take their constants from contract.h, not from literals of their own', () => {
    expect(read('native/scan.h')).toContain('#include "contract.h"');
    expect(read('native/utf8.h')).toContain('#include "contract.h"');
    expect(read('native/scan.h')).not.toMatch(/\b(1002|1009)\b/);
  });
});
