/** Types for core-engine.mjs (the fuzz engine shared by the vitest run and scripts/fuzz/core-fuzz.mjs). */
export interface FuzzModules {
  Protocol: new (options: any, handler: any) => any;
  PerMessageDeflate: new (params: any, role: 'server' | 'client', options?: any) => any;
  backends: { js: unknown; native: unknown | null; active?: unknown };
}
export interface Finding {
  seed: number;
  /** 'buffered': bufferedInput over maxPayload + 14; 'behaviour': anything else. */
  kinds: ('buffered' | 'behaviour')[];
  problems: string[];
  config: Record<string, unknown>;
  mutations: number[];
  actions: [number, string][];
  cuts: number[];
  otherCuts: number[];
  bytes: string;
}
export interface FuzzStats {
  cases: number;
  modelled: number;
  messages: number;
  errors: number;
  closes: number;
  codes: Record<string, number>;
  /** Largest bufferedInput / (maxPayload + 14) seen (cases with maxPayload >= 64). */
  worstBufferedRatio: number;
  /** Findings of each kind, all counted (only maxFindings of each are returned). */
  findings: { behaviour: number; buffered: number };
  ms: number;
}
export interface FuzzCase {
  seed: number;
  cfg: Record<string, unknown>;
  bytes: Buffer;
  cuts: number[];
  other: number[];
  actions: Map<number, string>;
  expected: string[] | null;
  mutations: number[];
}
export function rng(seed: number): { next(): number; int(n: number): number; chance(p: number): boolean; bytes(n: number): Buffer };
export function makeCase(seed: number): FuzzCase;
export function runCase(mods: FuzzModules, c: FuzzCase): { finding: Finding | null; log: string[]; maxBuffered: number };
export function fuzz(
  mods: FuzzModules,
  options?: { seed?: number; ms?: number; maxCases?: number; maxFindings?: number; onFinding?: (f: Finding) => void },
): { stats: FuzzStats; findings: Finding[] };
export function parseFrames(bytes: Buffer): { fin: boolean; rsv: number; opcode: number; masked: boolean; payload: Buffer }[] | string;
export function buildFrame(spec: {
  opcode: number;
  payload?: Buffer;
  fin?: boolean;
  rsv?: number;
  mask?: boolean;
  key?: number[];
  form?: 7 | 16 | 64;
  claim?: bigint;
}): { bytes: Buffer; headerLength: number };
export function show(data: Buffer): string;
