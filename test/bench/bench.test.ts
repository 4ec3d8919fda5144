/**
 * The benchmark instrument's own correctness, never its speed: the C load
 * generator parses server frames split anywhere across reads (any length
 * form) and catches a wrong byte; the deflate payload is what RFC 7692 says a
 * client sends; the report writers turn fixed results into the right ratios,
 * verdicts, chart and README section. The bench is plain ESM JavaScript,
 * loaded by URL (typed as any). Runs once (the backend does not matter).
 */
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { constants, inflateRawSync } from 'node:zlib';
import { afterAll, describe, expect, it } from 'vitest';

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

  const run = async (alter: ((p: Buffer) => Buffer) | undefined, args: string[]) => {
    const bin = await build();
    const { server, port } = await splittingServer(alter);
    try {
      const child = await new Promise<string>((resolve) => {
        const p = spawn(bin, ['--port', String(port), '--duration', '1', '--warmup', '0', ...args], { stdio: ['ignore', 'pipe', 'ignore'] });
        let out = '';
        p.stdout.on('data', (d: Buffer) => (out += d));
        p.on('close', () => resolve(out));
      });
      return JSON.parse(child.trim().split('\n').pop()!);
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

  /** Idle mode: waits for "open N of M", then closes stdin; resolves with the report and the open line. */
  const idle = async (deflate: boolean, args: string[]) => {
    const bin = await build();
    const { server, port } = await splittingServer(undefined, { deflate });
    try {
      return await new Promise<{ report: any; open: string }>((resolve) => {
        const p = spawn(bin, ['--port', String(port), '--mode', 'idle', '--duration', '20', '--warmup', '0', ...args], { stdio: ['pipe', 'pipe', 'pipe'] });
        let out = '';
        let open = '';
        p.stdout.on('data', (d: Buffer) => (out += d));
        p.stderr.on('data', (d: Buffer) => {
          const m = String(d).match(/loadgen: open \d+ of \d+/);
          if (m && !open) {
            open = m[0];
            p.stdin.end();
          }
        });
        p.on('close', () => resolve({ report: JSON.parse(out.trim().split('\n').pop()!), open }));
      });
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
  const summary = (median: number, extra: object = {}) => ({ median, min: median, max: median, runsUsed: 3, runsTotal: 3, allNoisy: false, limited: 0, errors: 0, failures: 0, ...extra });
  const contestant = (label: string) => ({ label, backend: null, runs: [], failures: [] });
  const results = [
    {
      id: 'a', name: 'echo-32', title: 'echo 32 B text', unit: 'msgs/s', better: 'higher', load: { mode: 'echo' },
      contestants: { wsbolt: contestant('wsbolt'), ws: contestant('ws'), bun: contestant('bun') },
      summary: { wsbolt: summary(800_000), ws: summary(100_000), bun: summary(1_600_000, { limited: 1 }) },
      ratios: { wsbolt: 8, ws: 1, bun: 16 },
    },
    {
      id: 'g', name: 'idle', title: 'idle memory', unit: 'KB/conn', better: 'lower', load: { mode: 'idle' },
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
    expect(updated).toContain('![wsbolt, ws and Bun');
    expect(() => replaceSection('no markers', 'x')).toThrow(/bench:start/);
  });
});
