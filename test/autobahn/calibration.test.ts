/**
 * Calibration of the conformance harness (autobahn/).
 *
 * 1. Against `ws` 8.23 with default options, server and client, the real
 *    Autobahn|Testsuite reports NON-STRICT for 6.4.1-6.4.4 (ws checks UTF-8
 *    only when a message is complete), INFORMATIONAL for 7.1.6, 7.13.1 and
 *    7.13.2, FAILED for 9.3.1, 9.3.2, 9.4.1, 9.4.2 (65,537 and 16,385
 *    fragments against ws's maxFragments of 16,384: ws closes with 1008), and
 *    OK for everything else. The harness must reproduce that table.
 * 2. A deliberately faulty testee must fail exactly the cases its fault
 *    affects, and nothing else may change.
 *
 * It needs no wsbolt build and runs once (in the native project).
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

type Entry = { behavior: string; behaviorClose: string; remoteCloseCode: number | null; reportfile: string };
type Index = Record<string, Record<string, Entry>>;

const root = join(__dirname, '../..');
const exec = promisify(execFile);
const WS_SECTIONS = '1-7,10,9.1.1,9.2.1,9.3.1,9.3.2,9.3.9,9.4.1,9.4.2,9.4.9,9.7.1';

let dir = '';

/** Runs autobahn/run.mjs (it exits 1 when cases fail, which is expected here) and returns the report directory's index and case files. */
async function harness(mode: 'server' | 'client', testee: string, agent: string, sections: string) {
  const outdir = join(dir, agent);
  try {
    await exec(
      process.execPath,
      [join(root, 'autobahn/run.mjs'), '--mode', mode, '--testee', testee, '--agent', agent, '--sections', sections, '--outdir', outdir],
      {
        cwd: root,
        maxBuffer: 64 * 1024 * 1024,
      },
    );
  } catch (error: any) {
    if (typeof error.code !== 'number') throw error; // killed or not started
  }
  const reports = join(outdir, mode === 'server' ? 'servers' : 'clients');
  const index: Index = JSON.parse(readFileSync(join(reports, 'index.json'), 'utf8'));
  const cases = index[agent] ?? {};
  const record = (id: string): any => JSON.parse(readFileSync(join(reports, cases[id]!.reportfile), 'utf8'));
  return { cases, record };
}

/** The real suite's table for ws 8.23. */
function wsExpected(id: string): [string, string] {
  if (['6.4.1', '6.4.2', '6.4.3', '6.4.4'].includes(id)) return ['NON-STRICT', 'OK'];
  if (['7.1.6', '7.13.1', '7.13.2'].includes(id)) return ['INFORMATIONAL', 'INFORMATIONAL'];
  if (['9.3.1', '9.3.2', '9.4.1', '9.4.2'].includes(id)) return ['FAILED', 'FAILED'];
  return ['OK', 'OK'];
}

