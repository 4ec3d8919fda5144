// The scenarios of issue 6 ("The instrument") and its targets. A scenario is
// selected by its letter or its name (`npm run bench -- c` = `-- echo-64k`).
// `load` is what the load generator does; `better` says which way is good
// ("higher" rates, "lower" memory), so ratios can always read "× better
// than ws + bufferutil".

export const SCENARIOS = [
  {
    id: 'a',
    name: 'echo-32',
    title: 'echo 32 B text',
    unit: 'msgs/s',
    better: 'higher',
    load: { mode: 'echo', conns: 100, size: 32, inflight: 16, binary: false },
  },
  {
    id: 'b',
    name: 'echo-1k',
    title: 'echo 1 KiB binary',
    unit: 'msgs/s',
    better: 'higher',
    load: { mode: 'echo', conns: 100, size: 1024, inflight: 8, binary: true },
  },
  {
    id: 'c',
    name: 'echo-64k',
    title: 'echo 64 KiB binary',
    unit: 'msgs/s',
    better: 'higher',
    load: { mode: 'echo', conns: 10, size: 64 * 1024, inflight: 4, binary: true },
  },
  {
    id: 'd',
    name: 'echo-1m',
    title: 'echo 1 MiB binary',
    unit: 'msgs/s',
    better: 'higher',
    load: { mode: 'echo', conns: 4, size: 1024 * 1024, inflight: 2, binary: true },
  },
  {
    // One publisher (connection 0) keeps 16 messages outstanding; every
    // message reaches all 200 subscribers: the rate is deliveries/s.
    id: 'e',
    name: 'broadcast',
    title: 'broadcast 32 B to 200',
    unit: 'deliveries/s',
    better: 'higher',
    load: { mode: 'broadcast', conns: 200, size: 32, inflight: 16, binary: false },
  },
  {
    // 50 slots, each cycling connect → handshake → one 32 B echo → closing
    // handshake → server's TCP close. Enough slots to keep a server busy
    // through handshake latency, few enough to stay under listen backlogs.
    id: 'f',
    name: 'storm',
    title: 'connection storm',
    unit: 'handshakes/s',
    better: 'higher',
    load: { mode: 'storm', conns: 50, size: 32, binary: false },
  },
  {
    // Server RSS per idle connection, after a full GC, 10,000 connections.
    id: 'g',
    name: 'idle',
    title: 'idle memory, 10k conns',
    unit: 'KB/conn',
    better: 'lower',
    load: { mode: 'idle', conns: 10_000 },
  },
  {
    // 16 KiB JSON-like text compressed on both sides (no context takeover);
    // 50 connections × 4 in flight keeps zlib busy without queuing for long.
    id: 'h',
    name: 'deflate',
    title: 'echo 16 KiB JSON, deflate',
    unit: 'msgs/s',
    better: 'higher',
    load: { mode: 'echo', conns: 50, inflight: 4, binary: false, deflate: true, size: 16 * 1024 },
  },
  {
    // Issue 7: server RSS per idle connection after a full GC, as in g, but
    // 1,000 connections that negotiated permessage-deflate (no context
    // takeover) and each exchanged one compressed message (h's 16 KiB JSON)
    // first, so any zlib state a server creates lazily exists: ws keeps a
    // deflate and an inflate context per connection once used.
    id: 'i',
    name: 'idle-deflate',
    title: 'idle memory, 1k compressed conns',
    unit: 'KB/conn',
    better: 'lower',
    load: { mode: 'idle', conns: 1_000, deflate: true, size: 16 * 1024 },
  },
  {
    // As g, read again after the server has idled 10 s more (g's full GC,
    // 10 s, another full GC). A burst of handshakes grows V8's young
    // generation, and V8 shrinks it at a GC once the allocation rate has
    // been low for a few seconds: g counts that growth, this reading what
    // the idle connections themselves hold (bench/idle-memory.mjs's second).
    id: 'j',
    name: 'idle-settled',
    title: 'idle memory, 10k conns, after 10 s',
    unit: 'KB/conn',
    better: 'lower',
    load: { mode: 'idle', conns: 10_000, settle: 10 },
  },
];

