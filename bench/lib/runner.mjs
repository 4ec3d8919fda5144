// Runs one scenario: ROUNDS rounds, every contestant once per round, in turn
// (round 1: A, B, C; round 2: A, B, C; ...) so drift — thermal, noisy
// neighbours — hits all of them alike. Each run gets a fresh server and, when
// QUIET_WAIT allows, a quiet machine first. Prints one line per run and
// returns the scenario's result: raw runs, summaries and ratios to ws.
import { BASELINE } from './contestants.mjs';
import { measure, NOISY_CPU } from './measure.mjs';
import { waitForQuiet } from './proc.mjs';
import { advantage, summarize } from './stats.mjs';

const fmt = (n, unit) => (unit === 'KB/conn' ? n.toFixed(2) : Math.round(n).toLocaleString('en-US'));
const pct = (n) => (n === null || n === undefined || Number.isNaN(n) ? 'n/a' : `${Math.round(n)} %`);

function runLine(scenario, run) {
  if (scenario.load.mode === 'idle') {
    const mib = (b) => (b / 1048576).toFixed(1);
    return `${fmt(run.value, scenario.unit).padStart(8)} KB/conn  RSS ${mib(run.rssBefore)} → ${mib(run.rssAfter)} MiB  ${run.conns} conns`;
  }
  const mib = scenario.load.mode === 'echo' && !scenario.load.deflate ? `  ${run.mibPerSec.toFixed(1).padStart(7)} MiB/s` : '';
  return (
    `${fmt(run.value, scenario.unit).padStart(11)} ${scenario.unit}${mib}  loadgen CPU ${pct(run.loadgenCpu)}  ` +
    `server CPU ${pct(run.serverCpu)}  other CPU ${pct(run.otherCpu)}`
  );
}

/**
 * opts: { rounds, duration, warmup, quietWait, conns (idle), log }.
 * Returns { id, name, title, unit, better, load, contestants, summary, ratios, trouble }.
 */
export async function runScenario(scenario, list, opts) {
  const log = opts.log ?? console.log;
  const per = Object.fromEntries(
    list.map((c) => [
      c.name,
      { label: c.label, expect: c.expect, backend: null, expectTransport: c.transport ?? null, transport: null, version: c.version, runs: [], failures: [] },
    ]),
  );
  let trouble = false;
  for (let round = 1; round <= opts.rounds; round++) {
    for (const contestant of list) {
      const r = per[contestant.name];
      const label = `${scenario.id}) round ${round}  ${contestant.name.padEnd(9)}`;
      if (opts.quietWait > 0 && scenario.load.mode !== 'idle') {
        const waited = await waitForQuiet(opts.quietWait, NOISY_CPU);
        if (waited < 0) log(`${label} (machine still busy after ${opts.quietWait} s: running anyway)`);
        else if (waited >= 1) log(`${label} (waited ${Math.round(waited)} s for a quiet machine)`);
      }
      const run = await measure(contestant, scenario, opts);
      if (run.backend) r.backend = run.backend;
      if (run.transport) r.transport = run.transport;
      const wrongBackend = contestant.expect && run.backend && run.backend !== contestant.expect;
      const wrongTransport = contestant.transport && run.transport && run.transport !== contestant.transport;
      if (run.failure) {
        r.failures.push(run.failure);
        trouble = true;
        log(`${label} FAILED: ${run.failure}`);
        continue;
      }
      const { diag, ...raw } = run;
      r.runs.push({ round, ...raw });
      if (run.errors) trouble = true;
      const errs = run.errors ? `  ERRORS ${run.errors} ${JSON.stringify(run.errorKinds)}` : '';
      log(
        `${label} ${runLine(scenario, run)}${errs}` +
          `${run.limited ? '  [limited by the load generator]' : ''}${run.noisy ? '  [machine busy with other work]' : ''}` +
          `${wrongBackend ? `  [backend ${run.backend}, expected ${contestant.expect}]` : ''}` +
          `${wrongTransport ? `  [transport ${run.transport}, expected ${contestant.transport}]` : ''}`,
      );
      for (const l of diag ?? []) log(`    ${l}`);
    }
  }
  const summary = {};
  for (const [name, r] of Object.entries(per)) {
    const s = summarize(r.runs, r.failures.length);
    if (s) summary[name] = s;
  }
  const base = summary[BASELINE];
  const ratios = {};
  for (const [name, s] of Object.entries(summary)) ratios[name] = base ? advantage(s.median, base.median, scenario.better) : null;
  const { deflateFile: _deflateFile, ...load } = scenario.load; // a path on this machine: not part of the result
  return {
    id: scenario.id,
    name: scenario.name,
    title: scenario.title,
    unit: scenario.unit,
    better: scenario.better,
    load,
    contestants: per,
    summary,
    ratios,
    trouble,
  };
}
