#!/usr/bin/env node
/**
 * The in-repo harness driven by the official spec files, like the real
 * wstest:
 *   node autobahn/wstest.mjs --mode fuzzingclient --spec autobahn/fuzzingclient.json
 *   node autobahn/wstest.mjs --mode fuzzingserver --spec autobahn/fuzzingserver.json
 * fuzzingclient runs the spec's cases against every server in "servers"
 * (which must be listening) and exits; fuzzingserver listens on the spec's
 * url until interrupted, writing reports whenever a client calls
 * /updateReports. Reports go to --outdir (default autobahn/reports/servers or
 * /clients; the spec's "outdir" is the container path used by run-docker.sh).
 */
import { join } from 'node:path';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { isExcludedForAgent, selectCases } from './lib/catalogue.mjs';
import { runFuzzingClient } from './lib/fuzzing-client.mjs';
import { startFuzzingServer } from './lib/fuzzing-server.mjs';
import { writeReports } from './lib/reports.mjs';

const HERE = fileURLToPath(new URL('.', import.meta.url));
const { values } = parseArgs({ options: { mode: { type: 'string', short: 'm' }, spec: { type: 'string', short: 's' }, outdir: { type: 'string' } } });
if (!['fuzzingclient', 'fuzzingserver'].includes(values.mode) || !values.spec) {
  console.error('usage: node autobahn/wstest.mjs --mode fuzzingclient|fuzzingserver --spec <spec.json> [--outdir dir]');
  process.exit(2);
}
const spec = JSON.parse(readFileSync(values.spec, 'utf8'));
const caseIds = selectCases({ cases: spec.cases ?? ['*'], excludeCases: spec['exclude-cases'] ?? [] });
const excluded = (agent, id) => isExcludedForAgent(spec['exclude-agent-cases'], agent, id);

if (values.mode === 'fuzzingclient') {
  const outdir = values.outdir ?? join(HERE, 'reports', 'servers');
  const results = [];
  for (const server of spec.servers ?? []) {
    console.log(`${server.agent ?? server.url}: ${caseIds.length} cases`);
    const ids = server.agent ? caseIds.filter((id) => !excluded(server.agent, id)) : caseIds;
    results.push(...(await runFuzzingClient({ url: server.url, agent: server.agent, caseIds: ids })));
  }
  writeReports(outdir, results, { mode: 'testing servers' });
  console.log(`reports: ${join(outdir, 'index.html')}`);
} else {
  const outdir = values.outdir ?? join(HERE, 'reports', 'clients');
  const url = new URL(spec.url ?? 'ws://127.0.0.1:9001');
  const results = [];
  const server = await startFuzzingServer({
    caseIds,
    host: url.hostname,
    port: Number(url.port || 80),
    isExcluded: excluded,
    onResult: (r) => results.push(r),
    onUpdateReports: () => {
      writeReports(outdir, results.splice(0), { mode: 'testing clients' });
      console.log(`reports: ${join(outdir, 'index.html')}`);
    },
  });
  console.log(`fuzzing server on ${server.url}: ${caseIds.length} cases for any client connecting`);
  process.on('SIGINT', () => server.close().then(() => process.exit(0)));
}
