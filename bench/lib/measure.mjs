// One run: one contestant, one scenario, a fresh server. Throughput scenarios
// (echo, broadcast, storm, deflate) are timed by the load generator; the idle
// scenarios (idle, idle-deflate) read the server's RSS around opening the
// connections. Resolves with a run record ({ value, ... }) or { failure: why }
// — never rejects.
import { join } from 'node:path';
import { buildLoadgen, holdIdle, loadgenArgs, runLoadgen } from './loadgen.mjs';
import { freePort, pinned, rssOf, sleep, startServer, stopServer, withHardFdLimit } from './proc.mjs';

export const LIMITED_CPU = 90; // % of one core: above this the load generator is the bottleneck
// % of one core used by anything but the server and the load generator; above
// this the run shared the machine (tests, builds) and its number is suspect.
export const NOISY_CPU = 25;

/** What the server said about itself: its ready line's backend, its first connection's transport. */
const reported = (server) => ({ backend: server.backend, transport: server.transport });

function serverEnv(contestant, scenario, port) {
  const mode = scenario.load.mode === 'storm' ? 'echo' : scenario.load.mode;
  return { ...contestant.env, PORT: String(port), MODE: mode, DEFLATE: scenario.load.deflate ? '1' : '0' };
}

async function start(contestant, scenario, argv) {
  const port = await freePort();
  const server = await startServer(argv, serverEnv(contestant, scenario, port));
  if (!server.ready) {
    await stopServer(server);
    return { failure: `server did not print ready${server.stderr.length ? `: ${server.stderr.join(' | ')}` : ''}` };
  }
  return { server, port };
}

/** Echo, broadcast, storm and deflate: the load generator's rate over its measured window. */
async function throughput(contestant, scenario, { duration, warmup }) {
  const started = await start(contestant, scenario, pinned(0, contestant.argv));
  if (started.failure) return started;
  const { server, port } = started;
  const run = await runLoadgen(loadgenArgs(scenario.load, port, { duration, warmup }), server.pid, warmup + duration + 30);
  const crashed = server.crashed();
  await stopServer(server);
  if (crashed) return { failure: `server exited during the run: ${server.stderr.join(' | ')}`, ...reported(server) };
  if (run.error) return { failure: `${run.error}${run.diag.length ? ` (${run.diag.join(' | ')})` : ''}`, ...reported(server) };
  const r = run.report;
  return {
    value: r.rate,
    mibPerSec: r.mib_per_s,
    loadgenCpu: r.cpu_pct,
    serverCpu: run.serverCpu,
    otherCpu: run.otherCpu,
    limited: r.cpu_pct > LIMITED_CPU,
    noisy: run.otherCpu !== null && run.otherCpu > NOISY_CPU,
    errors: r.errors,
    errorKinds: r.error_kinds,
    ...reported(server),
    diag: run.diag,
  };
}

/**
 * Idle memory: RSS after a full GC before any connection (the baseline) and
 * again with every connection open and idle; the difference per connection,
 * in KB (1024 B, as /proc reports it). With deflate (scenario i) each
 * connection has exchanged one compressed message before idling, and one
 * such connection is opened and closed before the baseline, so code the
 * server loads on its first compressed message (zlib bindings, lazily
 * imported modules) is not charged to the connections.
 */
async function idle(contestant, scenario, { conns }) {
  const started = await start(contestant, scenario, pinned(0, withHardFdLimit(contestant.argv)));
  if (started.failure) return started;
  const { server, port } = started;
  const fail = async (why) => {
    await stopServer(server);
    return { failure: why, ...reported(server) };
  };
  if (scenario.load.deflate) {
    const warm = holdIdle(loadgenArgs({ ...scenario.load, conns: 1 }, port, { duration: 600, warmup: 0 }), 60);
    const ok = await warm.opened;
    await warm.release();
    if (!ok) return fail(`the warm-up connection failed${warm.diag.length ? ` (${warm.diag.join(' | ')})` : ''}`);
  }
  await sleep(500); // let start-up work (module loading, JIT) settle before the baseline
  if ((await server.command('gc')) !== 'gc done') return fail('the server did not run its full GC (is --expose-gc missing?)');
  const before = rssOf(server.pid);
  const hold = holdIdle(loadgenArgs({ ...scenario.load, conns }, port, { duration: 600, warmup: 0 }), 120);
  const opened = await hold.opened;
  if (!opened) {
    await hold.release();
    return fail(`the load generator opened no connection${hold.diag.length ? ` (${hold.diag.join(' | ')})` : ''}`);
  }
  await sleep(1000); // the server finishes its side of the last handshakes
  if (scenario.load.settle) {
    // As bench/idle-memory.mjs reads it: g's full GC first, then the idling. V8 shrinks its young generation at a GC
    // that finds the allocation rate low since the previous one; with no GC after the burst, it never looks.
    if ((await server.command('gc')) !== 'gc done') return fail('the server did not run its full GC');
    await sleep(scenario.load.settle * 1000);
  }
  const gc = await server.command('gc');
  const after = rssOf(server.pid);
  const report = await hold.release();
  const crashed = server.crashed();
  await stopServer(server);
  if (crashed || gc !== 'gc done') return { failure: `server exited during the run: ${server.stderr.join(' | ')}`, ...reported(server) };
  if (before === null || after === null) return { failure: 'no VmRSS in /proc (not Linux?)', ...reported(server) };
  // Connections the server dropped while we measured are errors too: the load generator saw them close.
  const errors = (report?.errors ?? 1) + (conns - opened);
  return {
    value: (after - before) / opened / 1024,
    rssBefore: before,
    rssAfter: after,
    conns: opened,
    limited: false,
    noisy: false,
    errors,
    errorKinds: report?.error_kinds ?? { report: 'missing' },
    ...reported(server),
    diag: hold.diag,
  };
}

/** Prepares what a scenario needs once per bench (the loadgen binary, the deflate payload). */
export async function prepare(scenario, buildDir) {
  buildLoadgen();
  if (scenario.load.deflate && !scenario.load.deflateFile) {
    const { writeCompressedMessage } = await import('./deflate-payload.mjs');
    const file = join(buildDir, `deflate-${scenario.load.size}.bin`);
    const compressed = writeCompressedMessage(file, scenario.load.size);
    scenario.load = { ...scenario.load, deflateFile: file, compressedSize: compressed };
  }
}

export function measure(contestant, scenario, opts) {
  return scenario.load.mode === 'idle' ? idle(contestant, scenario, opts) : throughput(contestant, scenario, opts);
}
