/**
 * Finds the compiled addon. node-gyp-build looks in build/Release (a local
 * build), then prebuilds/<platform>-<arch>/. Any failure, or
 * WSBOLT_NO_NATIVE=1, leaves us on the TypeScript fallback: the package must
 * work without a compiler. announce.ts tells the user which one it was.
 */
import { createRequire } from 'node:module';
import * as path from 'node:path';
import type { Backend } from './types.js';

export interface LoadResult {
  binding: Backend | null;
  /** Why the addon is not in use, when it is not. */
  reason: string | null;
  /** The fallback was asked for (WSBOLT_NO_NATIVE), not forced by a failure. */
  deliberate: boolean;
  /** The addon file that loaded. */
  file: string | null;
}

/** An environment variable used as a switch: set, and not '', '0' or 'false'. */
export function envFlag(name: string): boolean {
  const v = process.env[name];
  return v !== undefined && v !== '' && v !== '0' && v.toLowerCase() !== 'false';
}

interface NodeGypBuild {
  resolve(dir: string): string;
}

export function loadNative(): LoadResult {
  if (envFlag('WSBOLT_NO_NATIVE')) return { binding: null, reason: 'WSBOLT_NO_NATIVE is set', deliberate: true, file: null };
  try {
    const requireHere = createRequire(__filename);
    const nodeGypBuild = requireHere('node-gyp-build') as NodeGypBuild;
    // src/native or dist/native: the package root is two levels up either way.
    const file = nodeGypBuild.resolve(path.join(__dirname, '..', '..'));
    const raw = requireHere(file) as Record<string, unknown>;
    for (const fn of ['mask', 'unmask', 'scanFrames', 'utf8Step']) {
      if (typeof raw[fn] !== 'function') throw new Error(`the addon lacks ${fn}()`);
    }
    const binding: Backend = Object.freeze({ ...(raw as unknown as Omit<Backend, 'name'>), name: 'native' as const });
    return { binding, reason: null, deliberate: false, file };
  } catch (err) {
    return { binding: null, reason: (err as Error).message, deliberate: false, file: null };
  }
}
