/**
 * HTML reports: index.html (verdict summary per section and agent, then the
 * full case × agent table) and one page per agent and case with the
 * description, the expectation, what was observed, the close bookkeeping and
 * the wire log. Everything that came off the wire is escaped; the case texts
 * are the catalogue's own (they contain the suite's <b>/<br> markup).
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { CASES, CASES_BY_ID, CATEGORIES, SUBCATEGORIES, sectionOf, subsectionOf } from './catalogue.mjs';
import { reportFilename } from './report-json.mjs';
import { label, passes, summarize } from './verdicts.mjs';

const esc = (s) => String(s ?? '').replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]);

const CSS = `
body { font-family: system-ui, sans-serif; margin: 1.5em; color: #222; }
table { border-collapse: collapse; margin: 0.5em 0 1.5em; }
td, th { border: 1px solid #ccc; padding: 2px 6px; font-size: 13px; vertical-align: top; }
th { background: #eee; }
.ok { background: #0a0; color: #fff; } .non-strict { background: #9c0; color: #fff; }
.info { background: #49f; color: #fff; } .unimpl { background: #999; color: #fff; }
.failed { background: #d00; color: #fff; } .missing { background: #fc0; }
.ok a, .non-strict a, .info a, .unimpl a, .failed a { color: #fff; }
tr.cat td { background: #333; color: #fff; font-weight: bold; } tr.sub td { background: #ddd; font-style: italic; }
pre { margin: 0; font-size: 12px; white-space: pre-wrap; word-break: break-all; }
.block { background: #f6f6f6; border-left: 4px solid #888; padding: 0.5em 1em; margin: 1em 0; }
.rx { color: #05a; } .tx { color: #a50; } .ev { color: #777; }
`;

function cls(id, entry) {
  if (!entry) return 'missing';
  if (passes(id, entry)) return entry.behavior === 'INFORMATIONAL' ? 'info' : entry.behavior === 'UNIMPLEMENTED' ? 'unimpl' : 'ok';
  return entry.behavior === 'NON-STRICT' ? 'non-strict' : 'failed';
}

const page = (title, body) =>
  `<!DOCTYPE html>\n<html><head><meta charset="utf-8"><title>${esc(title)}</title><style>${CSS}</style></head><body>\n${body}\n</body></html>\n`;

/** index.html over the merged index (every agent reported so far). */
export function writeIndexHtml(outdir, index, { title = 'Autobahn conformance report', mode = '' } = {}) {
  const summary = summarize(index);
  const { agents } = summary;
  let html = `<h1>${esc(title)}</h1>\n<p>Generated ${esc(new Date().toISOString())} by the in-repo harness (Autobahn|Testsuite case catalogue, image 25.10.1)${mode ? `, ${esc(mode)}` : ''}.</p>\n`;
  html += '<h2>Summary</h2>\n<table><tr><th>Section</th>' + agents.map((a) => `<th>${esc(a)}</th>`).join('') + '</tr>\n';
  for (const s of summary.sections) {
    html += `<tr><td>${s} ${esc(CATEGORIES[s] ?? '')}</td>`;
    for (const a of agents) {
      const counts = summary.table.get(a)?.get(s);
      html += `<td>${counts ? [...counts].map(([k, n]) => `${n} ${esc(k)}`).join('<br>') : '-'}</td>`;
    }
    html += '</tr>\n';
  }
  html += '</table>\n';
  html +=
    summary.failures.length === 0 ? '<p class="block">Every case passes.</p>\n' : `<p class="block">${summary.failures.length} case(s) do not pass.</p>\n`;

  html += '<h2>Cases</h2>\n<table><tr><th>Case</th>' + agents.map((a) => `<th colspan="2">${esc(a)}</th>`).join('') + '</tr>\n';
  const ids = new Set(agents.flatMap((a) => Object.keys(index[a])));
  let lastCat = null;
  let lastSub = null;
  for (const C of CASES) {
    if (!ids.has(C.ID)) continue;
    const cat = sectionOf(C.ID);
    const sub = subsectionOf(C.ID);
    if (cat !== lastCat) html += `<tr class="cat"><td colspan="${1 + 2 * agents.length}">${cat} ${esc(CATEGORIES[cat] ?? '')}</td></tr>\n`;
    if (sub !== lastSub && SUBCATEGORIES[sub]) html += `<tr class="sub"><td colspan="${1 + 2 * agents.length}">${sub} ${esc(SUBCATEGORIES[sub])}</td></tr>\n`;
    lastCat = cat;
    lastSub = sub;
    html += `<tr><td><a href="#case_desc_${C.ID.replaceAll('.', '_')}">Case ${C.ID}</a></td>`;
    for (const a of agents) {
      const e = index[a][C.ID];
      if (!e) {
        html += '<td class="missing" colspan="2">Missing</td>';
        continue;
      }
      const page = reportFilename(a, C.ID, 'html');
      const dur = cat === 9 || cat >= 12 ? `<br>${e.duration} ms` : '';
      html += `<td class="${cls(C.ID, e)}"><a href="${esc(page)}">${esc(label(e))}</a>${dur}</td><td>${esc(e.remoteCloseCode ?? '')}</td>`;
    }
    html += '</tr>\n';
  }
  html += '</table>\n<h2>Case descriptions</h2>\n';
  for (const C of CASES) {
    if (!ids.has(C.ID)) continue;
    html += `<h3 id="case_desc_${C.ID.replaceAll('.', '_')}">Case ${C.ID}</h3>\n<p class="block"><b>Description</b><br>${C.DESCRIPTION}</p>\n<p class="block"><b>Expectation</b><br>${C.EXPECTATION}</p>\n`;
  }
  writeFileSync(join(outdir, 'index.html'), page(title, html));
}