const passes = (e: Entry | undefined) => !!e && e.behavior === 'OK' && e.behaviorClose === 'OK';

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'wsbolt-autobahn-calibration-'));
});
afterAll(() => {
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe.runIf(!process.env.WSBOLT_NO_NATIVE)('autobahn calibration', () => {
  let expectedIds: string[] = [];
  const FAULTS = [
    ['skip-utf8', 'server'],
    ['rsv', 'server'],
    ['close-code', 'server'],
    ['close-code', 'client'],
  ] as const;
  const runs = new Map<string, Awaited<ReturnType<typeof harness>>>();

  // The runs are independent processes that mostly wait on the cases' timers, so they run side by side: first the
  // two ws runs (with their CPU-heavy section 9 cases), then the four faulty runs.
  beforeAll(async () => {
    const catalogue: any = await import(pathToFileURL(join(root, 'autobahn/lib/catalogue.mjs')).href);
    expectedIds = catalogue.selectCases({ cases: catalogue.sectionsToPatterns(WS_SECTIONS) });
    await Promise.all(
      (['server', 'client'] as const).map(async (mode) => {
        runs.set(`ws-${mode}`, await harness(mode, join(root, `autobahn/testee-ws-${mode}.mjs`), `ws-${mode}`, WS_SECTIONS));
      }),
    );
    await Promise.all(
      FAULTS.map(async ([fault, mode]) => {
        const testee = `ROLE=${mode} FAULT=${fault} node ${join(root, 'autobahn/testee-faulty.mjs')}`;
        runs.set(`${fault}-${mode}`, await harness(mode, testee, `faulty-${fault}-${mode}`, '1-7,10'));
      }),
    );
  }, 300_000);

  for (const mode of ['server', 'client'] as const) {
    it(`reproduces the real suite's table for ws as ${mode}`, () => {
      const run = runs.get(`ws-${mode}`)!;
      expect(Object.keys(run.cases).sort()).toEqual([...expectedIds].sort());
      const wrong: string[] = [];
      for (const id of expectedIds) {
        const e = run.cases[id]!;
        const [behavior, behaviorClose] = wsExpected(id);
        if (e.behavior !== behavior || e.behaviorClose !== behaviorClose)
          wrong.push(`${id}: ${e.behavior}/${e.behaviorClose}, expected ${behavior}/${behaviorClose}`);
      }
      expect(wrong).toEqual([]);
      // ws fails the too-many-fragments cases itself, with 1008, and the 6.4.x ones at the end of the message, with 1007.
      for (const id of ['9.3.1', '9.3.2', '9.4.1', '9.4.2']) expect(run.cases[id]!.remoteCloseCode).toBe(1008);
      for (const id of ['6.4.1', '6.4.2', '6.4.3', '6.4.4']) expect(run.cases[id]!.remoteCloseCode).toBe(1007);
    });
  }

  /**
   * Which cases a fault must break, from what each case expects of a
   * conformant peer (recorded in the ws run's case files):
   * - skip-utf8: the cases that expect the peer to fail with 1007 (invalid UTF-8 text or close reason; 7.7.5 only
   *   lets the peer echo our valid 1007);
   * - rsv: the cases that expect the peer to echo a data message;
   * - close-code: the cases where the peer must answer our close with 1000 (or the echoed code).
   * INFORMATIONAL cases stay INFORMATIONAL whatever the peer does.
   */
  const affects: Record<string, (r: any) => boolean> = {
    'skip-utf8': (r) => r.expectedClose.closeCode.includes(1007) && !r.expectedClose.closeCode.includes(1000),
    rsv: (r) => (r.expected.OK ?? []).some((e: any[]) => e[0] === 'message'),
    'close-code': (r) => r.expectedClose.closedByMe === true && r.expectedClose.closeCode.includes(1000),
  };

  for (const [fault, mode] of FAULTS) {
    it(`fails exactly the cases a ${fault} fault affects (${mode})`, () => {
      const faulty = runs.get(`${fault}-${mode}`)!;
      const base = runs.get('ws-server')!;
      const ids = expectedIds.filter((id) => !id.startsWith('9.'));
      expect(Object.keys(faulty.cases).sort()).toEqual([...ids].sort());
      const affected = ids.filter((id) => base.cases[id]!.behavior !== 'INFORMATIONAL' && affects[fault]!(base.record(id)));
      expect(affected.length).toBeGreaterThan(5);
      const problems: string[] = [];
      for (const id of ids) {
        const e = faulty.cases[id]!;
        const b = base.cases[id]!;
        const why = () => `${faulty.record(id).result} | ${faulty.record(id).resultClose}`;
        if (affected.includes(id)) {
          if (passes(e) || e.behavior === 'INFORMATIONAL') problems.push(`${id} should fail: ${e.behavior}/${e.behaviorClose} (${why()})`);
        } else if (e.behavior !== b.behavior || e.behaviorClose !== b.behaviorClose) {
          problems.push(`${id} should be unchanged (${b.behavior}/${b.behaviorClose}): ${e.behavior}/${e.behaviorClose} (${why()})`);
        }
      }
      expect(problems).toEqual([]);
    });
  }
});
