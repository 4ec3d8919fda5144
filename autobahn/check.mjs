#!/usr/bin/env node
/**
 * Report checker: node autobahn/check.mjs <index.json> [--sections 1-7,10]
 *
 * Prints the verdict table per section and agent, then every case that is
 * not OK, and exits non-zero unless every case passes (see lib/verdicts.mjs
 * for the only exceptions: INFORMATIONAL 7.1.6/7.13.1/7.13.2, UNIMPLEMENTED
 * 12.x/13.x). Works on the harness's reports and on the real suite's.
 * Completeness: by default every catalogue case of each section that appears
 * must be present (a truncated run fails); --sections names the sections or
 * case patterns that must be present; --only-present judges just what is there.
 */
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { parseArgs } from 'node:util';
import { selectCases, sectionsToPatterns } from './lib/catalogue.mjs';
import { formatTable, summarize } from './lib/verdicts.mjs';

const { values, positionals } = parseArgs({ options: { sections: { type: 'string' }, 'only-present': { type: 'boolean' } }, allowPositionals: true });
if (positionals.length !== 1) {
  console.error('usage: node autobahn/check.mjs <index.json> [--sections 1-7,10 | --only-present]');
  process.exit(2);
}
const file = positionals[0];
const index = JSON.parse(readFileSync(file, 'utf8'));
const expected = values.sections ? selectCases({ cases: sectionsToPatterns(values.sections) }) : null;
const summary = summarize(index, expected, { onlyPresent: values['only-present'] });

console.log(formatTable(summary));
if (summary.failures.length === 0) {
  console.log(`\nall ${summary.agents.length} agent(s): every case OK`);
  process.exit(0);
}
console.log(`\n${summary.failures.length} case(s) not OK:`);
for (const { agent, id, label, entry } of summary.failures) {
  let detail = '';
  if (entry?.reportfile) {
    try {
      const r = JSON.parse(readFileSync(join(dirname(file), entry.reportfile), 'utf8'));
      detail = ` — ${r.result} / ${r.resultClose}`;
    } catch {
      // the case file is optional for the check
    }
  }
  const code = entry ? ` (close code ${entry.remoteCloseCode ?? 'none'})` : '';
  console.log(`  ${agent} ${id}: ${label}${code}${detail}`);
}
process.exit(1);
