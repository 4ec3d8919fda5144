/**
 * The benchmark instrument's own correctness, never its speed: the C load
 * generator parses server frames split anywhere across reads (any length
 * form) and catches a wrong byte; the deflate payload is what RFC 7692 says a
 * client sends; the report writers turn fixed results into the right ratios,
 * verdicts, chart and README section. The bench is plain ESM JavaScript,
 * loaded by URL (typed as any). Runs once (the backend does not matter).
 */
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { constants, inflateRawSync } from 'node:zlib';
import { afterAll, describe, expect, it, vi } from 'vitest';

const lib = (name: string) => pathToFileURL(join(__dirname, '../../bench/lib', name)).href;
const load = (name: string): Promise<any> => import(lib(name));
const hasCc = spawnSync('sh', ['-c', 'command -v cc'], { stdio: 'ignore' }).status === 0;
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * A WebSocket "server" that answers the handshake, reads masked client frames
 * and sends each payload back (optionally altered) in pieces: the header one
 * byte at a time, then the payload in a few chunks, with pauses between
 * writes so the load generator sees them in separate reads. deflate: the 101
 * accepts permessage-deflate and echoes carry RSV1 (payloads go back as sent:
 * already compressed).
 */
function splittingServer(alter: (payload: Buffer) => Buffer = (p) => p, { deflate = false } = {}): Promise<{ server: Server; port: number }> {
  const server = createServer((socket: Socket) => {
    socket.setNoDelay(true);
    let buf = Buffer.alloc(0);
    let open = false;
    let busy = Promise.resolve();
    socket.on('error', () => {});
    socket.on('data', (d) => {
      buf = Buffer.concat([buf, d]);
      if (!open) {
        const end = buf.indexOf('\r\n\r\n');
        if (end < 0) return;
        buf = buf.subarray(end + 4);
        open = true;
        const ext = deflate ? 'Sec-WebSocket-Extensions: permessage-deflate; server_no_context_takeover; client_no_context_takeover\r\n' : '';
        socket.write(`HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: x\r\n${ext}\r\n`);
      }
      for (;;) {
        if (buf.length < 2) return;
        let len = buf[1] & 0x7f;
        let off = 2;
        if (len === 126) [len, off] = [buf.readUInt16BE(2), 4];
        else if (len === 127) [len, off] = [Number(buf.readBigUInt64BE(2)), 10];
        if (buf.length < off + 4 + len) return;
        const key = buf.subarray(off, off + 4);
        const payload = Buffer.from(buf.subarray(off + 4, off + 4 + len));
        for (let i = 0; i < len; i++) payload[i] ^= key[i & 3];
        const opcode = buf[0] & 0x0f;
        buf = buf.subarray(off + 4 + len);
        busy = busy.then(() => sendSplit(socket, opcode | (deflate ? 0x40 : 0), alter(payload)));
      }
    });
  });
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve({ server, port: (server.address() as any).port })));
}

async function sendSplit(socket: Socket, opcode: number, payload: Buffer) {
  const n = payload.length;
  const head = n < 126 ? Buffer.from([0x80 | opcode, n]) : Buffer.alloc(n <= 0xffff ? 4 : 10);
  if (n >= 126 && n <= 0xffff) {
    head[0] = 0x80 | opcode;
    head[1] = 126;
    head.writeUInt16BE(n, 2);
  } else if (n > 0xffff) {
    head[0] = 0x80 | opcode;
    head[1] = 127;
    head.writeBigUInt64BE(BigInt(n), 2);
  }
  for (const byte of head) {
    if (socket.destroyed) return;
    socket.write(Buffer.from([byte]));
    await sleep(2);
  }
  const step = Math.ceil(n / 3) || 1;
  for (let i = 0; i < n; i += step) {
    if (socket.destroyed) return;
    socket.write(payload.subarray(i, i + step));
    await sleep(2);
  }
}

