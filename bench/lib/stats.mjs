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

/**
 * Verdict on one target given the scenario results
 * ({ better, summary: { name: summary } }). Returns { achieved, met, note }
 * where met is null when a needed contestant has no result.
 */
export function judge(target, result) {
  const own = result?.summary?.[target.contestant];
  const base = result?.summary?.[target.baseline];
  if (!own || !base) return { achieved: null, met: null, note: `no result for ${!own ? target.contestant : target.baseline}` };
  const achieved = advantage(own.median, base.median, result.better);
  let met = achieved !== null && achieved >= target.min;
  const notes = [];
  if (target.maxValue !== undefined) {
    const ok = own.median <= target.maxValue;
    met &&= ok;
    notes.push(`${own.median.toFixed(2)} ${result.unit}${ok ? '' : ` > ${target.maxValue}`}`);
  }
  if (target.ahead) {
    const rival = result.summary[target.ahead];
    if (rival) {
      const ok = advantage(own.median, rival.median, result.better) > 1;
      met &&= ok;
      notes.push(`${ok ? 'ahead of' : 'behind'} ${target.ahead}`);
    } else {
      notes.push(`${target.ahead} did not run`);
    }
  }
  return { achieved, met, note: notes.join(', ') };
}
