/**
 * Fuzzing the sans-I/O core, short run (about 10 s per project; FUZZ_TEST_MS
 * changes it, FUZZ_SEED moves the seeds). The engine is test/fuzz/core-engine.mjs;
 * `npm run fuzz` runs the same cases for minutes on the built package.
 *
 * In the native project the fallback, the raw addon and the addon behind its
 * size thresholds are compared on every case; in the js project (no addon)
 * the fallback is checked against the invariants and the model alone.
 *
 * A failure prints the seeds; replay one with
 *   node scripts/fuzz/core-fuzz.mjs --replay <seed>
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { Protocol } from '../../src/core/protocol.js';
import { PerMessageDeflate } from '../../src/extensions/permessage-deflate.js';
import { active, backends } from '../../src/native/index.js';
// The engine is an ES module shared with scripts/fuzz/core-fuzz.mjs; this file compiles as CommonJS.
type Engine = typeof import('./core-engine.mjs', { with: { 'resolution-mode': 'import' } });
type Finding = import('./core-engine.mjs', { with: { 'resolution-mode': 'import' } }).Finding;
type FuzzStats = import('./core-engine.mjs', { with: { 'resolution-mode': 'import' } }).FuzzStats;
let engine: Engine;

const MS = Number(process.env.FUZZ_TEST_MS ?? 10_000);
const onNative = process.env.WSBOLT_EXPECT_BACKEND === 'native';
// Different cases in each project; fixed seeds, so a run is repeatable.
const SEED = Number(process.env.FUZZ_SEED ?? (onNative ? 1 : 10_000_000));

function describeFindings(findings: Finding[]): string {
  return findings
    .slice(0, 3)
    .map(
      (f) =>
        `seed ${f.seed} (replay: node scripts/fuzz/core-fuzz.mjs --replay ${f.seed})\n  config ${JSON.stringify(f.config)}\n  ${f.problems.join('\n  ').slice(0, 1500)}`,
    )
    .join('\n');
}

describe('core fuzzing: random and mutated byte streams, random chunkings', () => {
  let stats: FuzzStats;
  let findings: Finding[] = [];

  beforeAll(async () => {
    engine = await import('./core-engine.mjs');
    const result = engine.fuzz(
      { Protocol, PerMessageDeflate, backends: { js: backends.js, native: backends.native, active } },
      { seed: SEED, ms: MS, maxFindings: 20 },
    );
    stats = result.stats;
    findings = result.findings;
    console.log(`core fuzz (${onNative ? 'native + js' : 'js'}): ${JSON.stringify(stats)}; findings: ${findings.length}`);
  }, MS + 60_000);

  it('exercises messages and every failure code (the generator is not degenerate)', () => {
    expect(stats.cases).toBeGreaterThan(100);
    expect(stats.messages).toBeGreaterThan(10);
    expect(stats.modelled).toBeGreaterThan(10);
    for (const code of ['1002', '1007', '1009']) expect(stats.codes[code] ?? 0, `close code ${code}`).toBeGreaterThan(0);
  });

  it('no throw from receive(); failures close with 1002/1007/1009, peer closes are echoed; backends, chunkings and the model agree', () => {
    const behaviour = findings.filter((f) => f.kinds.includes('behaviour'));
    expect(stats.findings.behaviour, describeFindings(behaviour)).toBe(0);
  });

  it('bufferedInput stays <= maxPayload + 14 + 125 (a minimal case, then the fuzzed ones)', () => {
    // 600 + 10 bytes of a 1000-byte message, then its last 390 bytes arriving in two reads.
    const p = new Protocol({ role: 'server', maxPayload: 1000 }, { onMessage() {}, onPing() {}, onPong() {}, onCloseFrame() {}, onProtocolError() {} });
    const key = [1, 2, 3, 4];
    p.receive(engine.buildFrame({ opcode: 2, payload: Buffer.alloc(600), fin: false, mask: true, key }).bytes);
    p.receive(engine.buildFrame({ opcode: 0, payload: Buffer.alloc(10), fin: false, mask: true, key }).bytes);
    const last = engine.buildFrame({ opcode: 0, payload: Buffer.alloc(390), fin: true, mask: true, key }).bytes;
    p.receive(last.subarray(0, 20));
    const peak = p.bufferedInput;
    p.receive(last.subarray(20));
    expect(peak, 'bufferedInput while the last fragment arrives (message buffer capacity + frame buffer)').toBeLessThanOrEqual(1000 + 14);

    const buffered = findings.filter((f) => f.kinds.includes('buffered'));
    expect(
      stats.findings.buffered,
      `cases over the bound (worst bufferedInput / (maxPayload + 139): ${stats.worstBufferedRatio.toFixed(2)})\n${describeFindings(buffered)}`,
    ).toBe(0);
  });
});