/** Looks a scenario up by letter or name; null when unknown. */
export function findScenario(key) {
  const k = String(key).toLowerCase();
  return SCENARIOS.find((s) => s.id === k || s.name === k) ?? null;
}

export const describeLoad = (load) => {
  switch (load.mode) {
    case 'storm':
      return `${load.conns} slots, connect + handshake + one ${load.size} B echo + close, repeated`;
    case 'idle':
      return load.deflate
        ? `${load.conns.toLocaleString('en-US')} idle connections (permessage-deflate, one ${load.size} B text message echoed compressed on each first), RSS after a full GC`
        : `${load.conns.toLocaleString('en-US')} idle connections, RSS after a full GC${load.settle ? ` once the server has idled ${load.settle} s more` : ''}`;
    default:
      return (
        `${load.mode}, ${load.conns} connections, ${load.size} B ${load.binary ? 'binary' : 'text'}` +
        `${load.deflate ? ' (permessage-deflate)' : ''}, ${load.inflight} in flight${load.verify ? ', verify' : ''}`
      );
  }
};

/**
 * The targets of issues 6 and 17: `contestant` against `baseline` in
 * `scenario`, as a factor "× better" (rates: contestant ÷ baseline; memory:
 * baseline ÷ contestant), at least `min`. `reference`: the baseline is not in
 * this run but the contestant of that name in the reference run
 * (bench/results/stream-reference.json). `ahead`: must also beat that
 * contestant when it ran. `maxValue`: an absolute ceiling on the
 * contestant's value (alone when there is no baseline).
 */
const UWS_SCENARIOS = ['a', 'b', 'c', 'd', 'e'];
export const TARGETS = [
  { issue: 6, scenario: 'a', contestant: 'wsbolt', baseline: 'ws', min: 7, text: '≥ 7× ws (≈ half of Bun)' },
  { issue: 6, scenario: 'b', contestant: 'wsbolt', baseline: 'ws', min: 5, text: '≥ 5× ws' },
  { issue: 6, scenario: 'c', contestant: 'wsbolt', baseline: 'ws', min: 1.3, ahead: 'bun', text: '≥ 1.3× ws (ahead of Bun)' },
  { issue: 6, scenario: 'd', contestant: 'wsbolt', baseline: 'ws', min: 1.3, text: '≥ 1.3× ws' },
  { issue: 6, scenario: 'e', contestant: 'wsbolt', baseline: 'ws', min: 10, text: '≥ 10× ws' },
  { issue: 6, scenario: 'f', contestant: 'wsbolt', baseline: 'ws', min: 2, text: '≥ 2× ws' },
  { issue: 6, scenario: 'g', contestant: 'wsbolt', baseline: 'ws', min: 2, maxValue: 3.4, text: '≤ 3.4 KB per connection (≤ ½ of ws)' },
  { issue: 6, scenario: 'a', contestant: 'wsbolt-js', baseline: 'ws-js', min: 5, text: 'fallback ≥ 5× ws pure JS' },
  { issue: 6, scenario: 'c', contestant: 'wsbolt-js', baseline: 'ws-js', min: 2, text: 'fallback ≥ 2× ws pure JS' },
  // Issue 17: the native transport level with uWebSockets.js, its idle connections below Bun's, and the
  // stream path (native kernels on net.Socket) no slower than wsbolt was before the native transport.
  ...UWS_SCENARIOS.map((scenario) => ({ issue: 17, scenario, contestant: 'wsbolt', baseline: 'uws', min: 1, text: '≥ uWebSockets.js' })),
  { issue: 17, scenario: 'g', contestant: 'wsbolt', baseline: null, maxValue: 1.5, text: '≤ 1.5 KB per connection' },
  ...SCENARIOS.filter(({ load }) => !load.settle).map(({ id }) => ({
    issue: 17,
    scenario: id,
    contestant: 'wsbolt-stream',
    baseline: 'wsbolt',
    reference: true,
    min: 0.95,
    text: 'within 5 % of wsbolt before the native transport',
  })),
];
