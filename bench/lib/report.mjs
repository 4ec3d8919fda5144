// Text output of the benchmarks: the per-scenario table printed after each
// scenario, the overview (medians and ratios for every scenario), the targets
// table, the machine description, and the JSON document written to
// bench/results/. Pure functions of the results, except machine().
import { cpus, release, totalmem, type } from 'node:os';
import { CONTESTANTS, BASELINE } from './contestants.mjs';
import { judge } from './stats.mjs';
import { TARGETS } from './scenarios.mjs';

const LABELS = Object.fromEntries(CONTESTANTS.map((c) => [c.name, c.label]));
const label = (name) => LABELS[name] ?? name;

/** Compact numbers for tables: 1.23M, 113k, 8.9k, 950; memory with two decimals. */
export function short(value, unit) {
  if (value === null || value === undefined || Number.isNaN(value)) return 'n/a';
  if (unit === 'KB/conn') return value.toFixed(2);
  if (value >= 1e6) return `${(value / 1e6).toFixed(2)}M`;
  if (value >= 1e4) return `${Math.round(value / 1e3)}k`;
  if (value >= 1e3) return `${(value / 1e3).toFixed(2)}k`;
  return value >= 100 ? String(Math.round(value)) : value.toFixed(1);
}
const times = (x) => (x === null || x === undefined ? 'n/a' : `${x >= 10 ? x.toFixed(1) : x.toFixed(2)}×`);

/** The machine a run came from. */
export function machine({ taskset }) {
  const cpu = cpus();
  return {
    cpu: cpu[0]?.model ?? 'unknown',
    cores: cpu.length,
    memoryGiB: Math.round(totalmem() / 2 ** 30),
    os: `${type()} ${release()}`,
    node: process.version,
    date: new Date().toISOString(),
    pinned: taskset ? 'server on CPU 0, load generator on CPU 1 (taskset)' : 'not pinned (no taskset)',
  };
}

/** Contestant names present in any result, in the canonical order. */
export function presentContestants(results) {
  const seen = new Set(results.flatMap((r) => Object.keys(r.contestants)));
  return CONTESTANTS.map((c) => c.name).filter((n) => seen.has(n));
}

/** The table printed after a scenario: every contestant, median, min–max, CPU, errors, ratio. */
export function scenarioTable(result) {
  // Bytes per second say something only for plain echo (compressed sizes are the server's choice).
  const mib = result.load.mode === 'echo' && !result.load.deflate;
  const rows = [
    `| contestant | median ${result.unit} | min–max |${mib ? ' MiB/s |' : ''} loadgen CPU % | server CPU % | runs used | errors | × ws${result.better === 'lower' ? ' (ws ÷ it)' : ''} |`,
    `|---|---:|---:|${mib ? '---:|' : ''}---:|---:|---:|---:|---:|`,
  ];
  for (const [name, c] of Object.entries(result.contestants)) {
    const s = result.summary[name];
    const who = `${label(name)}${c.backend ? ` [${c.backend}]` : ''}`;
    if (!s) {
      rows.push(`| ${who} | failed | |${mib ? ' |' : ''} | | | ${c.failures.length} failed runs | |`);
      continue;
    }
    const used = c.runs.filter((r) => !r.noisy || s.allNoisy);
    const med = (k) => {
      const xs = used.map((r) => r[k]).filter((x) => typeof x === 'number');
      return xs.length ? Math.round(xs.sort((a, b) => a - b)[xs.length >> 1]) : 'n/a';
    };
    const flag = s.limited ? ` ⚠ ${s.limited} limited` : '';
    rows.push(
      `| ${who} | ${short(s.median, result.unit)} | ${short(s.min, result.unit)}–${short(s.max, result.unit)} | ` +
        `${mib ? `${med('mibPerSec')} | ` : ''}` +
        `${med('loadgenCpu')}${flag} | ${med('serverCpu')} | ${s.runsUsed} of ${s.runsTotal}${s.allNoisy ? ' (busy)' : ''} | ` +
        `${s.errors}${s.failures ? ` (+${s.failures} failed)` : ''} | ${times(result.ratios[name])} |`,
    );
  }
  return rows.join('\n');
}

/**
 * Every scenario in one table: a row per scenario, a column per contestant,
 * "median (× ws)" in each cell. Marks: ¹ load generator above 90 % of its
 * core in some run, ² only runs on a busy machine, ³ errors or failed runs.
 */
export function overviewTable(results) {
  const names = presentContestants(results);
  const rows = [
    `| scenario | unit | ${names.map(label).join(' | ')} |`,
    `|---|---|${names.map(() => '---:').join('|')}|`,
  ];
  let marks = false;
  for (const r of results) {
    const cells = names.map((n) => {
      const s = r.summary[n];
      if (!s) return r.contestants[n] ? 'failed' : '—';
      const m = `${s.limited ? '¹' : ''}${s.allNoisy ? '²' : ''}${s.errors || s.failures ? '³' : ''}`;
      marks ||= m !== '';
      return n === BASELINE ? `${short(s.median, r.unit)}${m}` : `${short(s.median, r.unit)} (${times(r.ratios[n])})${m}`;
    });
    rows.push(`| ${r.id}) ${r.title} | ${r.unit}${r.better === 'lower' ? ' (lower is better)' : ''} | ${cells.join(' | ')} |`);
  }
  let text = rows.join('\n');
  text += `\n\nMedians; in brackets × ${label(BASELINE)} (memory: ws ÷ contestant, so higher is better everywhere).`;
  if (marks) text += ' ¹ load generator above 90 % of its core in some run (a floor, not the server\'s rate); ² only runs on a busy machine; ³ errors or failed runs.';
  return text;
}

/** The targets of issue 6 with what this run achieved. */
export function targetRows(results) {
  const byId = Object.fromEntries(results.map((r) => [r.id, r]));
  return TARGETS.filter((t) => byId[t.scenario]).map((t) => ({ ...t, ...judge(t, byId[t.scenario]), title: byId[t.scenario].title }));
}

export function targetsTable(results) {
  const rows = ['| scenario | contestant | target | achieved | |', '|---|---|---|---:|---|'];
  for (const t of targetRows(results)) {
    const verdict = t.met === null ? 'n/a' : t.met ? 'met' : 'missed';
    rows.push(
      `| ${t.scenario}) ${t.title} | ${label(t.contestant)} vs ${label(t.baseline)} | ${t.text} | ` +
        `${times(t.achieved)}${t.note ? ` (${t.note})` : ''} | ${verdict} |`,
    );
  }
  return rows.join('\n');
}

export const machineLine = (m, bun) =>
  `${m.cpu}, ${m.cores} cores, ${m.os}, Node ${m.node}${bun ? `, ${bun}` : ''}; ${m.pinned}; ${m.date.slice(0, 10)}`;

/** The JSON document: settings, machine, and per scenario the raw runs, summaries, ratios and targets. */
export function resultDocument({ results, settings, machine: m, skipped, wallSeconds, bun }) {
  return {
    generator: 'wsbolt bench/suite.mjs',
    machine: m,
    bun: bun ?? null,
    settings,
    skipped,
    wallSeconds,
    baseline: BASELINE,
    scenarios: results.map(({ trouble, ...r }) => r),
    targets: targetRows(results).map(({ scenario, contestant, baseline, text, achieved, met, note }) => ({
      scenario,
      contestant,
      baseline,
      target: text,
      achieved,
      met,
      note,
    })),
  };
}
