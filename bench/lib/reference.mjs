// The reference run for issue 17's "the stream path stays within 5 % of
// today's figures": wsbolt's medians from the last published run before the
// native transport (bench/results/latest.json as it was then), frozen in
// bench/results/stream-reference.json so later publications do not replace
// them. Figures from another machine or Node compare nothing: the suite says
// so when they differ, and the targets get no verdict. To measure them again
// on the machine that runs the bench: run the bench on the last commit before
// the native transport, then
//   node bench/lib/reference.mjs bench/results/<that run>.json "<where it came from>"
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

export const REFERENCE_FILE = join(dirname(fileURLToPath(import.meta.url)), '..', 'results', 'stream-reference.json');

/**
 * The reference document made from a published result document: one
 * contestant's summary per scenario, with the machine and settings that
 * produced them. `source` says where the document came from.
 */
export function referenceFrom(doc, contestant, source) {
  const scenarios = {};
  for (const r of doc.scenarios) {
    const s = r.summary?.[contestant];
    if (s) scenarios[r.id] = { title: r.title, unit: r.unit, better: r.better, ...s };
  }
  return { source, contestant, machine: doc.machine, settings: doc.settings, scenarios };
}

/** The reference document, or null when the file is missing or unreadable. */
export function loadReference(path = REFERENCE_FILE) {
  if (!existsSync(path)) return null;
  try {
    return JSON.parse(readFileSync(path, 'utf8'));
  } catch {
    return null;
  }
}

/** Why the reference cannot be compared with a run on `machine`, or null when it can. */
export function referenceMismatch(reference, machine) {
  if (!reference) return 'no reference run (bench/results/stream-reference.json)';
  const m = reference.machine;
  const diff = ['cpu', 'cores', 'node'].filter((k) => m?.[k] !== machine[k]);
  return diff.length
    ? `the reference run had ${diff.map((k) => `${k} ${m?.[k]}`).join(', ')}; this one ${diff.map((k) => `${k} ${machine[k]}`).join(', ')}`
    : null;
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const [file, source] = process.argv.slice(2);
  if (!file || !source) {
    console.error('usage: node bench/lib/reference.mjs <bench/results/run.json> "<where that run came from>"');
    process.exit(2);
  }
  const doc = referenceFrom(JSON.parse(readFileSync(file, 'utf8')), 'wsbolt', source);
  writeFileSync(REFERENCE_FILE, `${JSON.stringify(doc, null, 2)}\n`);
  console.log(`${REFERENCE_FILE}: wsbolt in ${Object.keys(doc.scenarios).join(', ') || 'no scenario'}`);
}
