#!/usr/bin/env node
// The package as a user gets it. `node scripts/check-package.mjs` packs wsbolt (prepack builds the linux-x64 prebuild),
// checks what the tarball holds, installs it into an empty project whose PATH has node, npm and sh and nothing else (no
// make, no compiler, no Python), and runs an echo there on the native backend. `--list-only` checks only the file list
// of `npm pack --dry-run` (nothing built, no prebuild required). It packs from a
// copy of the checkout, so the checkout's own build/ is left alone.
// Prints a report, then one line `result: {json}`; exits 1 with the problems found.
import { spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, realpathSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const args = process.argv.slice(2);
const listOnly = args.includes('--list-only');
/** What a build needs and a user's machine may lack; none of it may be reachable during the install. */
const TOOLCHAIN = ['make', 'gmake', 'cc', 'gcc', 'c++', 'g++', 'clang', 'clang++', 'python', 'python3', 'node-gyp'];

function run(command, argv, options = {}, { withStderr = false } = {}) {
  const result = spawnSync(command, argv, { encoding: 'utf8', maxBuffer: 64 << 20, ...options });
  if (result.status !== 0) {
    const output = `${result.stdout ?? ''}${result.stderr ?? ''}${result.error ? String(result.error) : ''}`;
    throw new Error(`${command} ${argv.join(' ')} failed (exit ${result.status}):\n${output.slice(-4000)}`);
  }
  return withStderr ? `${result.stdout}${result.stderr}` : result.stdout;
}

/**
 * A copy of the checkout (tracked and new files, as git sees them) to pack from: prepack rebuilds the addon, and doing
 * that in the checkout itself would pull build/Release from under tests running beside this check.
 */
function stage(destination) {
  const dir = path.join(destination, 'wsbolt');
  const files = run('git', ['ls-files', '-z', '--cached', '--others', '--exclude-standard'], { cwd: ROOT }).split('\0').filter(Boolean);
  for (const file of files) {
    if (!existsSync(path.join(ROOT, file))) continue; // deleted in the working tree
    mkdirSync(path.dirname(path.join(dir, file)), { recursive: true });
    copyFileSync(path.join(ROOT, file), path.join(dir, file));
  }
  symlinkSync(path.join(ROOT, 'node_modules'), path.join(dir, 'node_modules'), 'dir');
  return dir;
}

/** The files `npm pack` puts in the tarball (with --list-only: would put, from the checkout as it is, nothing built). */
function pack(destination) {
  const base = listOnly ? ROOT : stage(destination);
  const argv = listOnly ? ['pack', '--dry-run', '--json', '--ignore-scripts'] : ['pack', '--json', '--pack-destination', destination];
  const stdout = run('npm', argv, { cwd: base });
  // Lifecycle scripts print before npm's JSON (an array): parse from the last line that opens one.
  const lines = stdout.split('\n');
  const [info] = JSON.parse(lines.slice(lines.findLastIndex((l) => l.startsWith('['))).join('\n'));
  return { base, tarball: listOnly ? null : path.join(destination, info.filename), files: info.files.map((f) => f.path) };
}

/** Markdown link and image targets that point inside the package (not URLs, not anchors of the same page). */
function relativeLinks(markdown) {
  const targets = [...markdown.matchAll(/\]\(([^)\s]+)(?:\s+"[^"]*")?\)/g), ...markdown.matchAll(/<img[^>]+src="([^"]+)"/g)].map((m) => m[1]);
  return targets.filter((t) => !/^[a-z][a-z0-9+.-]*:/i.test(t) && !t.startsWith('#')).map((t) => t.replace(/[#?].*$/, ''));
}

function fileListProblems(files, base) {
  const problems = [];
  const have = new Set(files);
  for (const required of ['package.json', 'README.md', 'LICENSE', 'CHANGELOG.md']) {
    if (!have.has(required)) problems.push(`${required} is not in the package`);
  }
  if (!listOnly && !files.some((f) => /^prebuilds\/linux-x64\/[^/]+\.node$/.test(f))) problems.push('no prebuilds/linux-x64/*.node in the package');
  // A source map is only useful (and only honest) with the sources it points at.
  const orphanMaps = files.filter((map) => {
    if (!map.endsWith('.map')) return false;
    const { sources = [] } = JSON.parse(readFileSync(path.join(base, map), 'utf8'));
    return sources.some((s) => !have.has(path.posix.join(path.posix.dirname(map), s)));
  });
  if (orphanMaps.length) problems.push(`${orphanMaps.length} source maps point at sources the package does not ship (${orphanMaps[0]}, ...)`);
  // npmjs.com shows the README without the repository around it: a relative link must resolve inside the package.
  for (const link of relativeLinks(readFileSync(path.join(base, 'README.md'), 'utf8'))) {
    const target = path.posix.normalize(link).replace(/\/$/, '');
    if (!have.has(target) && !files.some((f) => f.startsWith(`${target}/`))) problems.push(`README links to ${link}, which is not in the package`);
  }
  const pkg = JSON.parse(readFileSync(path.join(base, 'package.json'), 'utf8'));
  for (const field of ['repository', 'homepage', 'bugs']) if (!pkg[field]) problems.push(`package.json has no "${field}"`);
  if (have.has('LICENSE') && !readFileSync(path.join(base, 'LICENSE'), 'utf8').startsWith(`${pkg.license} License`)) {
    problems.push(`LICENSE is not the ${pkg.license} license that package.json names`);
  }
  return problems;
}

/** A bin directory with node, npm and sh (npm runs install scripts with it) only: a machine without build tools. */
function bareBin(work) {
  const bin = path.join(work, 'bin');
  mkdirSync(bin);
  const npmPath = process.env.PATH.split(path.delimiter)
    .map((dir) => path.join(dir, 'npm'))
    .find((p) => existsSync(p));
  if (!npmPath) throw new Error('npm is not on PATH');
  symlinkSync(process.execPath, path.join(bin, 'node'));
  symlinkSync(realpathSync(npmPath), path.join(bin, 'npm'));
  symlinkSync('/bin/sh', path.join(bin, 'sh'));
  return bin;
}

/** The environment of a user's shell: this PATH, no npm_* variables of the npm that may be running us, no WSBOLT_*. */
function userEnv(bin) {
  const env = { PATH: bin, HOME: process.env.HOME ?? tmpdir() };
  for (const [key, value] of Object.entries(process.env)) {
    if (/^(https?_proxy|no_proxy|npm_config_(registry|cache|userconfig)|TMPDIR|LANG)$/i.test(key)) env[key] = value;
  }
  return env;
}

const CONSUMER = `
const { backend, backendError, serve, connect } = require('wsbolt');
(async () => {
  const server = await serve({ port: 0, host: '127.0.0.1', message(ws, data, isBinary) { ws.send(data, { binary: isBinary }); } });
  let echoed;
  const echo = new Promise((resolve) => (echoed = resolve));
  const ws = await connect('ws://127.0.0.1:' + server.port + '/', { message(_ws, data) { echoed(data.toString()); } });
  ws.send('hello from the tarball');
  const seen = { backend, backendError, transport: ws.transport, echo: await echo };
  ws.close();
  await server.close();
  seen.esmBackend = (await import('wsbolt')).backend;
  console.log(JSON.stringify(seen));
})().catch((error) => { console.error(error); process.exit(1); });
`;

function installWithoutCompiler(tarball) {
  const work = mkdtempSync(path.join(tmpdir(), 'wsbolt-package-'));
  try {
    const bin = bareBin(work);
    const env = userEnv(bin);
    const reachable = TOOLCHAIN.filter((tool) => env.PATH.split(path.delimiter).some((dir) => existsSync(path.join(dir, tool))));
    if (reachable.length) throw new Error(`the install PATH still reaches ${reachable.join(', ')}`);
    const app = path.join(work, 'app');
    mkdirSync(app);
    writeFileSync(path.join(app, 'package.json'), JSON.stringify({ name: 'app', version: '1.0.0', private: true, allowScripts: { wsbolt: true } }));
    // wsbolt's install script allowed, as a user who approved it would (npm 11 may still skip it for a tarball): whether
    // it runs or not, nothing may be compiled, and the prebuild must load at run time.
    const installLog = run('npm', ['install', tarball, '--no-audit', '--no-fund', '--foreground-scripts'], { cwd: app, env }, { withStderr: true });
    const compiled = existsSync(path.join(app, 'node_modules', 'wsbolt', 'build'));
    writeFileSync(path.join(app, 'echo.cjs'), CONSUMER);
    const seen = JSON.parse(run(process.execPath, ['echo.cjs'], { cwd: app, env }).trim().split('\n').pop());
    return { installLog: installLog.trim(), compiled, ...seen };
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}

const problems = [];
const report = {};
const destination = mkdtempSync(path.join(tmpdir(), 'wsbolt-pack-'));
try {
  const packed = pack(destination);
  report.files = packed.files.length;
  report.prebuilds = packed.files.filter((f) => f.startsWith('prebuilds/'));
  problems.push(...fileListProblems(packed.files, packed.base));
  if (!listOnly) {
    const installed = installWithoutCompiler(packed.tarball);
    console.log(`npm install ${path.basename(packed.tarball)} (PATH: node, npm and sh only):\n${installed.installLog}\n`);
    delete installed.installLog;
    Object.assign(report, installed);
    if (installed.compiled) problems.push('the install compiled the addon (node_modules/wsbolt/build exists)');
    if (installed.backend !== 'native') problems.push(`backend is ${installed.backend}: ${installed.backendError}`);
    if (installed.esmBackend !== installed.backend) problems.push(`import('wsbolt') reports backend ${installed.esmBackend}`);
    if (installed.echo !== 'hello from the tarball') problems.push(`the echo came back as ${JSON.stringify(installed.echo)}`);
  }
} catch (error) {
  problems.push(error.message);
} finally {
  rmSync(destination, { recursive: true, force: true });
}
console.log(`result: ${JSON.stringify({ ...report, problems })}`);
if (problems.length) {
  console.error(`package check failed:\n- ${problems.join('\n- ')}`);
  process.exitCode = 1;
}