const CLOSE_KEYS = [
  ['isServer', 'True, iff I (the fuzzer) am a server, and the peer is a client.'],
  ['closedByMe', 'True, iff I have initiated closing handshake (that is, did send close first).'],
  [
    'failedByMe',
    'True, iff I have failed the WS connection (i.e. due to protocol error). Failing can be either by initiating closing handshake or brutal drop TCP.',
  ],
  ['droppedByMe', 'True, iff I dropped the TCP connection.'],
  [
    'wasClean',
    'True, iff full WebSocket closing handshake was performed (close frame sent and received) _and_ the server dropped the TCP (which is its responsibility).',
  ],
  ['wasNotCleanReason', 'When wasClean == False, the reason what happened.'],
  ['wasServerConnectionDropTimeout', "When we are a client, and we expected the server to drop the TCP, but that didn't happen in time, this gets True."],
  ['wasOpenHandshakeTimeout', 'When performing the opening handshake, but the peer did not finish in time, this gets True.'],
  ['wasCloseHandshakeTimeout', 'When we initiated a closing handshake, but the peer did not respond in time, this gets True.'],
  ['localCloseCode', 'The close code I sent in close frame (if any).'],
  ['localCloseReason', 'The close reason I sent in close frame (if any).'],
  ['remoteCloseCode', 'The close code the peer sent me in close frame (if any).'],
  ['remoteCloseReason', 'The close reason the peer sent me in close frame (if any).'],
  ['violations', 'Harness: protocol violations the fuzzer saw in what the peer sent.'],
  ['harnessTimeout', "Harness: true when the harness's own time bound ended the case."],
];

function wirelogLine(i, t) {
  const n = String(i).padStart(3, '0');
  switch (t[0]) {
    case 'RO':
      return `<pre class="rx">${n} RX OCTETS: ${esc(t[1][1])}</pre>`;
    case 'TO':
      return `<pre class="tx">${n} TX OCTETS${t[2] ? ' (sync)' : ''}: ${esc(t[1][1])}</pre>`;
    case 'RF':
      return `<pre class="rx">${n} RX FRAME : OPCODE=${t[2]}, FIN=${t[3]}, RSV=${t[4]}, PAYLOAD-LEN=${t[1][0]}, MASKED=${t[5]}, MASK=${esc(t[6])}\n      ${esc(t[1][1])}</pre>`;
    case 'TF':
      return `<pre class="tx">${n} TX FRAME : OPCODE=${t[2]}, FIN=${t[3]}, RSV=${t[4]}, PAYLOAD-LEN=${t[1][0]}, MASK=${esc(t[5])}, PAYLOAD-REPEAT-LEN=${t[6]}, CHOPSIZE=${t[7]}, SYNC=${t[8]}\n      ${esc(t[1][1])}</pre>`;
    case 'CT':
      return `<pre class="ev">${n} DELAY ${t[1]} sec for TAG ${esc(t[2])}</pre>`;
    case 'CTE':
      return `<pre class="ev">${n} DELAY TIMEOUT on TAG ${esc(t[1])}</pre>`;
    case 'KL':
      return `<pre class="ev">${n} FAIL CONNECTION AFTER ${t[1]} sec</pre>`;
    case 'KLE':
      return `<pre class="ev">${n} FAILING CONNECTION</pre>`;
    case 'TI':
      return `<pre class="ev">${n} CLOSE CONNECTION AFTER ${t[1]} sec</pre>`;
    case 'TIE':
      return `<pre class="ev">${n} CLOSING CONNECTION</pre>`;
    case 'WLM':
      return `<pre class="ev">${n} WIRELOG ${t[1] ? 'ENABLED' : 'DISABLED'}</pre>`;
    case 'HTO':
      return `<pre class="ev">${n} HARNESS TIME BOUND (${t[1]} s) REACHED: DROPPING TCP</pre>`;
    case 'TRUNC':
      return `<pre class="ev">${n} WIRELOG TRUNCATED AFTER ${t[1]} ENTRIES</pre>`;
    default:
      return `<pre class="ev">${n} ${esc(JSON.stringify(t))}</pre>`;
  }
}

