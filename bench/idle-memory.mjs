// Where an idle connection's memory goes: scenario g)'s measurement for one
// contestant, with the server's RSS split into V8's young generation, the
// rest of V8's heap and everything else (native memory: the addon's and
// Node's allocations, malloc's free space, stacks), read twice: 1 s after
// the last handshake, as g) reads it, and again after the server has idled
// for SETTLE seconds (default 10). Each reading follows a full GC.
//
//   node bench/idle-memory.mjs                 (wsbolt, 10,000 connections)
//   node bench/idle-memory.mjs uws 10000       (any contestant; Bun has no V8 split)
//
// A burst of handshakes grows V8's young generation (up to 32 MiB on Node
// 20), and V8 gives it back only once allocation has been low for a while: the
// second reading shows what the connections themselves hold.
import { contestants } from './lib/contestants.mjs';
import { buildLoadgen, holdIdle, loadgenArgs } from './lib/loadgen.mjs';
import { freePort, hardFdLimit, pinned, rssOf, sleep, startServer, stopServer, withHardFdLimit } from './lib/proc.mjs';

const name = process.argv[2] ?? 'wsbolt';
const wanted = Number(process.argv[3] ?? process.env.IDLE_CONNS ?? 10_000);
const settle = Number(process.env.SETTLE ?? 10);
const { list, skipped } = contestants([name]);
const contestant = list[0];
if (!contestant) {
  console.error(skipped[0] ?? `no contestant named ${name}`);
  process.exit(2);
}
const hard = hardFdLimit();
const conns = hard !== null && hard < wanted + 256 ? Math.max(100, hard - 256) : wanted;
buildLoadgen({ quiet: true });

const port = await freePort();
const server = await startServer(pinned(0, withHardFdLimit(contestant.argv)), { ...contestant.env, PORT: String(port), MODE: 'idle' });
if (!server.ready) {
  await stopServer(server);
  console.error(`${name}: the server did not start: ${server.stderr.join(' | ')}`);
  process.exit(1);
}

/** RSS and V8's committed bytes per space, after a full GC. */
async function reading() {
  if ((await server.command('gc')) !== 'gc done') throw new Error('the server did not run its full GC');
  const answer = await server.command('heap');
  const spaces = answer?.startsWith('heap ') ? JSON.parse(answer.slice(5)) : {};
  return { rss: rssOf(server.pid), spaces };
}

const young = (r) => (r.spaces.new_space ?? 0) + (r.spaces.new_large_object_space ?? 0);
const v8All = (r) => Object.values(r.spaces).reduce((a, b) => a + b, 0);
const hasSplit = (r) => Object.keys(r.spaces).length > 0;

await sleep(500); // start-up work (module loading, JIT) settles before the baseline
const base = await reading();
const hold = holdIdle(loadgenArgs({ mode: 'idle', conns }, port, { duration: 600, warmup: 0 }), 120);
const opened = await hold.opened;
if (!opened) {
  await hold.release();
  await stopServer(server);
  console.error(`the load generator opened no connection (${hold.diag.join(' | ')})`);
  process.exit(1);
}
await sleep(1000); // the server finishes its side of the last handshakes
const early = await reading();
await sleep(settle * 1000);
const late = await reading();
await hold.release();
await stopServer(server);

const perConn = (bytes) => `${Math.round(bytes / opened)}`.padStart(6);
const row = (label, r) => {
  const rss = r.rss - base.rss;
  if (!hasSplit(r)) return `| ${label} | ${perConn(rss)} | | | |`;
  const y = young(r) - young(base);
  const rest = v8All(r) - young(r) - (v8All(base) - young(base));
  return `| ${label} | ${perConn(rss)} | ${perConn(y)} | ${perConn(rest)} | ${perConn(rss - y - rest)} |`;
};
console.log(`${contestant.label}: ${opened.toLocaleString('en-US')} idle connections; bytes per connection, each reading after a full GC`);
console.log('| reading | RSS | V8 young generation | V8 old generation and code | native and the rest |');
console.log('|---|---:|---:|---:|---:|');
console.log(row("1 s after the last handshake (scenario g's reading)", early));
console.log(row(`after ${settle} s more of idling`, late));
