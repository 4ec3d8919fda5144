/**
 * What counts as passing, shared by check.mjs and run.mjs.
 *
 * A case passes when behavior and behaviorClose are both OK. The only
 * exceptions are the ones the suite itself makes: 7.1.6, 7.13.1 and 7.13.2
 * are rated INFORMATIONAL (both columns) for every implementation, and the
 * compression sections 12/13 are UNIMPLEMENTED when the extension was not
 * negotiated. NON-STRICT, FAILED, WRONG CODE, UNCLEAN, FAILED BY CLIENT and
 * a missing case all fail the check. (Section 9 cases are plain OK/FAILED;
 * their durations are reported, not judged.)
 */
import { CASES, CATEGORIES, compareIds, sectionOf } from './catalogue.mjs';

export const INFORMATIONAL_CASES = new Set(['7.1.6', '7.13.1', '7.13.2']);
const mayBeUnimplemented = (id) => [12, 13].includes(sectionOf(id));

/** One label per case: OK, INFORMATIONAL, UNIMPLEMENTED, NON-STRICT, FAILED, or "CLOSE <verdict>" when only the close failed. */
export function label(entry) {
  if (!entry) return 'MISSING';
  if (entry.behavior !== 'OK') return entry.behavior;
  return entry.behaviorClose === 'OK' ? 'OK' : `CLOSE ${entry.behaviorClose}`;
}

export function passes(id, entry) {
  if (!entry) return false;
  if (INFORMATIONAL_CASES.has(id)) return entry.behavior === 'INFORMATIONAL' || (entry.behavior === 'OK' && entry.behaviorClose === 'OK');
  if (mayBeUnimplemented(id) && entry.behavior === 'UNIMPLEMENTED') return true;
  return entry.behavior === 'OK' && entry.behaviorClose === 'OK';
}

/**
 * @param {object} index agent → id → entry (index.json)
 * @param {string[]|null} expectedIds cases every agent must have; null: every catalogue case of each section the agent has
 * @param {{ onlyPresent?: boolean }} [opts] onlyPresent: no completeness check
 * @returns {{ agents: string[], sections: number[], table: Map<string, Map<number, Map<string, number>>>, failures: Array<{agent, id, label, entry}> }}
 */
export function summarize(index, expectedIds = null, { onlyPresent = false } = {}) {
  const agents = Object.keys(index).sort();
  const table = new Map();
  const failures = [];
  const sections = new Set();
  for (const agent of agents) {
    const cases = index[agent];
    const present = new Set(Object.keys(cases).map(sectionOf));
    const ids = onlyPresent ? [] : (expectedIds ?? CASES.map((C) => C.ID).filter((id) => present.has(sectionOf(id))));
    const allIds = [...new Set([...ids, ...Object.keys(cases)])].sort(compareIds);
    const perSection = new Map();
    for (const id of allIds) {
      const s = sectionOf(id);
      sections.add(s);
      const entry = cases[id];
      const l = label(entry);
      if (!perSection.has(s)) perSection.set(s, new Map());
      const counts = perSection.get(s);
      counts.set(l, (counts.get(l) ?? 0) + 1);
      if (!passes(id, entry)) failures.push({ agent, id, label: l, entry });
    }
    table.set(agent, perSection);
  }
  return { agents, sections: [...sections].sort((a, b) => a - b), table, failures };
}

/** A plain-text table: one row per section, one column per agent. */
export function formatTable({ agents, sections, table }) {
  const cell = (counts) => {
    if (!counts) return '-';
    const order = ['OK', 'INFORMATIONAL', 'UNIMPLEMENTED', 'NON-STRICT'];
    const keys = [...counts.keys()].sort((a, b) => (order.indexOf(a) + 1 || 99) - (order.indexOf(b) + 1 || 99) || a.localeCompare(b));
    return keys.map((k) => `${counts.get(k)} ${k === 'INFORMATIONAL' ? 'INFO' : k === 'UNIMPLEMENTED' ? 'UNIMPL' : k}`).join(', ');
  };
  const rows = [['section', ...agents]];
  for (const s of sections) rows.push([`${s} ${CATEGORIES[s] ?? ''}`.trim(), ...agents.map((a) => cell(table.get(a)?.get(s)))]);
  const widths = rows[0].map((_, i) => Math.max(...rows.map((r) => r[i].length)));
  const line = (r) => r.map((c, i) => c.padEnd(widths[i])).join(' | ');
  return [line(rows[0]), widths.map((w) => '-'.repeat(w)).join('-+-'), ...rows.slice(1).map(line)].join('\n');
}