/** One page per agent and case. */
export function writeCaseHtml(outdir, r) {
  const C = CASES_BY_ID.get(r.id);
  const entry = { behavior: r.behavior, behaviorClose: r.behaviorClose };
  const verdict = r.behavior === r.behaviorClose ? r.behavior : `${r.behavior}, close ${r.behaviorClose}`;
  let html = `<p><a href="index.html">&larr; index</a></p>\n<h1 class="${cls(r.id, entry)}">${esc(r.agent)} — Case ${esc(r.id)} : ${esc(verdict)} — ${r.duration} ms @ ${esc(r.started)}</h1>\n`;
  html += `<p class="block"><b>Case Description</b><br>${C?.DESCRIPTION ?? esc(r.description)}</p>\n`;
  html += `<p class="block"><b>Case Expectation</b><br>${C?.EXPECTATION ?? esc(r.expectation)}</p>\n`;
  html += `<div class="block"><b>Case Outcome</b><br>${esc(r.result)}<br><br><i>Expected:</i><pre>${esc(JSON.stringify(r.expected))}</pre><br><i>Observed:</i><pre>${esc(JSON.stringify(r.received))}</pre></div>\n`;
  html += `<p class="block"><b>Case Closing Behavior</b><br>${esc(r.resultClose)} (${esc(r.behaviorClose)})</p>\n`;
  html += `<h2>Opening Handshake</h2>\n<pre>${esc(r.httpRequest)}</pre><br><pre>${esc(r.httpResponse)}</pre>\n`;
  html += '<h2>Closing Behavior</h2>\n<table><tr><th>Key</th><th>Value</th><th>Description</th></tr>\n';
  for (const [k, d] of CLOSE_KEYS) html += `<tr><td>${k}</td><td>${esc(JSON.stringify(r[k]))}</td><td>${esc(d)}</td></tr>\n`;
  html += '</table>\n<h2>Wire Statistics</h2>\n<table><tr><th></th><th>Received</th><th>Transmitted</th></tr>\n';
  html += `<tr><td>Frames by opcode</td><td>${esc(JSON.stringify(r.rxFrameStats))}</td><td>${esc(JSON.stringify(r.txFrameStats))}</td></tr>\n`;
  const octets = (s) => Object.entries(s ?? {}).reduce((sum, [len, n]) => sum + Number(len) * n, 0);
  html += `<tr><td>Octets (in chops)</td><td>${octets(r.rxOctetStats)} (${Object.values(r.rxOctetStats ?? {}).reduce((a, b) => a + b, 0)})</td><td>${octets(r.txOctetStats)} (${Object.values(r.txOctetStats ?? {}).reduce((a, b) => a + b, 0)})</td></tr>\n</table>\n`;
  html += '<h2>Wire Log</h2>\n';
  if (!r.createWirelog) html += '<p><i>Wire log after handshake disabled!</i></p>\n';
  html += r.wirelog.map((t, i) => wirelogLine(i, t)).join('\n');
  html += `\n<pre class="ev">${String(r.wirelog.length).padStart(3, '0')} TCP DROPPED BY ${r.droppedByMe ? 'ME' : 'PEER'}</pre>\n`;
  writeFileSync(join(outdir, reportFilename(r.agent, r.id, 'html')), page(`${r.agent} ${r.id}`, html));
}
