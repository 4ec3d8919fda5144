// The contestants: every one is the same tiny server program (bench/servers/)
// written with its library's natural API, started with a controlled
// environment so a stray WSBOLT_NO_NATIVE or WS_NO_BUFFER_UTIL in the caller's
// shell cannot turn one contestant into another. `expect` is the backend the
// server must report on its ready line, `transport` the socket layer a wsbolt
// server reports for its first connection (when it says: servers built before
// ws.transport existed do not); a mismatch (addon not built, bufferutil
// missing, native transport unavailable) is printed and recorded rather than
// silently measured.
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const bench = join(dirname(fileURLToPath(import.meta.url)), '..');
const root = join(bench, '..');
const servers = join(bench, 'servers');

// Environment switches owned by the contestant list, cleared for everyone first.
const SWITCHES = ['WSBOLT_NO_NATIVE', 'WSBOLT_TRANSPORT', 'WS_NO_BUFFER_UTIL', 'WS_NO_UTF_8_VALIDATE', 'UWS_MODULE', 'BENCH_DC'];

/** The order of columns and bars; `ws` is the baseline every ratio refers to. */
export const CONTESTANTS = [
  { name: 'wsbolt', label: 'wsbolt (native transport)', runtime: 'node', script: 'wsbolt.mjs', env: {}, expect: 'native', transport: 'native' },
  // wsbolt with a no-op subscriber on every diagnostics_channel (the cost of being observed). Opt-in: it runs only
  // when named, e.g. `npm run bench -- --only wsbolt,wsbolt-dc,ws echo-1k`.
  {
    name: 'wsbolt-dc',
    label: 'wsbolt (diagnostics_channel subscribed)',
    runtime: 'node',
    script: 'wsbolt.mjs',
    env: { BENCH_DC: '1' },
    expect: 'native',
    transport: 'native',
    optIn: true,
  },
  {
    name: 'wsbolt-stream',
    label: 'wsbolt (native on streams)',
    runtime: 'node',
    script: 'wsbolt.mjs',
    env: { WSBOLT_TRANSPORT: 'stream' },
    expect: 'native',
    transport: 'stream',
  },
  { name: 'wsbolt-js', label: 'wsbolt (fallback)', runtime: 'node', script: 'wsbolt.mjs', env: { WSBOLT_NO_NATIVE: '1' }, expect: 'js', transport: 'stream' },
  { name: 'wsbolt-ws', label: 'wsbolt/ws (compat)', runtime: 'node', script: 'wsbolt-ws.mjs', env: {}, expect: 'native', transport: 'stream' },
  { name: 'ws', label: 'ws + bufferutil', runtime: 'node', script: 'ws.mjs', env: {}, expect: 'bufferutil' },
  { name: 'ws-js', label: 'ws (pure JS)', runtime: 'node', script: 'ws.mjs', env: { WS_NO_BUFFER_UTIL: '1', WS_NO_UTF_8_VALIDATE: '1' }, expect: 'js' },
  // The reference of issue 17, from ../shared/anchors/uws when that build loads here (see findUws).
  { name: 'uws', label: 'uWebSockets.js', runtime: 'node', script: 'uws.mjs', env: {}, expect: null },
  { name: 'bun', label: 'Bun', runtime: 'bun', script: 'bun.mjs', env: {}, expect: null },
  // A reference, not a library: bare node:net with no validation (servers/node-net.mjs). It answers the
  // small-message scenarios only, so it runs with the full suite there and is skipped elsewhere.
  {
    name: 'node-net',
    label: 'node:net floor',
    runtime: 'node',
    script: 'node-net.mjs',
    env: {},
    expect: 'node-net',
    scenarios: ['a', 'b', 'e', 'f', 'g', 'j'],
  },
];
export const BASELINE = 'ws';

const runs = (path) => {
  const r = spawnSync(path, ['--version'], { encoding: 'utf8', timeout: 10_000 });
  return r.status === 0 ? r.stdout.trim() : null;
};

/**
 * The Bun binary: $BUN_BINARY, the platform package npm installs next to the
 * `bun` package (@oven/bun-<os>-<arch>[...]/bin/bun), the `bun` package's own
 * bin/bun.exe (a placeholder until its postinstall runs, which npm 11 skips
 * for dependencies: then it fails --version and is passed over), then PATH.
 * Returns { path, version } or { missing: why }.
 */
