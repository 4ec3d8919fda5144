/**
 * Finds the compiled addon. node-gyp-build looks in build/Release (a local
 * build), then prebuilds/<platform>-<arch>/. Any failure, or
 * WSBOLT_NO_NATIVE=1, leaves us on the TypeScript fallback: the package must
 * work without a compiler.
 */
import { createRequire } from 'node:module';
import * as path from 'node:path';
import type { Backend } from './types.js';

export interface LoadResult {
  binding: Backend | null;
  /** Why the addon is not in use, when it is not. */
  reason: string | null;
}

function disabledByEnv(): boolean {
  const v = process.env.WSBOLT_NO_NATIVE;
  return v !== undefined && v !== '' && v !== '0' && v.toLowerCase() !== 'false';
}

export function loadNative(): LoadResult {
  if (disabledByEnv()) return { binding: null, reason: 'WSBOLT_NO_NATIVE is set' };
  try {
    const requireHere = createRequire(__filename);
    const nodeGypBuild = requireHere('node-gyp-build') as (dir: string) => Record<string, unknown>;
    // src/native or dist/native: the package root is two levels up either way.
    const raw = nodeGypBuild(path.join(__dirname, '..', '..'));
    for (const fn of ['mask', 'unmask', 'scanFrames', 'utf8Step']) {
      if (typeof raw[fn] !== 'function') throw new Error(`the addon lacks ${fn}()`);
    }
    const binding: Backend = Object.freeze({ ...(raw as unknown as Omit<Backend, 'name'>), name: 'native' as const });
    return { binding, reason: null };
  } catch (err) {
    return { binding: null, reason: (err as Error).message };
  }
}
