// The bar chart of the ratios, hand-written SVG (no dependencies): one group
// per scenario, one bar per contestant, on a log scale around 1× = ws +
// bufferutil, so "twice as fast" and "half as fast" are the same height up
// and down. Bars grow from the 1× line; each target is a dark tick over the
// bar it applies to, at the level this run asks of it (× uWebSockets.js: at
// uWS's bar; a reference-run target is in the tables only).
import { CONTESTANTS, BASELINE } from './contestants.mjs';
import { presentContestants, targetRatio, targetRows } from './report.mjs';

const COLORS = {
  wsbolt: '#e8590c',
  'wsbolt-dc': '#d9480f',
  'wsbolt-stream': '#f08c00',
  'wsbolt-js': '#fab005',
  'wsbolt-ws': '#ff922b',
  ws: '#1c7ed6',
  'ws-js': '#74c0fc',
  uws: '#2f9e44',
  bun: '#9c36b5',
  'node-net': '#868e96',
};
const LABELS = Object.fromEntries(CONTESTANTS.map((c) => [c.name, c.label]));

const esc = (s) => String(s).replace(/[&<>"]/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;' })[c]);
const num = (x) => Math.round(x * 10) / 10;
const ratioText = (x) => (x >= 10 ? x.toFixed(0) : x >= 1 ? x.toFixed(1) : x.toFixed(2));

const TARGET_LEGEND = 'target (issues 6, 17)';

/** The legend (contestants, then the target tick) in rows no wider than `width`: { lines, rows }. */
function legendSvg(names, { x, y, width }) {
  const items = [...names.map((n) => ({ text: LABELS[n] ?? n, color: COLORS[n] ?? '#888' })), { text: TARGET_LEGEND }];
  const itemWidth = (item) => 22 + 6.2 * item.text.length;
  const rows = [];
  for (const item of items) {
    const row = rows.at(-1);
    if (row && row.width + itemWidth(item) <= width) {
      row.items.push(item);
      row.width += itemWidth(item);
    } else {
      rows.push({ items: [item], width: itemWidth(item) });
    }
  }
  const lines = [];
  rows.forEach((row, i) => {
    const ly = y + 18 * i;
    let lx = x;
    for (const item of row.items) {
      if (item.color) lines.push(`<rect x="${lx}" y="${ly - 9}" width="10" height="10" fill="${item.color}"/>`);
      else lines.push(`<line x1="${lx}" x2="${lx + 10}" y1="${ly - 4}" y2="${ly - 4}" stroke="#c92a2a" stroke-width="2.5"/>`);
      lines.push(`<text x="${lx + 14}" y="${ly}">${esc(item.text)}</text>`);
      lx += itemWidth(item);
    }
  });
  return { lines, rows: rows.length };
}

/** SVG text of the chart for the scenario results; `caption` goes under the title. */
export function chartSvg(results, { caption = '' } = {}) {
  const names = presentContestants(results);
  const byId = Object.fromEntries(results.map((r) => [r.id, r]));
  const targets = targetRows(results)
    .map((t) => ({ ...t, level: targetRatio(t, byId[t.scenario]) }))
    .filter((t) => t.level !== null);
  const bar = 16;
  const gap = 28;
  const group = names.length * bar + gap;
  const left = 56;
  const top = 58;
  const plotH = 300;
  const width = left + Math.max(1, results.length) * group + 16;
  const legendY = top + plotH + 50;
  const legend = legendSvg(names, { x: left, y: legendY, width: width - left - 16 });
  const height = legendY + 18 * legend.rows + 6;

  // The scale covers every ratio and every target (with room for labels), its
  // ends on the 1-2-5 steps the grid uses.
  const values = results.flatMap((r) => Object.values(r.ratios).filter((x) => x > 0));
  const wanted = targets.map((t) => t.level);
  const steps = (v) => [1, 2, 5].map((m) => m * 10 ** Math.floor(Math.log10(v)));
  const top125 = (v) => [...steps(v), 10 ** Math.ceil(Math.log10(v))].find((s) => s >= v);
  const bottom125 = (v) => [...steps(v)].reverse().find((s) => s <= v);
  const lo = bottom125(Math.min(0.5, ...values) / 1.25);
  const hi = top125(Math.max(2, ...values, ...wanted) * 1.25);
  const y = (v) => top + plotH * (1 - (Math.log10(v) - Math.log10(lo)) / (Math.log10(hi) - Math.log10(lo)));

  const out = [];
  out.push(
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="sans-serif" font-size="11">`,
    `<rect width="100%" height="100%" fill="#fff"/>`,
    `<text x="${left}" y="20" font-size="14" font-weight="bold">× ${esc(LABELS[BASELINE])} (log scale; memory: ws ÷ contestant; higher is better)</text>`,
    `<text x="${left}" y="38" fill="#555">${esc(caption)}</text>`,
  );
  // Decade grid lines with labels, and intermediate 2× and 5× ticks.
  for (let d = 10 ** Math.floor(Math.log10(lo) + 1e-9); d <= hi * 1.001; d *= 10) {
    for (const m of [1, 2, 5]) {
      const v = d * m;
      if (v < lo * 0.999) continue;
      if (v > hi * 1.001) break;
      const yy = num(y(v));
      const major = m === 1;
      out.push(
        `<line x1="${left}" x2="${width - 16}" y1="${yy}" y2="${yy}" stroke="${v === 1 ? '#333' : major ? '#ccc' : '#eee'}"${v === 1 ? ' stroke-width="1.5"' : ''}/>`,
      );
      out.push(`<text x="${left - 6}" y="${yy + 4}" text-anchor="end" fill="${major ? '#333' : '#999'}">${ratioText(v)}×</text>`);
    }
  }
  results.forEach((r, gi) => {
    const x0 = left + gi * group + gap / 2;
    names.forEach((n, bi) => {
      const ratio = r.ratios[n];
      const x = x0 + bi * bar;
      if (!(ratio > 0)) return;
      const y1 = y(ratio);
      const base = y(1);
      const yTop = Math.min(y1, base);
      const h = Math.max(1, Math.abs(y1 - base));
      out.push(
        `<rect x="${num(x + 1)}" y="${num(yTop)}" width="${bar - 2}" height="${num(h)}" fill="${COLORS[n] ?? '#888'}"><title>${esc(LABELS[n] ?? n)}: ${ratioText(ratio)}×</title></rect>`,
      );
      if (n !== BASELINE) {
        const ty = ratio >= 1 ? yTop - 3 : yTop + h + 9;
        out.push(`<text x="${num(x + bar / 2)}" y="${num(ty)}" text-anchor="middle" font-size="8" fill="#333">${ratioText(ratio)}</text>`);
      }
    });
    for (const t of targets.filter((t) => t.scenario === r.id)) {
      const bi = names.indexOf(t.contestant);
      if (bi < 0) continue;
      const x = x0 + bi * bar;
      const yy = num(y(t.level));
      out.push(
        `<line x1="${num(x - 2)}" x2="${num(x + bar + 2)}" y1="${yy}" y2="${yy}" stroke="#c92a2a" stroke-width="2.5"><title>target ${esc(t.text)}</title></line>`,
      );
    }
    out.push(`<text x="${num(x0 + (names.length * bar) / 2)}" y="${top + plotH + 18}" text-anchor="middle">${esc(`${r.id}) ${r.name}`)}</text>`);
  });
  out.push(...legend.lines);
  out.push('</svg>');
  return `${out.join('\n')}\n`;
}