export function findBun() {
  const candidates = [];
  if (process.env.BUN_BINARY) candidates.push(process.env.BUN_BINARY);
  const oven = join(root, 'node_modules', '@oven');
  if (existsSync(oven)) {
    for (const dir of readdirSync(oven)
      .filter((d) => d.startsWith('bun-'))
      .sort())
      candidates.push(join(oven, dir, 'bin', 'bun'));
  }
  candidates.push(join(root, 'node_modules', 'bun', 'bin', 'bun.exe'), 'bun');
  for (const path of candidates) {
    if (path !== 'bun' && !existsSync(path)) continue;
    const version = runs(path);
    if (version) return { path, version };
  }
  return { missing: 'no runnable Bun binary (npm install puts one in node_modules/@oven/bun-<os>-<arch>/bin, or set BUN_BINARY)' };
}

/**
 * uWebSockets.js: $UWS_PATH, else ../shared/anchors/uws next to the repository
 * (either the directory holding uWebSockets.js/ or that module directory
 * itself). A prebuilt addon loads only on its platform and Node ABI, so it is
 * tried in a child process first. Returns { path, version } or { missing: why }.
 */
export function findUws(env = process.env) {
  const given = env.UWS_PATH || join(root, '..', 'shared', 'anchors', 'uws');
  const path = [join(given, 'uWebSockets.js'), given].find((p) => existsSync(join(p, 'package.json')));
  if (!path) return { missing: `no uWebSockets.js in ${given} (set UWS_PATH to a build for this Node)` };
  const probe = 'try { require(process.argv[1]) } catch (e) { console.error(String(e.message).trim().split("\\n")[0]); process.exit(1) }';
  const r = spawnSync(process.execPath, ['-e', probe, path], { encoding: 'utf8', timeout: 10_000 });
  if (r.status !== 0) {
    const why = (r.stderr || r.error?.message || `exit ${r.status}`).trim().split('\n')[0];
    return { missing: `${path} does not load under Node ${process.version} (${process.platform}-${process.arch}): ${why}` };
  }
  let version = 'unknown';
  try {
    version = JSON.parse(readFileSync(join(path, 'package.json'), 'utf8')).version;
  } catch {
    // no readable package.json: the version stays unknown
  }
  return { path, version };
}

/**
 * The contestants that can run here, with the argv and env to start them.
 * only: names to keep (null: all). Returns { list, skipped: [notes] }.
 */
export function contestants(only = null) {
  const list = [];
  const skipped = [];
  const built = existsSync(join(root, 'dist', 'index.mjs'));
  const bun = only && !only.includes('bun') ? null : findBun();
  const uws = only && !only.includes('uws') ? null : findUws();
  const base = { ...process.env };
  for (const k of SWITCHES) delete base[k];
  for (const c of CONTESTANTS) {
    if (only ? !only.includes(c.name) : c.optIn) continue;
    if (c.script.startsWith('wsbolt') && !built) {
      skipped.push(`${c.name}: dist/index.mjs is missing; run \`npm run build:ts\` first`);
      continue;
    }
    let argv;
    if (c.runtime === 'bun') {
      if (bun.missing) {
        skipped.push(`bun: skipped: ${bun.missing}`);
        continue;
      }
      argv = [bun.path, join(servers, c.script)];
      list.push({ ...c, argv, env: { ...base, ...c.env }, version: `bun ${bun.version}` });
      continue;
    }
    let env = { ...base, ...c.env };
    let version = `node ${process.version}`;
    if (c.name === 'uws') {
      if (uws.missing) {
        skipped.push(`uws: skipped: ${uws.missing}`);
        continue;
      }
      env = { ...env, UWS_MODULE: uws.path };
      version = `uWebSockets.js ${uws.version}, node ${process.version}`;
    }
    // --expose-gc for every Node server: the idle-memory scenario forces a full GC; it costs nothing otherwise.
    argv = [process.execPath, '--expose-gc', join(servers, c.script)];
    list.push({ ...c, argv, env, version });
  }
  return { list, skipped };
}
