/**
 * The interop matrix: which pair passed which case. Each test file (and each
 * backend project) writes its own results file under artifacts/, then
 * regenerates artifacts/matrix.md from every results file present, so the
 * table covers all pairs whoever finishes last. It is also printed.
 */
import { mkdirSync, readFileSync, readdirSync, renameSync, writeFileSync } from 'node:fs';

export const ARTIFACTS = `${__dirname}/artifacts/`;
export const COLUMNS = ['deflate', 'text', 'binary', 'fragments out', 'fragments in', '1 MiB', 'close by wsbolt', 'close by peer'] as const;
export type Column = (typeof COLUMNS)[number];
export type Outcome = 'pass' | 'fail' | 'n/a' | 'skipped';

const SYMBOL: Record<Outcome, string> = { pass: '✅', fail: '❌', 'n/a': '—', skipped: 'skipped' };
const SOURCES = ['server', 'client', 'browser'];

export const backend = process.env.WSBOLT_EXPECT_BACKEND || (process.env.WSBOLT_NO_NATIVE ? 'js' : 'native');

interface ResultsFile {
  source: string;
  backend: string;
  time: string;
  rows: [string, Partial<Record<Column, Outcome>>][];
}

export class Matrix {
  private readonly rows = new Map<string, Partial<Record<Column, Outcome>>>();

  /** source: 'server' (our server, other clients), 'client' (our client, other servers) or 'browser'. */
  constructor(readonly source: string) {}

  /** Adds a row (rows are listed in the order they were added). */
  row(row: string): void {
    if (!this.rows.has(row)) this.rows.set(row, {});
  }

  set(row: string, column: Column, outcome: Outcome): void {
    if (!this.rows.has(row)) this.rows.set(row, {});
    this.rows.get(row)![column] = outcome;
  }

  /** Writes this file's results, regenerates matrix.md and returns this file's table. */
  write(): string {
    mkdirSync(ARTIFACTS, { recursive: true });
    const results: ResultsFile = { source: this.source, backend, time: new Date().toISOString(), rows: [...this.rows] };
    atomicWrite(`${ARTIFACTS}results.${this.source}.${backend}.json`, JSON.stringify(results, null, 1));
    // Regenerate until the set of results files stops changing, so a writer finishing at the same moment is not lost.
    let seen = '';
    for (let round = 0; round < 5; round++) {
      const files = readResults();
      const key = files.map((f) => `${f.source}.${f.backend}@${f.time}`).join(',');
      if (key === seen) break;
      seen = key;
      atomicWrite(`${ARTIFACTS}matrix.md`, render(files));
    }
    return table(results.rows);
  }
}

function atomicWrite(path: string, text: string): void {
  const temp = `${path}.${process.pid}.${Math.random().toString(36).slice(2)}.tmp`;
  writeFileSync(temp, text);
  renameSync(temp, path);
}

function readResults(): ResultsFile[] {
  const files: ResultsFile[] = [];
  for (const name of readdirSync(ARTIFACTS)) {
    if (!/^results\..+\.json$/.test(name)) continue;
    try {
      files.push(JSON.parse(readFileSync(`${ARTIFACTS}${name}`, 'utf8')) as ResultsFile);
    } catch {
      // being replaced right now: the next round reads it
    }
  }
  const order = (f: ResultsFile) => (SOURCES.indexOf(f.source) + 1 || 99) * 10 + (f.backend === 'native' ? 0 : 1);
  return files.sort((a, b) => order(a) - order(b));
}

function table(rows: ResultsFile['rows']): string {
  const head = `| pair | ${COLUMNS.join(' | ')} |\n|---|${COLUMNS.map(() => ':-:').join('|')}|\n`;
  return head + rows.map(([row, cells]) => `| ${row} | ${COLUMNS.map((c) => (cells[c] ? SYMBOL[cells[c]!] : ' ')).join(' | ')} |`).join('\n') + '\n';
}

function render(files: ResultsFile[]): string {
  let out = '# wsbolt interop matrix\n\n';
  out += 'Written by `npx vitest run test/interop test/browser` (part of `npm test`). ✅ passed, ❌ failed, — the peer cannot do it, blank: not run.\n\n';
  out += '- *deflate on*: both sides enable permessage-deflate; *deflate off*: wsbolt disables it while the peer still offers or accepts it.\n';
  out += '- *fragments out*: wsbolt sends a message in several frames (a UTF-8 character split across two); *fragments in*: the peer does.\n';
  out +=
    '- *1 MiB*: 1 MiB of random binary and 1 MiB of compressible text, echoed; *close*: 4001 from wsbolt, 4002 from the peer, code and reason seen by both.\n';
  for (const name of [...new Set(files.map((f) => f.backend))]) {
    const mine = files.filter((f) => f.backend === name);
    out += `\n## ${name} backend\n\n`;
    out += `Results from ${mine.map((f) => `${f.source} (${f.time})`).join(', ')}.\n\n`;
    out += table(mine.flatMap((f) => f.rows));
  }
  return out;
}
