// Statistics over the runs of one contestant in one scenario, and the ratios
// and target verdicts computed from them. No I/O: report.mjs and the tests
// feed it plain objects.

export const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
};

/**
 * Summary of runs ({ value, noisy, limited, errors }). The statistics use the
 * runs that had the machine to themselves when there are any (a busy
 * neighbour only ever slows a run down); errors count every run.
 */
export function summarize(runs, failures = 0) {
  if (!runs.length) return null;
  const quiet = runs.filter((r) => !r.noisy);
  const used = quiet.length ? quiet : runs;
  const values = used.map((r) => r.value);
  return {
    median: median(values),
    min: Math.min(...values),
    max: Math.max(...values),
    runsUsed: used.length,
    runsTotal: runs.length,
    allNoisy: quiet.length === 0,
    limited: used.filter((r) => r.limited).length,
    errors: runs.reduce((n, r) => n + (r.errors ?? 0), 0),
    failures,
  };
}

/** "× better than the baseline": rates contestant ÷ baseline, memory baseline ÷ contestant. */
export function advantage(value, baselineValue, better) {
  if (!(value > 0) || !(baselineValue > 0)) return null;
  return better === 'lower' ? baselineValue / value : value / baselineValue;
}

/** true when every part is true, false when any is false, else null (not settled). */
const all = (parts) => (parts.includes(false) ? false : parts.includes(null) ? null : true);

/**
 * Verdict on one target given the scenario results
 * ({ id, better, unit, summary: { name: summary } }) and, for targets with
 * `reference`, the reference run ({ scenarios: { id: summary } }). Returns
 * { achieved, met, note, bound }: met is null when a needed result is
 * missing or when the load generator saturated so the ratio cannot decide
 * (bound 'floor': the contestant's rate is at least what was measured;
 * 'ceiling': the baseline's is, so the ratio is at most `achieved`).
 */
export function judge(target, result, reference = null) {
  const own = result?.summary?.[target.contestant];
  const base = !target.baseline ? null : target.reference ? reference?.scenarios?.[result?.id] : result?.summary?.[target.baseline];
  if (!own) return { achieved: null, met: null, note: `no result for ${target.contestant}`, bound: null };
  if (target.baseline && !base) {
    return {
      achieved: null,
      met: null,
      note: target.reference ? `no reference figure for ${result.id}) in the reference run` : `no result for ${target.baseline}`,
      bound: null,
    };
  }
  const achieved = base ? advantage(own.median, base.median, result.better) : null;
  const parts = [];
  const notes = [];
  // Figures from another machine or Node show the size of a difference, never a verdict.
  if (target.reference && reference.mismatch) {
    parts.push(null);
    notes.push(`reference from another setup: ${reference.mismatch}`);
  }
  let bound = null;
  if (target.min !== undefined) {
    const ownFloor = own.limited > 0;
    const baseFloor = base.limited > 0;
    const ok = achieved !== null && achieved >= target.min;
    bound = ownFloor && baseFloor ? 'both' : ownFloor ? 'floor' : baseFloor ? 'ceiling' : null;
    // A floor can still prove a target met, a ceiling prove it missed; two floors prove nothing.
    const settled = bound === null || (bound === 'floor' && ok) || (bound === 'ceiling' && !ok);
    parts.push(settled ? ok : null);
    if (ownFloor) notes.push(`${target.contestant}: load generator above 90 %, a floor`);
    if (baseFloor) notes.push(`${target.reference ? 'reference' : target.baseline}: load generator above 90 %, a floor`);
  }
  if (target.maxValue !== undefined) {
    const ok = own.median <= target.maxValue;
    parts.push(ok);
    notes.push(`${own.median.toFixed(2)} ${result.unit}${ok ? '' : ` > ${target.maxValue}`}`);
  }
  if (target.ahead) {
    const rival = result.summary[target.ahead];
    if (rival) {
      const ok = advantage(own.median, rival.median, result.better) > 1;
      parts.push(ok);
      notes.push(`${ok ? 'ahead of' : 'behind'} ${target.ahead}`);
    } else {
      notes.push(`${target.ahead} did not run`);
    }
  }
  // A reference from another setup withholds the verdict whatever the parts say (a miss there is no miss here).
  const met = target.reference && reference.mismatch ? null : all(parts);
  return { achieved, met, note: notes.join(', '), bound };
}
