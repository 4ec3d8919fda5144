// Text output of the benchmarks: the per-scenario table printed after each
// scenario, the overview (medians and ratios for every scenario), the targets
// table, the machine description, and the JSON document written to
// bench/results/. Pure functions of the results, except machine().
import { cpus, release, totalmem, type } from 'node:os';
import { CONTESTANTS, BASELINE } from './contestants.mjs';
import { advantage, judge } from './stats.mjs';
import { TARGETS } from './scenarios.mjs';

const LABELS = Object.fromEntries(CONTESTANTS.map((c) => [c.name, c.label]));
const label = (name) => LABELS[name] ?? name;
/** issue 17's yardstick: its own column in the scenario tables when it ran. */
const YARDSTICK = 'uws';

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

/** "[backend, transport]" as the server reported them, with what was expected when that differs. */
function reportedAs(c) {
  const parts = [];
  if (c.backend) parts.push(c.expect && c.backend !== c.expect ? `${c.backend}, expected ${c.expect}` : c.backend);
  if (c.transport) parts.push(`${c.transport} transport${c.expectTransport && c.transport !== c.expectTransport ? `, expected ${c.expectTransport}` : ''}`);
  return parts.length ? ` [${parts.join('; ')}]` : '';
}

/** The table printed after a scenario: every contestant, median, min–max, CPU, errors, ratios to ws (and to uWS when it ran). */
export function scenarioTable(result) {
  // Bytes per second say something only for plain echo (compressed sizes are the server's choice).
  const mib = result.load.mode === 'echo' && !result.load.deflate;
  const ref = result.summary[YARDSTICK];
  const rows = [
    `| contestant | median ${result.unit} | min–max |${mib ? ' MiB/s |' : ''} loadgen CPU % | server CPU % | runs used | errors | × ws${result.better === 'lower' ? ' (ws ÷ it)' : ''} |${ref ? ` × ${label(YARDSTICK)} |` : ''}`,
    `|---|---:|---:|${mib ? '---:|' : ''}---:|---:|---:|---:|---:|${ref ? '---:|' : ''}`,
  ];
  for (const [name, c] of Object.entries(result.contestants)) {
    const s = result.summary[name];
    const who = `${label(name)}${reportedAs(c)}`;
    if (!s) {
      rows.push(`| ${who} | failed | |${mib ? ' |' : ''} | | | ${c.failures.length} failed runs | |${ref ? ' |' : ''}`);
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
        `${s.errors}${s.failures ? ` (+${s.failures} failed)` : ''} | ${times(result.ratios[name])} |` +
        `${ref ? ` ${times(advantage(s.median, ref.median, result.better))} |` : ''}`,
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
  const rows = [`| scenario | unit | ${names.map(label).join(' | ')} |`, `|---|---|${names.map(() => '---:').join('|')}|`];
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
  if (marks)
    text += " ¹ load generator above 90 % of its core in some run (a floor, not the server's rate); ² only runs on a busy machine; ³ errors or failed runs.";
  return text;
}

/** The targets of issues 6 and 17 with what this run achieved (`reference`: see reference.mjs). */
export function targetRows(results, reference = null) {
  const byId = Object.fromEntries(results.map((r) => [r.id, r]));
  return TARGETS.filter((t) => byId[t.scenario]).map((t) => ({ ...t, ...judge(t, byId[t.scenario], reference), title: byId[t.scenario].title }));
}

/**
 * Where a target lies on the chart's scale (× ws, memory inverted), from this
 * run alone; null when it cannot be drawn (a reference-run target, or a
 * baseline that did not run).
 */
export function targetRatio(t, result) {
  if (t.reference) return null;
  const levels = [];
  if (t.min !== undefined) {
    const base = t.baseline === BASELINE ? 1 : result.ratios[t.baseline];
    if (!(base > 0)) return null;
    levels.push(t.min * base);
  }
  const ws = result.summary[BASELINE];
  if (t.maxValue !== undefined && ws) levels.push(advantage(t.maxValue, ws.median, result.better));
  const drawable = levels.filter((x) => x > 0);
  return drawable.length ? Math.max(...drawable) : null;
}

const boundText = { floor: '≥ ', ceiling: '≤ ', both: '~' };
const verdict = (t) => (t.met === true ? 'met' : t.met === false ? 'missed' : t.bound ? 'not settled (load generator limited)' : 'n/a');
const against = (t, reference) =>
  !t.baseline ? '' : t.reference ? ` vs ${t.baseline}, run of ${reference?.machine?.date?.slice(0, 10) ?? '(none)'}` : ` vs ${label(t.baseline)}`;

export function targetsTable(results, reference = null) {
  const rows = ['| issue | scenario | contestant | target | achieved | |', '|---:|---|---|---|---:|---|'];
  for (const t of targetRows(results, reference)) {
    const achieved = t.achieved === null ? t.note : `${boundText[t.bound] ?? ''}${times(t.achieved)}${t.note ? ` (${t.note})` : ''}`;
    rows.push(`| ${t.issue} | ${t.scenario}) ${t.title} | ${label(t.contestant)}${against(t, reference)} | ${t.text} | ${achieved} | ${verdict(t)} |`);
  }
  return rows.join('\n');
}

export const machineLine = (m, bun) => `${m.cpu}, ${m.cores} cores, ${m.os}, Node ${m.node}${bun ? `, ${bun}` : ''}; ${m.pinned}; ${m.date.slice(0, 10)}`;

/** The JSON document: settings, machine, and per scenario the raw runs, summaries, ratios and targets. */
export function resultDocument({ results, settings, machine: m, skipped, wallSeconds, bun, reference = null }) {
  return {
    generator: 'wsbolt bench/suite.mjs',
    machine: m,
    bun: bun ?? null,
    settings,
    skipped,
    wallSeconds,
    baseline: BASELINE,
    scenarios: results.map(({ trouble: _trouble, ...r }) => r),
    reference,
    targets: targetRows(results, reference).map(({ issue, scenario, contestant, baseline, reference: old, text, achieved, met, note, bound }) => ({
      issue,
      scenario,
      contestant,
      baseline: old ? `${baseline} (reference run)` : baseline,
      target: text,
      achieved,
      met,
      bound,
      note,
    })),
  };
}
