/**
 * The case catalogue: every case class in the suite's order, with the suite's
 * ids, category names, and the case-selection rules of its spec files
 * ("cases", "exclude-cases", "exclude-agent-cases", with "*" wildcards).
 */
import s1 from '../cases/s1-framing.mjs';
import s2 from '../cases/s2-pings.mjs';
import s3 from '../cases/s3-reserved-bits.mjs';
import s4 from '../cases/s4-opcodes.mjs';
import s5 from '../cases/s5-fragmentation.mjs';
import s6, { SUBCATEGORIES as S6_SUB } from '../cases/s6-utf8.mjs';
import s7 from '../cases/s7-close.mjs';
import s9 from '../cases/s9-limits.mjs';
import s10 from '../cases/s10-misc.mjs';
import s12, { SUBCATEGORIES as S12_SUB } from '../cases/s12-13-compression.mjs';

export const CASES = [...s1, ...s2, ...s3, ...s4, ...s5, ...s6, ...s7, ...s9, ...s10, ...s12];
export const CASES_BY_ID = new Map(CASES.map((C) => [C.ID, C]));

export const CATEGORIES = {
  1: 'Framing',
  2: 'Pings/Pongs',
  3: 'Reserved Bits',
  4: 'Opcodes',
  5: 'Fragmentation',
  6: 'UTF-8 Handling',
  7: 'Close Handling',
  9: 'Limits/Performance',
  10: 'Misc',
  12: 'WebSocket Compression (different payloads)',
  13: 'WebSocket Compression (different parameters)',
};

export const SUBCATEGORIES = {
  1.1: 'Text Messages',
  1.2: 'Binary Messages',
  4.1: 'Non-control Opcodes',
  4.2: 'Control Opcodes',
  6.1: 'Valid UTF-8 with zero payload fragments',
  6.2: 'Valid UTF-8 unfragmented, fragmented on code-points and within code-points',
  6.3: 'Invalid UTF-8 differently fragmented',
  6.4: 'Fail-fast on invalid UTF-8',
  ...S6_SUB,
  7.1: 'Basic close behavior (fuzzer initiated)',
  7.3: 'Close frame structure: payload length (fuzzer initiated)',
  7.5: 'Close frame structure: payload value (fuzzer initiated)',
  7.7: 'Close frame structure: valid close codes (fuzzer initiated)',
  7.9: 'Close frame structure: invalid close codes (fuzzer initiated)',
  7.13: 'Informational close information (fuzzer initiated)',
  9.1: 'Text Message (increasing size)',
  9.2: 'Binary Message (increasing size)',
  9.3: 'Fragmented Text Message (fixed size, increasing fragment size)',
  9.4: 'Fragmented Binary Message (fixed size, increasing fragment size)',
  9.5: 'Text Message (fixed size, increasing chop size)',
  9.6: 'Binary Text Message (fixed size, increasing chop size)',
  9.7: 'Text Message Roundtrip Time (fixed number, increasing size)',
  9.8: 'Binary Message Roundtrip Time (fixed number, increasing size)',
  10.1: 'Auto-Fragmentation',
  ...S12_SUB,
};

export const idTuple = (id) => id.split('.').map(Number);

export function compareIds(a, b) {
  const x = idTuple(a);
  const y = idTuple(b);
  for (let i = 0; i < Math.max(x.length, y.length); i++) {
    const d = (x[i] ?? -1) - (y[i] ?? -1);
    if (d !== 0) return d;
  }
  return 0;
}

export const sectionOf = (id) => Number(id.split('.')[0]);
export const subsectionOf = (id) => id.split('.').slice(0, 2).join('.');

/** Autobahn's pattern rule: "*" is a wildcard, "." literal, matched from the start of the id. */
export function resolvePatterns(patterns) {
  const ids = [];
  for (const p of patterns) {
    if (p.includes('*')) {
      const re = new RegExp('^' + p.replaceAll('.', '\\.').replaceAll('*', '.*'));
      for (const C of CASES) if (re.test(C.ID)) ids.push(C.ID);
    } else if (CASES_BY_ID.has(p)) {
      ids.push(p);
    } else {
      throw new Error(`unknown case id ${p}`);
    }
  }
  return ids;
}

/** The cases a spec selects: "cases" minus "exclude-cases", in id order. */
export function selectCases({ cases = ['*'], excludeCases = [] } = {}) {
  const excluded = new Set(resolvePatterns(excludeCases));
  const ids = [...new Set(resolvePatterns(cases))].filter((id) => !excluded.has(id));
  return ids.sort(compareIds);
}

/** "1-7,9,10" → case patterns ["1.*", ..., "10.*"]. */
export function sectionsToPatterns(spec) {
  const out = [];
  for (const part of String(spec)
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean)) {
    if (/^\d+-\d+$/.test(part)) {
      const [a, b] = part.split('-').map(Number);
      for (let s = a; s <= b; s++) if (CATEGORIES[s]) out.push(`${s}.*`);
    } else if (/^\d+$/.test(part)) {
      out.push(`${part}.*`);
    } else {
      out.push(part); // a case id or pattern, e.g. 9.3.1 or 6.4.*
    }
  }
  return out;
}

/** Autobahn's "exclude-agent-cases": { agentPattern: [casePatterns] }. */
export function isExcludedForAgent(excludeAgentCases, agent, id) {
  const toRe = (p) => new RegExp('^' + p.replaceAll('.', '\\.').replaceAll('*', '.*') + '$');
  for (const [agentPattern, casePatterns] of Object.entries(excludeAgentCases ?? {})) {
    if (toRe(agentPattern).test(agent) && casePatterns.some((p) => toRe(p).test(id))) return true;
  }
  return false;
}
