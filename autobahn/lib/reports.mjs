/** Writes all reports for a set of case results into outdir (JSON first: index.html reads the merged index). */
import { writeCaseHtml, writeIndexHtml } from './report-html.mjs';
import { writeJsonReports } from './report-json.mjs';

/**
 * @param {string} outdir e.g. autobahn/reports/servers
 * @param {object[]} results case records of one or more agents
 * @param {object} [opts] { title, mode } for index.html
 * @returns {object} the merged index (agent → id → entry)
 */
export function writeReports(outdir, results, opts = {}) {
  const index = writeJsonReports(outdir, results);
  for (const r of results) writeCaseHtml(outdir, r);
  writeIndexHtml(outdir, index, opts);
  return index;
}