describe('bench instrument', () => {
  const dir = mkdtempSync(join(tmpdir(), 'wsbolt-bench-test-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  let loadgen: string | null = null;
  const build = async () => {
    const { buildLoadgen } = await load('loadgen.mjs');
    loadgen ??= buildLoadgen({ out: join(dir, 'loadgen'), quiet: true }) as string;
    return loadgen;
  };

  /** A 1 s load generator run against port; resolves with its report. */
  const runAt = async (port: number, args: string[]) => {
    const bin = await build();
    const child = await new Promise<string>((resolve) => {
      const p = spawn(bin, ['--port', String(port), '--duration', '1', '--warmup', '0', ...args], { stdio: ['ignore', 'pipe', 'ignore'] });
      let out = '';
      p.stdout.on('data', (d: Buffer) => (out += d));
      p.on('close', () => resolve(out));
    });
    return JSON.parse(child.trim().split('\n').pop()!);
  };

  const run = async (alter: ((p: Buffer) => Buffer) | undefined, args: string[]) => {
    const { server, port } = await splittingServer(alter);
    try {
      return await runAt(port, args);
    } finally {
      server.close();
    }
  };

  it.runIf(hasCc).each([
    ['64-bit length, binary', ['--size', '70000', '--binary']],
    ['16-bit length, text', ['--size', '300', '--text']],
    ['7-bit length, text', ['--size', '20', '--text']],
  ])('loadgen reassembles %s frames split across reads', async (_name, args) => {
    const report = await run(undefined, ['--conns', '2', '--inflight', '2', '--verify', ...args]);
    expect(report.error_kinds).toEqual({});
    expect(report.errors).toBe(0);
    expect(report.messages).toBeGreaterThan(2);
  });

  it.runIf(hasCc)('loadgen --verify catches one wrong byte and a wrong length', async () => {
    const flipped = await run((p) => ((p[p.length - 1] ^= 1), p), ['--conns', '1', '--inflight', '1', '--size', '70000', '--binary', '--verify']);
    expect(flipped.error_kinds.payload).toBeGreaterThan(0);
    const short = await run((p) => p.subarray(1), ['--conns', '1', '--inflight', '1', '--size', '300', '--text']);
    expect(short.error_kinds.length).toBeGreaterThan(0);
  });

  /**
   * Idle mode against port: waits for "open N of M", runs whileOpen, then
   * closes stdin; resolves with the report, the open line and whileOpen's result.
   */
  const idleAt = async <T = undefined>(port: number, args: string[], whileOpen: () => Promise<T> = async () => undefined as T) => {
    const bin = await build();
    return new Promise<{ report: any; open: string; during: T }>((resolve, reject) => {
      const p = spawn(bin, ['--port', String(port), '--mode', 'idle', '--duration', '20', '--warmup', '0', ...args], { stdio: ['pipe', 'pipe', 'pipe'] });
      let out = '';
      let open = '';
      let during: Promise<T> = Promise.resolve(undefined as T);
      p.stdout.on('data', (d: Buffer) => (out += d));
      p.stderr.on('data', (d: Buffer) => {
        const m = String(d).match(/loadgen: open \d+ of \d+/);
        if (m && !open) {
          open = m[0];
          during = whileOpen().finally(() => p.stdin.end());
        }
      });
      p.on('close', () => during.then((value) => resolve({ report: JSON.parse(out.trim().split('\n').pop()!), open, during: value }), reject));
    });
  };

  const idle = async (deflate: boolean, args: string[]) => {
    const { server, port } = await splittingServer(undefined, { deflate });
    try {
      return await idleAt(port, args);
    } finally {
      server.close();
    }
  };

  it.runIf(hasCc)('loadgen idle --deflate offers the extension, exchanges one compressed message per connection, then idles', async () => {
    const { writeCompressedMessage } = await load('deflate-payload.mjs');
    const file = join(dir, 'deflate-2000.bin');
    writeCompressedMessage(file, 2000);
    const ok = await idle(true, ['--conns', '3', '--deflate', file]);
    expect(ok.open).toBe('loadgen: open 3 of 3');
    expect(ok.report).toMatchObject({ errors: 0, deflate: true, messages: 3, conns_open: 3 });
    // A server that does not accept permessage-deflate fails every handshake.
    const refused = await idle(false, ['--conns', '2', '--deflate', file]);
    expect(refused.open).toBe('loadgen: open 0 of 2');
    expect(refused.report.error_kinds).toEqual({ handshake: 2 });
  });

  it('the deflate payload is one message compressed as RFC 7692 7.2.1 says', async () => {
    const { compressedMessage, jsonLikeText } = await load('deflate-payload.mjs');
    const text: string = jsonLikeText(16384);
    expect(text.length).toBe(16384);
    const body: Buffer = compressedMessage(16384);
    expect(body.subarray(-4).equals(Buffer.from([0, 0, 0xff, 0xff]))).toBe(false);
    const inflated = inflateRawSync(Buffer.concat([body, Buffer.from([0, 0, 0xff, 0xff])]), { finishFlush: constants.Z_SYNC_FLUSH });
    expect(inflated.toString()).toBe(text);
  });

  // Fixed results: two scenarios, three contestants.
  const summary = (median: number, extra: object = {}) => ({
    median,
    min: median,
    max: median,
    runsUsed: 3,
    runsTotal: 3,
    allNoisy: false,
    limited: 0,
    errors: 0,
    failures: 0,
    ...extra,
  });
  const contestant = (label: string) => ({ label, backend: null, runs: [], failures: [] });
  const results = [
    {
      id: 'a',
      name: 'echo-32',
      title: 'echo 32 B text',
      unit: 'msgs/s',
      better: 'higher',
      load: { mode: 'echo' },
      contestants: { wsbolt: contestant('wsbolt'), ws: contestant('ws'), bun: contestant('bun') },
      summary: { wsbolt: summary(800_000), ws: summary(100_000), bun: summary(1_600_000, { limited: 1 }) },
      ratios: { wsbolt: 8, ws: 1, bun: 16 },
    },
    {
      id: 'g',
      name: 'idle',
      title: 'idle memory',
      unit: 'KB/conn',
      better: 'lower',
      load: { mode: 'idle' },
      contestants: { wsbolt: contestant('wsbolt'), ws: contestant('ws') },
      summary: { wsbolt: summary(4), ws: summary(6) },
      ratios: { wsbolt: 1.5, ws: 1 },
    },
  ];

  it('judges targets with ratios from the same run, memory inverted', async () => {
    const { targetRows } = await load('report.mjs');
    const rows = targetRows(results);
    const a = rows.find((t: any) => t.scenario === 'a' && t.contestant === 'wsbolt');
    expect(a).toMatchObject({ achieved: 8, met: true });
    const g = rows.find((t: any) => t.scenario === 'g');
    expect(g.achieved).toBeCloseTo(1.5);
    expect(g.met).toBe(false); // 6 ÷ 4 < 2, and 4 KB > 3.4 KB
    const fallback = rows.find((t: any) => t.contestant === 'wsbolt-js');
    expect(fallback.met).toBeNull(); // no wsbolt-js result: no verdict
  });

  it('writes the overview, the chart and the README section from fixed results', async () => {
    const { overviewTable } = await load('report.mjs');
    const { chartSvg } = await load('svg.mjs');
    const { replaceSection, START, END, benchSection } = await load('readme.mjs');
    const table: string = overviewTable(results);
    expect(table).toContain('| a) echo 32 B text | msgs/s | 800k (8.00×) | 100k | 1.60M (16.0×)¹ |');
    expect(table).toContain('| g) idle memory | KB/conn (lower is better) | 4.00 (1.50×) | 6.00 | — |');

    const svg: string = chartSvg(results, { caption: 'test' });
    expect(svg.startsWith('<svg')).toBe(true);
    expect(svg.trim().endsWith('</svg>')).toBe(true);
    expect(svg.match(/<rect [^>]*><title>/g)).toHaveLength(5); // one bar per result
    expect(svg).toContain('target ≥ 7× ws');

    const doc = {
      machine: { cpu: 'CPU', cores: 2, os: 'Linux', node: 'v20', date: '2026-01-01T00:00:00Z', pinned: 'pinned' },
      bun: 'bun 1.4.5',
      settings: { rounds: 3, duration: 3, warmup: 1 },
      scenarios: results,
    };
    const readme = `# x\n\nbefore\n${START}\nold\n${END}\nafter\n`;
    const updated: string = replaceSection(readme, benchSection(doc));
    expect(updated.startsWith(`# x\n\nbefore\n${START}\n`)).toBe(true);
    expect(updated.endsWith(`${END}\nafter\n`)).toBe(true);
    expect(updated).not.toContain('old');
    expect(updated).toContain('CPU, 2 cores, Linux, Node v20, bun 1.4.5');
    expect(updated).toContain('![wsbolt (both transports and the fallback), ws, uWebSockets.js and Bun');
    expect(() => replaceSection('no markers', 'x')).toThrow(/bench:start/);
  });

  // ---- issue 17: both transports and uWebSockets.js ------------------------------

  const built = existsSync(join(__dirname, '../../dist/index.mjs'));

  /** Runs fn with process.env[key] set to value (or deleted when undefined), then puts it back. */
  const withEnv = async <T>(key: string, value: string | undefined, fn: () => Promise<T> | T): Promise<T> => {
    const old = process.env[key];
    if (value === undefined) delete process.env[key];
    else process.env[key] = value;
    try {
      return await fn();
    } finally {
      if (old === undefined) delete process.env[key];
      else process.env[key] = old;
    }
  };

  /** A directory that looks like a uWebSockets.js build: package.json and an index.js with `code`. */
  const fakeUws = (name: string, code: string) => {
    const path = join(dir, name);
    mkdirSync(path, { recursive: true });
    writeFileSync(join(path, 'package.json'), '{ "version": "9.9.9" }\n');
    writeFileSync(join(path, 'index.js'), code);
    return path;
  };

  it('has a contestant for each transport, the fallback and uWebSockets.js, each with the switch that makes it', async () => {
    const { CONTESTANTS } = await load('contestants.mjs');
    const by = Object.fromEntries(CONTESTANTS.map((c: any) => [c.name, c]));
    expect(CONTESTANTS.map((c: any) => c.name)).toEqual([
      'wsbolt',
      'wsbolt-dc',
      'wsbolt-stream',
      'wsbolt-js',
      'wsbolt-ws',
      'ws',
      'ws-js',
      'uws',
      'bun',
      'node-net',
    ]);
    expect(by['wsbolt-dc']).toMatchObject({ script: 'wsbolt.mjs', env: { BENCH_DC: '1' }, expect: 'native', transport: 'native', optIn: true });
    expect(by.wsbolt).toMatchObject({ script: 'wsbolt.mjs', env: {}, expect: 'native', transport: 'native' });
    expect(by['wsbolt-stream']).toMatchObject({ script: 'wsbolt.mjs', env: { WSBOLT_TRANSPORT: 'stream' }, expect: 'native', transport: 'stream' });
    expect(by['wsbolt-js']).toMatchObject({ script: 'wsbolt.mjs', env: { WSBOLT_NO_NATIVE: '1' }, expect: 'js', transport: 'stream' });
    expect(by.uws).toMatchObject({ runtime: 'node', script: 'uws.mjs', label: 'uWebSockets.js' });
    expect(by.uws.scenarios).toBeUndefined(); // every scenario, deflate ones included
  });

  it.runIf(built)("a stray WSBOLT_TRANSPORT in the caller's shell cannot turn wsbolt into wsbolt-stream", async () => {
    const { contestants } = await load('contestants.mjs');
    const { list } = await withEnv('WSBOLT_TRANSPORT', 'stream', () => contestants(['wsbolt', 'wsbolt-stream']));
    const env = Object.fromEntries(list.map((c: any) => [c.name, c.env.WSBOLT_TRANSPORT]));
    expect(env).toEqual({ wsbolt: undefined, 'wsbolt-stream': 'stream' });
  });

  it.runIf(built)('runs wsbolt-dc (every diagnostics_channel subscribed) only when named, and a stray BENCH_DC reaches no one else', async () => {
    const { contestants } = await load('contestants.mjs');
    const all = await withEnv('BENCH_DC', '1', () => contestants());
    expect(all.list.map((c: any) => c.name)).not.toContain('wsbolt-dc');
    expect(all.list.find((c: any) => c.name === 'wsbolt').env.BENCH_DC).toBeUndefined();
    const named = await withEnv('BENCH_DC', '1', () => contestants(['wsbolt', 'wsbolt-dc']));
    expect(Object.fromEntries(named.list.map((c: any) => [c.name, c.env.BENCH_DC]))).toEqual({ wsbolt: undefined, 'wsbolt-dc': '1' });
  });

  it('finds uWebSockets.js by UWS_PATH in either layout and skips it with the reason when it is missing or does not load', async () => {
    const { contestants, findUws } = await load('contestants.mjs');
    const good = fakeUws('uws-good/uWebSockets.js', 'module.exports = {};\n');
    expect(findUws({ UWS_PATH: join(dir, 'uws-good') })).toEqual({ path: good, version: '9.9.9' });
    expect(findUws({ UWS_PATH: good })).toEqual({ path: good, version: '9.9.9' });
    expect(findUws({ UWS_PATH: join(dir, 'nowhere') }).missing).toContain('no uWebSockets.js in');
    const broken = fakeUws('uws-broken', 'throw new Error("built for another ABI\\nstack");\n');
    expect(findUws({ UWS_PATH: broken }).missing).toMatch(/does not load under Node v\d+.*: built for another ABI$/);

    const skipped = await withEnv('UWS_PATH', broken, () => contestants(['uws']));
    expect(skipped.list).toEqual([]);
    expect(skipped.skipped).toEqual([expect.stringMatching(/^uws: skipped: .*built for another ABI/)]);
    const found = await withEnv('UWS_PATH', good, () => contestants(['uws']));
    expect(found.list).toHaveLength(1);
    expect(found.list[0].env.UWS_MODULE).toBe(good);
    expect(found.list[0].argv.at(-1)).toMatch(/bench[\\/]servers[\\/]uws\.mjs$/);
  });

  it('keeps a server\'s "transport=" line as its transport, never as the answer to a command', async () => {
    const { startServer, stopServer } = await load('proc.mjs');
    const script = join(dir, 'fake-server.mjs');
    writeFileSync(
      script,
      [
        "import { createInterface } from 'node:readline';",
        "console.log('ready backend=fake');",
        "createInterface({ input: process.stdin }).on('line', (l) => { if (l === 'gc') { console.log('transport=stream'); console.log('gc done'); } });",
      ].join('\n'),
    );
    const server = await startServer([process.execPath, script], process.env);
    try {
      expect(server.ready).toBe(true);
      expect(server.transport).toBeNull();
      expect(await server.command('gc', 10_000)).toBe('gc done');
      expect(server.transport).toBe('stream');
    } finally {
      await stopServer(server);
    }
  });

  it('with MODE=idle a bench server answers "heap" with V8\'s committed bytes per space and "gc" after a full GC', async () => {
    const { startServer, stopServer } = await load('proc.mjs');
    const script = join(dir, 'control-server.mjs');
    const control = pathToFileURL(join(__dirname, '../../bench/servers/control.mjs')).href;
    writeFileSync(script, [`import { control } from ${JSON.stringify(control)};`, "control('idle');", "console.log('ready backend=fake');"].join('\n'));
    const server = await startServer([process.execPath, '--expose-gc', script], process.env);
    try {
      expect(server.ready).toBe(true);
      const answer: string = await server.command('heap', 10_000);
      expect(answer).toMatch(/^heap \{/);
      const spaces = JSON.parse(answer.slice('heap '.length));
      expect(spaces.new_space).toBeGreaterThan(0);
      expect(spaces.old_space).toBeGreaterThan(0);
      expect(await server.command('gc', 10_000)).toBe('gc done');
    } finally {
      await stopServer(server);
    }
  });

  it('a bench server reports the transport of its first connection only when ws.transport is a name', async () => {
    // A fresh copy of the module per case: the "first connection" flag is per process.
    const control = (n: number): Promise<any> => import(`${pathToFileURL(join(__dirname, '../../bench/servers/control.mjs')).href}?case=${n}`);
    const printed: string[] = [];
    const log = vi.spyOn(console, 'log').mockImplementation((line: string) => void printed.push(line));
    try {
      const a = await control(1);
      a.reportTransport({ transport: { internal: true } }); // today's internal Transport object: not a name
      a.reportTransport({ transport: 'native' }); // a later connection: not reported
      const b = await control(2);
      b.reportTransport({ transport: 'stream' });
      b.reportTransport({ transport: 'native' });
    } finally {
      log.mockRestore();
    }
    expect(printed).toEqual(['transport=stream']);
  });

  it('the scenario table shows the transport each contestant reported, flags one that measured the other, and adds × uWS', async () => {
    const { scenarioTable } = await load('report.mjs');
    const table: string = scenarioTable({
      ...results17[0],
      contestants: {
        wsbolt: { ...contestant('wsbolt'), backend: 'native', expect: 'native', transport: 'stream', expectTransport: 'native' },
        'wsbolt-stream': { ...contestant('wsbolt-stream'), backend: 'native', expect: 'native', transport: 'stream', expectTransport: 'stream' },
        uws: { ...contestant('uws'), backend: 'uws-20.66.0', expect: null },
        ws: { ...contestant('ws'), backend: 'bufferutil', expect: 'bufferutil' },
      },
    });
    expect(table.split('\n')[0]).toMatch(/\| × ws \| × uWebSockets\.js \|$/);
    expect(table).toContain('| wsbolt (native transport) [native; stream transport, expected native] | 900k |');
    expect(table).toContain('| wsbolt (native on streams) [native; stream transport] | 850k |');
    expect(table).toMatch(/\| uWebSockets\.js \[uws-20\.66\.0\] \| 1\.00M \|.*\| 10\.0× \| 1\.00× \|$/m);
    expect(table).toMatch(/\| wsbolt \(native transport\) .*\| 9\.00× \| 0\.90× \|$/m);
  });

  // Fixed results with uWS and the stream path; a reference run as stream-reference.json holds one.
  const results17 = [
    {
      id: 'a',
      name: 'echo-32',
      title: 'echo 32 B text',
      unit: 'msgs/s',
      better: 'higher',
      load: { mode: 'echo' },
      contestants: { wsbolt: contestant('wsbolt'), 'wsbolt-stream': contestant('wsbolt-stream'), uws: contestant('uws'), ws: contestant('ws') },
      // uWS saturated the load generator: its figure is a floor, so wsbolt's 0.9× is at most 0.9×.
      summary: { wsbolt: summary(900_000), 'wsbolt-stream': summary(850_000), uws: summary(1_000_000, { limited: 1 }), ws: summary(100_000) },
      ratios: { wsbolt: 9, 'wsbolt-stream': 8.5, uws: 10, ws: 1 },
    },
    {
      // wsbolt saturated it and is ahead anyway: met, as a floor.
      id: 'b',
      name: 'echo-1k',
      title: 'echo 1 KiB binary',
      unit: 'msgs/s',
      better: 'higher',
      load: { mode: 'echo' },
      contestants: { wsbolt: contestant('wsbolt'), uws: contestant('uws'), ws: contestant('ws') },
      summary: { wsbolt: summary(550_000, { limited: 2 }), uws: summary(500_000), ws: summary(100_000) },
      ratios: { wsbolt: 5.5, uws: 5, ws: 1 },
    },
    {
      // wsbolt saturated it and is behind: its real rate may be higher, so no verdict.
      id: 'c',
      name: 'echo-64k',
      title: 'echo 64 KiB binary',
      unit: 'msgs/s',
      better: 'higher',
      load: { mode: 'echo' },
      contestants: { wsbolt: contestant('wsbolt'), uws: contestant('uws'), ws: contestant('ws') },
      summary: { wsbolt: summary(40_000, { limited: 1 }), uws: summary(50_000), ws: summary(20_000) },
      ratios: { wsbolt: 2, uws: 2.5, ws: 1 },
    },
    {
      id: 'g',
      name: 'idle',
      title: 'idle memory',
      unit: 'KB/conn',
      better: 'lower',
      load: { mode: 'idle' },
      contestants: { wsbolt: contestant('wsbolt'), 'wsbolt-stream': contestant('wsbolt-stream'), uws: contestant('uws'), ws: contestant('ws') },
      summary: { wsbolt: summary(1.2), 'wsbolt-stream': summary(6.4), uws: summary(0.7), ws: summary(7.2) },
      ratios: { wsbolt: 6, 'wsbolt-stream': 7.2 / 6.4, uws: 7.2 / 0.7, ws: 1 },
    },
  ];
  const reference = {
    source: 'test',
    contestant: 'wsbolt',
    machine: { cpu: 'CPU', cores: 2, node: 'v20', date: '2026-11-22T05:28:29.698Z' },
    scenarios: { a: summary(880_000), g: summary(6) },
  };

  it('judges issue 17: ≥ uWS in the same run, load-generator floors, ≤ 1.5 KB idle, the stream path against the reference run', async () => {
    const { targetRows } = await load('report.mjs');
    const rows = targetRows(results17, reference);
    const find = (scenario: string, contestant: string, issue = 17) =>
      rows.find((t: any) => t.issue === issue && t.scenario === scenario && t.contestant === contestant);
    expect(find('a', 'wsbolt')).toMatchObject({ baseline: 'uws', achieved: 0.9, met: false, bound: 'ceiling' });
    expect(find('b', 'wsbolt')).toMatchObject({ achieved: 1.1, met: true, bound: 'floor' });
    expect(find('c', 'wsbolt')).toMatchObject({ achieved: 0.8, met: null, bound: 'floor' });
    expect(find('g', 'wsbolt')).toMatchObject({ achieved: null, met: true, note: '1.20 KB/conn' });
    const streamA = find('a', 'wsbolt-stream');
    expect(streamA.achieved).toBeCloseTo(850 / 880);
    expect(streamA.met).toBe(true); // 96.6 % of the reference
    const streamG = find('g', 'wsbolt-stream');
    expect(streamG.achieved).toBeCloseTo(6 / 6.4);
    expect(streamG.met).toBe(false); // 6.7 % more memory than the reference
    expect(find('b', 'wsbolt-stream')).toMatchObject({ met: null, note: 'no result for wsbolt-stream' });
    // Without a reference run there is nothing to compare the stream path with.
    const alone = targetRows(results17).find((t: any) => t.scenario === 'a' && t.contestant === 'wsbolt-stream');
    expect(alone).toMatchObject({ met: null, note: 'no reference figure for a) in the reference run' });
    // Figures from another machine or Node: the difference is shown, the verdict withheld.
    const elsewhere = targetRows(results17, { ...reference, mismatch: 'the reference run had cpu X; this one cpu Y' }).find(
      (t: any) => t.scenario === 'a' && t.contestant === 'wsbolt-stream',
    );
    expect(elsewhere.achieved).toBeCloseTo(850 / 880);
    expect(elsewhere).toMatchObject({ met: null, note: 'reference from another setup: the reference run had cpu X; this one cpu Y' });
    // ... also when the difference would have missed the target: no verdict, not "missed".
    const elsewhereG = targetRows(results17, { ...reference, mismatch: 'the reference run had cpu X; this one cpu Y' }).find(
      (t: any) => t.scenario === 'g' && t.contestant === 'wsbolt-stream',
    );
    expect(elsewhereG).toMatchObject({ met: null });
    // Issue 6's targets are still judged, with the same floor rule.
    expect(find('a', 'wsbolt', 6)).toMatchObject({ achieved: 9, met: true, bound: null });
  });

  it('j) is g) read again once the server has idled 10 s: the same load, described so, with no target of its own', async () => {
    const { SCENARIOS, TARGETS, describeLoad } = await load('scenarios.mjs');
    const g = SCENARIOS.find((s: any) => s.id === 'g');
    const j = SCENARIOS.find((s: any) => s.id === 'j');
    expect(j).toMatchObject({ name: 'idle-settled', unit: 'KB/conn', better: 'lower', load: { ...g.load, settle: 10 } });
    expect(describeLoad(j.load)).toBe('10,000 idle connections, RSS after a full GC once the server has idled 10 s more');
    expect(describeLoad(g.load)).toBe('10,000 idle connections, RSS after a full GC');
    // Issue 17's targets are on g; the stored reference run has no j to hold the stream path to.
    expect(TARGETS.filter((t: any) => t.scenario === 'j')).toEqual([]);
  });

  it("prints issue 17's targets with floors and ceilings marked, and draws the ones this run can place", async () => {
    const { targetsTable, overviewTable, resultDocument } = await load('report.mjs');
    const { chartSvg } = await load('svg.mjs');
    const { benchSection } = await load('readme.mjs');
    const table: string = targetsTable(results17, reference);
    expect(table.split('\n')[0]).toBe('| issue | scenario | contestant | target | achieved | |');
    expect(table).toContain(
      '| 17 | a) echo 32 B text | wsbolt (native transport) vs uWebSockets.js | ≥ uWebSockets.js | ≤ 0.90× (uws: load generator above 90 %, a floor) | missed |',
    );
    expect(table).toContain(
      '| 17 | b) echo 1 KiB binary | wsbolt (native transport) vs uWebSockets.js | ≥ uWebSockets.js | ≥ 1.10× (wsbolt: load generator above 90 %, a floor) | met |',
    );
    expect(table).toContain(
      '| 17 | c) echo 64 KiB binary | wsbolt (native transport) vs uWebSockets.js | ≥ uWebSockets.js | ≥ 0.80× (wsbolt: load generator above 90 %, a floor) | not settled (load generator limited) |',
    );
    expect(table).toContain('| 17 | g) idle memory | wsbolt (native transport) | ≤ 1.5 KB per connection | 1.20 KB/conn | met |');
    expect(table).toContain(
      '| 17 | a) echo 32 B text | wsbolt (native on streams) vs wsbolt, run of 2026-11-22 | within 5 % of wsbolt before the native transport | 0.97× | met |',
    );

    const overview: string = overviewTable(results17);
    expect(overview.split('\n')[0]).toBe('| scenario | unit | wsbolt (native transport) | wsbolt (native on streams) | ws + bufferutil | uWebSockets.js |');
    expect(overview).toContain('| a) echo 32 B text | msgs/s | 900k (9.00×) | 850k (8.50×) | 100k | 1.00M (10.0×)¹ |');

    const svg: string = chartSvg(results17, { caption: 'test' });
    expect(svg).toContain('fill="#2f9e44"><title>uWebSockets.js: 10×</title>');
    expect(svg).toContain('<title>target ≥ uWebSockets.js</title>');
    expect(svg).toContain('<title>target ≤ 1.5 KB per connection</title>');
    expect(svg).not.toContain('within 5 %'); // another run's figure has no place on this run's scale
    expect(svg).toContain('>uWebSockets.js</text>'); // in the legend

    const doc = resultDocument({
      results: results17,
      settings: { rounds: 1, duration: 1, warmup: 0 },
      machine: { cpu: 'CPU', cores: 2, os: 'Linux', node: 'v20', date: '2026-12-01T00:00:00Z', pinned: 'pinned' },
      skipped: [],
      wallSeconds: 1,
      bun: null,
      reference,
    });
    expect(doc.reference).toBe(reference);
    expect(doc.targets).toContainEqual(
      expect.objectContaining({ issue: 17, scenario: 'a', contestant: 'wsbolt-stream', baseline: 'wsbolt (reference run)', met: true }),
    );
    expect(doc.targets).toContainEqual(expect.objectContaining({ issue: 17, scenario: 'c', contestant: 'wsbolt', met: null, bound: 'floor' }));
    const section: string = benchSection(doc);
    expect(section).toContain('"before the native transport" is the run of 2026-11-22 kept in `bench/results/stream-reference.json`');
    expect(section).toContain('| 17 | a) echo 32 B text | wsbolt (native on streams) vs wsbolt, run of 2026-11-22 |');
  });

  it("keeps wsbolt's figures from before the native transport, and says when they come from another machine", async () => {
    const { loadReference, referenceMismatch, referenceFrom } = await load('reference.mjs');
    const stored = loadReference();
    expect(stored.contestant).toBe('wsbolt');
    expect(Object.keys(stored.scenarios)).toEqual(['a', 'b', 'c', 'd', 'e', 'f', 'g', 'h', 'i']);
    for (const s of Object.values<any>(stored.scenarios)) expect(s.median).toBeGreaterThan(0);
    expect(referenceMismatch(stored, stored.machine)).toBeNull();
    expect(referenceMismatch(stored, { ...stored.machine, node: 'v99.0.0' })).toBe(`the reference run had node ${stored.machine.node}; this one node v99.0.0`);
    expect(referenceMismatch(null, stored.machine)).toMatch(/no reference run/);
    expect(loadReference(join(dir, 'none.json'))).toBeNull();
    const made = referenceFrom({ machine: reference.machine, settings: {}, scenarios: results17 }, 'wsbolt', 'test');
    expect(made.scenarios.a).toMatchObject({ title: 'echo 32 B text', unit: 'msgs/s', better: 'higher', median: 900_000 });
    expect(made.scenarios.g.median).toBe(1.2);
  });

  const uws = (() => {
    const r = spawnSync(
      process.execPath,
      ['--input-type=module', '-e', `import(${JSON.stringify(lib('contestants.mjs'))}).then((m) => console.log(JSON.stringify(m.findUws())))`],
      {
        encoding: 'utf8',
      },
    );
    try {
      return JSON.parse(r.stdout) as { path?: string; missing?: string };
    } catch {
      return { missing: r.stderr };
    }
  })();

  it.runIf(hasCc && uws.path)(
    'the uWebSockets.js server echoes (verified), publishes to every subscriber, and speaks permessage-deflate with the load generator',
    async () => {
      const { contestants } = await load('contestants.mjs');
      const { freePort, startServer, stopServer } = await load('proc.mjs');
      const { writeCompressedMessage } = await load('deflate-payload.mjs');
      const { list } = contestants(['uws']);
      expect(list).toHaveLength(1);
      const start = async (env: object) => {
        const port = await freePort();
        const server = await startServer(list[0].argv, { ...list[0].env, PORT: String(port), ...env });
        expect(server.ready).toBe(true);
        expect(server.backend).toMatch(/^uws-\d/);
        return { server, port };
      };

      const echo = await start({ MODE: 'echo', DEFLATE: '0' });
      try {
        const report = await runAt(echo.port, ['--conns', '2', '--inflight', '2', '--size', '70000', '--binary', '--verify']);
        expect(report.error_kinds).toEqual({});
        expect(report.messages).toBeGreaterThan(2);
      } finally {
        await stopServer(echo.server);
      }

      const broadcast = await start({ MODE: 'broadcast', DEFLATE: '0' });
      try {
        const report = await runAt(broadcast.port, ['--mode', 'broadcast', '--conns', '3', '--inflight', '2', '--size', '32', '--text']);
        expect(report.error_kinds).toEqual({});
        expect(report.messages).toBeGreaterThan(3);
      } finally {
        await stopServer(broadcast.server);
      }

      const file = join(dir, 'deflate-uws.bin');
      writeCompressedMessage(file, 16 * 1024);
      const compressed = await start({ MODE: 'idle', DEFLATE: '1' });
      try {
        const held = await idleAt(compressed.port, ['--conns', '3', '--deflate', file], () => compressed.server.command('gc', 10_000));
        expect(held.open).toBe('loadgen: open 3 of 3');
        expect(held.report).toMatchObject({ errors: 0, deflate: true, messages: 3, conns_open: 3 });
        expect(held.during).toBe('gc done');
      } finally {
        await stopServer(compressed.server);
      }
    },
  );
});
