/**
 * The sans-I/O core and the codec it uses stay free of I/O scheduling: they
 * import nothing from the node side, and of node:zlib only the synchronous
 * calls (thread-pool jobs and zlib streams live in src/node/zlib/). Read from
 * the sources, so a new import that breaks the layering fails here.
 */
import { readFileSync, readdirSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';

const src = resolve(__dirname, '../../src');
const SYNC_ZLIB = new Set(['constants', 'deflateRawSync', 'inflateRawSync']);

function imports(file: string): { local: string[]; zlib: string[] } {
  const text = readFileSync(file, 'utf8');
  const local: string[] = [];
  const zlib: string[] = [];
  for (const m of text.matchAll(/(?:import|export)\s+(?:type\s+)?(?:([\s\S]*?)\s+from\s+)?'([^']+)'/g)) {
    const [, clause = '', spec = ''] = m;
    if (spec.startsWith('.')) local.push(resolve(dirname(file), spec.replace(/\.js$/, '.ts')));
    if (spec === 'node:zlib' || spec === 'zlib') {
      const named = /^(?:type\s+)?\{([^}]*)\}$/.exec(clause.trim());
      // A namespace or default import could reach anything: name it as such.
      if (named === null) zlib.push(clause.trim());
      else for (const name of named[1]!.split(',')) if (name.trim() && !name.trim().startsWith('type ')) zlib.push(name.trim().split(/\s+as\s+/)[0]!);
    }
  }
  return { local, zlib };
}

/** Every source file reachable from the entry files by relative imports. */
function closure(entries: string[]): string[] {
  const seen = new Set<string>();
  const todo = [...entries];
  while (todo.length > 0) {
    const file = todo.pop()!;
    if (seen.has(file)) continue;
    seen.add(file);
    todo.push(...imports(file).local);
  }
  return [...seen].map((f) => relative(src, f)).sort();
}

const dir = (name: string) =>
  readdirSync(join(src, name))
    .filter((f) => f.endsWith('.ts'))
    .map((f) => join(src, name, f));

describe('layering: the core and the codec know nothing of the thread pool', () => {
  const files = closure([...dir('core'), ...dir('extensions')]);

  it('src/core and src/extensions reach nothing under src/node', () => {
    expect(files.filter((f) => f.startsWith('node/'))).toEqual([]);
  });

  it('of node:zlib they use only the synchronous calls', () => {
    const used = files.flatMap((f) => imports(join(src, f)).zlib.map((name) => `${f}: ${name}`));
    expect(used.filter((u) => !SYNC_ZLIB.has(u.split(': ')[1]!))).toEqual([]);
    expect(used.length).toBeGreaterThan(0); // the codec is in the closure: the check looked at it
  });
});
