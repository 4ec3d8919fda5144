#!/usr/bin/env node
/**
 * npm run autobahn: the conformance run. For each mode (server: the harness
 * is the fuzzing client and tests testee-server.mjs; client: the harness is
 * the fuzzing server and tests testee-client.mjs) and each variant (native:
 * the addon's kernels and its transport; stream: the addon's kernels over
 * Node's streams, WSBOLT_TRANSPORT=stream; fallback: the TypeScript fallback,
 * WSBOLT_NO_NATIVE=1), it runs the selected
 * cases, writes reports/servers and reports/clients (index.json, index.html,
 * one JSON and one HTML page per case), prints the verdict table, and exits
 * non-zero if any case is below OK (lib/verdicts.mjs has the rules).
 *
 * Options:
 *   --sections 1-7,9,10   sections, ranges or case patterns (9.3.*, 6.4.1); default 1-7,9,10
 *   --mode server|client|both   which side to test; default both
 *   --testee <cmd>        another testee (script path or shell command; needs --mode server or client)
 *   --agent <name>        report name (with several variants, "-native"/"-stream"/"-fallback" is appended)
 *   --variants native,stream,fallback|none   configurations to run; default native,stream,fallback
 *                         (none for a --testee)
 *   --outdir <dir>        default autobahn/reports
 *   --case-timeout <s>    cap every case at s seconds (the cases have their own caps too)
 */
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { CASES_BY_ID, selectCases, sectionsToPatterns } from './lib/catalogue.mjs';
import { runFuzzingClient } from './lib/fuzzing-client.mjs';
import { startFuzzingServer } from './lib/fuzzing-server.mjs';
import { writeReports } from './lib/reports.mjs';
import { freePort, startTestee, stopTestee, waitReady } from './lib/testee.mjs';
import { formatTable, summarize } from './lib/verdicts.mjs';

const HERE = fileURLToPath(new URL('.', import.meta.url));
const { values } = parseArgs({
  options: {
    sections: { type: 'string', default: '1-7,9,10' },
    mode: { type: 'string', default: 'both' },
    testee: { type: 'string' },
    agent: { type: 'string' },
    variants: { type: 'string' },
    outdir: { type: 'string', default: join(HERE, 'reports') },
    'case-timeout': { type: 'string' },
  },
});

const modes = values.mode === 'both' ? ['server', 'client'] : [values.mode];
if (!modes.every((m) => m === 'server' || m === 'client')) throw new Error(`--mode must be server, client or both (got ${values.mode})`);
if (values.testee && modes.length !== 1) throw new Error('--testee needs --mode server or --mode client');
const variants = (values.variants ?? (values.testee ? 'none' : 'native,stream,fallback')).split(',').map((s) => s.trim());
const caseIds = selectCases({ cases: sectionsToPatterns(values.sections) });
const caseTimeout = values['case-timeout'] ? Number(values['case-timeout']) : undefined;
const ENV = {
  native: { WSBOLT_NO_NATIVE: '', WSBOLT_TRANSPORT: '' },
  stream: { WSBOLT_NO_NATIVE: '', WSBOLT_TRANSPORT: 'stream' },
  fallback: { WSBOLT_NO_NATIVE: '1', WSBOLT_TRANSPORT: '' },
  none: {},
};
const BACKEND = { native: 'native', stream: 'native', fallback: 'js' };
/** What carries the testee's connections (it prints "transport <kind>" at its first one). */
const TRANSPORT = { native: 'native', stream: 'stream', fallback: 'stream' };

function agentName(variant) {
  const base = values.agent ?? (values.testee ? 'testee' : 'wsbolt');
  return variants.length > 1 || !values.agent ? `${base}${variant === 'none' ? '' : `-${variant}`}` : base;
}

const problems = [];
const progress = (agent) => (r, done, total) => {
  const bad = r.behavior !== 'OK' && !['INFORMATIONAL', 'UNIMPLEMENTED'].includes(r.behavior);
  if (bad || (r.behavior === 'OK' && r.behaviorClose !== 'OK'))
    console.log(`  ${agent} ${r.id}: ${r.behavior} / ${r.behaviorClose} (${r.result} | ${r.resultClose})`);
  if (done !== undefined && done % 100 === 0) console.log(`  ${agent}: ${done}/${total}`);
};

