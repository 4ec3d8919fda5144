/**
 * JSON reports in Autobahn's layout: <outdir>/index.json maps
 * agent → case id → {behavior, behaviorClose, duration, remoteCloseCode,
 * reportfile}, and each reportfile holds the full case record. Agents already
 * in an existing index.json are kept, so runs for several agents accumulate
 * as they do on one long-running fuzzing server.
 */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

/** Autobahn's cleanForFilename: lower case, [a-z0-9] kept, the rest becomes "_". */
export function cleanForFilename(s) {
  const kept = [...s.trim().toLowerCase()].map((c) => (/[a-z0-9]/.test(c) ? c : ' ')).join('');
  return kept.trim().replaceAll(' ', '_');
}

export function reportFilename(agent, id, ext) {
  return `${cleanForFilename(agent)}_case_${id.replaceAll('.', '_')}.${ext}`;
}

/** Python's json.dumps(sort_keys=True, indent=3): keys sorted as strings. */
function sortedJson(value) {
  const sortDeep = (v) => {
    if (Array.isArray(v)) return v.map(sortDeep);
    if (v && typeof v === 'object')
      return Object.fromEntries(
        Object.keys(v)
          .sort()
          .map((k) => [k, sortDeep(v[k])]),
      );
    return v;
  };
  return JSON.stringify(sortDeep(value), null, 3);
}

export function readIndex(outdir) {
  try {
    return JSON.parse(readFileSync(join(outdir, 'index.json'), 'utf8'));
  } catch {
    return {};
  }
}

/**
 * Writes the case files of `results` and merges them into index.json.
 * @param {string} outdir
 * @param {object[]} results case records (results.mjs)
 * @returns {object} the merged index
 */
export function writeJsonReports(outdir, results) {
  mkdirSync(outdir, { recursive: true });
  const index = readIndex(outdir);
  const agentsHere = new Set(results.map((r) => r.agent));
  for (const agent of agentsHere) index[agent] = {};
  for (const r of results) {
    const reportfile = reportFilename(r.agent, r.id, 'json');
    index[r.agent][r.id] = {
      behavior: r.behavior,
      behaviorClose: r.behaviorClose,
      duration: r.duration,
      remoteCloseCode: r.remoteCloseCode,
      reportfile,
    };
    writeFileSync(join(outdir, reportfile), sortedJson(r));
  }
  writeFileSync(join(outdir, 'index.json'), sortedJson(index));
  return index;
}
