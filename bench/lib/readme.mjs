// bench/README.md's figures section: everything between the two marker comments
// is generated from the latest full run, so the numbers there always come with
// the machine, Node version and settings that produced them.
import { readFileSync, writeFileSync } from 'node:fs';
import { machineLine, overviewTable, targetsTable } from './report.mjs';

export const START = '<!-- bench:start -->';
export const END = '<!-- bench:end -->';

/** The generated Markdown for a result document (see report.resultDocument). */
export function benchSection(doc, { chart = 'results/latest.svg', json = 'results/latest.json' } = {}) {
  const s = doc.settings;
  return [
    `Latest \`npm run bench\`: ${machineLine(doc.machine, doc.bun)}. ` +
      `${s.rounds} rounds × ${s.duration} s (+${s.warmup} s warm-up) per contestant and scenario, medians; raw runs in [\`${json}\`](${json}).`,
    '',
    `![wsbolt (both transports and the fallback), ws, uWebSockets.js and Bun, × ws + bufferutil per scenario](${chart})`,
    '',
    overviewTable(doc.scenarios),
    '',
    'Targets (issues 6 and 17; "before the native transport" is the run of ' +
      `${doc.reference?.machine?.date?.slice(0, 10) ?? '(none)'} kept in \`bench/results/stream-reference.json\`):`,
    '',
    targetsTable(doc.scenarios, doc.reference ?? null),
  ].join('\n');
}

/** Replaces the text between the markers; throws when they are missing or out of order. */
export function replaceSection(text, body) {
  const a = text.indexOf(START);
  const b = text.indexOf(END);
  if (a < 0 || b < a) throw new Error(`README has no ${START} … ${END} section`);
  return `${text.slice(0, a + START.length)}\n${body}\n${text.slice(b)}`;
}

export function updateReadme(path, doc) {
  writeFileSync(path, replaceSection(readFileSync(path, 'utf8'), benchSection(doc)));
}