/** The harness as fuzzing client against a testee server. */
async function testServer(variant, agent) {
  const port = await freePort();
  const testee = startTestee(values.testee ?? join(HERE, 'testee-server.mjs'), { ...ENV[variant], PORT: String(port) });
  try {
    const ready = await waitReady(testee);
    const [, p, backend] = ready.split(/\s+/);
    checkBackend(variant, backend, agent);
    const url = `ws://127.0.0.1:${/^\d+$/.test(p ?? '') ? p : port}`;
    const results = await runFuzzingClient({ url, agent, caseIds, caseTimeout, onResult: progress(agent) });
    checkTransport(variant, testee.lines, agent);
    return results;
  } finally {
    await stopTestee(testee);
  }
}

/** The harness as fuzzing server for a testee client. */
async function testClient(variant, agent) {
  const results = [];
  const report = progress(agent);
  const server = await startFuzzingServer({ caseIds, caseTimeout, onResult: (r) => (results.push(r), report(r, results.length, caseIds.length)) });
  const testee = startTestee(values.testee ?? join(HERE, 'testee-client.mjs'), { ...ENV[variant], AUTOBAHN_URL: server.url, AGENT: agent });
  // The whole run is bounded: every case's cap, plus slack for connecting.
  const bound = 60_000 + caseIds.reduce((s, id) => s + 1000 * Math.min(CASES_BY_ID.get(id).MAX_SECONDS, caseTimeout ?? Infinity), 0);
  let timer;
  try {
    const code = await Promise.race([testee.exited, new Promise((r) => (timer = setTimeout(() => r('timeout'), bound)))]);
    const backendLine = testee.lines.find((l) => l.startsWith('backend '));
    if (backendLine) checkBackend(variant, backendLine.split(/\s+/)[1], agent);
    checkTransport(variant, testee.lines, agent);
    if (code !== 0)
      problems.push(`${agent}: testee client ${code === 'timeout' ? 'did not finish in time' : `exited with ${code}`}\n${testee.lines.slice(-20).join('\n')}`);
    return results;
  } finally {
    clearTimeout(timer);
    await stopTestee(testee);
    await server.close();
  }
}

function checkBackend(variant, backend, agent) {
  if (values.testee || !BACKEND[variant]) return;
  console.log(`  ${agent}: backend ${backend}`);
  if (backend !== BACKEND[variant]) problems.push(`${agent}: expected the ${BACKEND[variant]} backend, the testee runs ${backend}`);
}

function checkTransport(variant, lines, agent) {
  if (values.testee || !TRANSPORT[variant]) return;
  const transport = lines.find((l) => l.startsWith('transport '))?.split(/\s+/)[1];
  console.log(`  ${agent}: transport ${transport}`);
  if (transport !== TRANSPORT[variant]) problems.push(`${agent}: expected the ${TRANSPORT[variant]} transport, the testee used ${transport}`);
}

let failed = false;
const started = Date.now();
console.log(`autobahn: ${caseIds.length} cases (${values.sections}), modes ${modes.join('+')}, variants ${variants.join('+')}`);
for (const mode of modes) {
  const results = [];
  const agents = [];
  for (const variant of variants) {
    const agent = agentName(variant);
    agents.push(agent);
    const t0 = Date.now();
    console.log(`\n[${mode}] ${agent}`);
    try {
      results.push(...(mode === 'server' ? await testServer(variant, agent) : await testClient(variant, agent)));
    } catch (error) {
      problems.push(`${agent}: ${error.message}`);
    }
    console.log(`  ${agent}: done in ${((Date.now() - t0) / 1000).toFixed(1)} s`);
  }
  const outdir = join(values.outdir, mode === 'server' ? 'servers' : 'clients');
  const index = writeReports(outdir, results, {
    title: `wsbolt ${mode === 'server' ? 'servers' : 'clients'} (Autobahn case catalogue)`,
    mode: `testing the ${mode}`,
  });
  const ours = Object.fromEntries(agents.map((a) => [a, index[a] ?? {}]));
  const summary = summarize(ours, caseIds);
  console.log(`\n${mode === 'server' ? 'Servers' : 'Clients'} — ${join(outdir, 'index.html')}\n${formatTable(summary)}`);
  if (summary.failures.length > 0) {
    failed = true;
    console.log(`\n${summary.failures.length} case(s) not OK:`);
    for (const f of summary.failures) console.log(`  ${f.agent} ${f.id}: ${f.label}`);
  }
}
for (const p of problems) console.log(`\nproblem: ${p}`);
console.log(`\nautobahn: ${failed || problems.length ? 'FAILED' : 'all cases OK'} in ${((Date.now() - started) / 1000).toFixed(1)} s`);
process.exit(failed || problems.length ? 1 : 0);
