/** NODE_DEBUG=wsbolt: handshakes and frames in both directions are traced to stderr (checked on the built package, in a child process). */
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { backend } from '../../src/index.js';

const root = join(__dirname, '../..');
const dist = join(root, 'dist/index.js');
const child = join(root, 'test/fixtures/trace-child.cjs');

function run(command: string, args: string[], env: NodeJS.ProcessEnv, timeout: number): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(command, args, { cwd: root, env, timeout, maxBuffer: 16 * 1024 * 1024 }, (error, stdout, stderr) => {
      resolve({ code: error ? ((error as { code?: number }).code ?? 1) : 0, stdout: String(stdout), stderr: String(stderr) });
    });
  });
}

/** The child's environment: this project's (backend choice included), with or without tracing. */
function childEnv(debug: string | undefined): NodeJS.ProcessEnv {
  const env = { ...process.env };
  delete env.NODE_DEBUG;
  delete env.NODE_OPTIONS; // no loaders from the test runner
  if (debug !== undefined) env.NODE_DEBUG = debug;
  return env;
}

beforeAll(async () => {
  if (existsSync(dist)) return;
  // `npm test` builds dist in its pretest; a direct vitest run may not have.
  const build = await run(process.execPath, [join(root, 'node_modules/typescript/bin/tsc'), '-p', 'tsconfig.build.json'], process.env, 120_000);
  if (build.code !== 0 || !existsSync(dist)) throw new Error(`building dist failed:\n${build.stdout}\n${build.stderr}`);
}, 130_000);

describe('NODE_DEBUG=wsbolt', () => {
  it('traces the handshake and every frame in and out with opcode, length, fin and rsv', async () => {
    const result = await run(process.execPath, [child, dist], childEnv('wsbolt'), 20_000);
    expect(result.stderr).not.toContain('child failed');
    expect(result.code).toBe(0);
    const summary = JSON.parse(result.stdout.trim().split('\n').at(-1)!);
    expect(summary.replies).toEqual(['hello', '<300 bytes>', 'abcd', '<2000 bytes>']);
    expect(summary.backend).toBe(backend); // the child ran on this project's backend

    const lines = result.stderr
      .split('\n')
      .filter((l) => /^WSBOLT \d+: /.test(l))
      .map((l) => l.replace(/^WSBOLT \d+: /, ''));
    const expectLine = (pattern: RegExp) =>
      expect(
        lines.some((l) => pattern.test(l)),
        `${pattern} in:\n${lines.join('\n')}`,
      ).toBe(true);
    // Handshakes: the refused one and the accepted one.
    expectLine(/refused upgrade: 404/);
    expectLine(/^server accepted \/traced\?x=1 from 127\.0\.0\.1:\d+ protocol=-$/);
    // Frames in.
    expectLine(/^server #1 <- text len=5 fin=1 rsv=0$/);
    expectLine(/^server #1 <- binary len=300 fin=1 rsv=0$/);
    expectLine(/^server #1 <- text len=2 fin=0 rsv=0$/);
    expectLine(/^server #1 <- continuation len=2 fin=1 rsv=0$/);
    expectLine(/^server #1 <- ping len=1 fin=1 rsv=0$/);
    expectLine(/^server #1 <- close len=6 fin=1 rsv=0$/);
    // Frames out.
    expectLine(/^server #1 -> text len=5 fin=1 rsv=0$/);
    expectLine(/^server #1 -> binary len=300 fin=1 rsv=0$/);
    expectLine(/^server #1 -> text len=4 fin=1 rsv=0$/);
    expectLine(/^server #1 -> pong len=1 fin=1 rsv=0$/);
    expectLine(/^server #1 -> close len=6 fin=1 rsv=0$/); // the echo carries the code and the reason
    // The connection: its id on every line (the first of the process: the 404 opened none), the negotiated extensions,
    // compressed messages with their length on the wire and uncompressed, the close code, reason and cause.
    expectLine(/^server #1 open 127\.0\.0\.1:\d+ transport=(native|stream) protocol=- extensions=permessage-deflate; client_no_context_takeover$/);
    expectLine(/^server #1 <- text len=\d+ fin=1 rsv=4$/);
    expectLine(/^server #1 <- compressed message wire=\d+ len=2000$/);
    expectLine(/^server #1 -> compressed message wire=\d+ len=2000$/);
    expectLine(/^server #1 closed code=1000 reason="done" cause=remote$/);
    // A protocol error: the error's code and message, the close code sent, and the close with its cause.
    expectLine(/^server #2 protocol error WS_ERR_INVALID_OPCODE \(invalid opcode 3\): closing with 1002$/);
    expectLine(/^server #2 closed code=1002 reason="invalid opcode 3" cause=protocol_error error=WS_ERR_INVALID_OPCODE \(invalid opcode 3\)$/);
    const wire = (direction: string) => Number(lines.find((l) => l.startsWith(`server #1 ${direction} compressed`))!.match(/wire=(\d+)/)![1]);
    expect(wire('<-')).toBeLessThan(100); // 2000 times the same byte
    expect(lines.some((l) => l === `server #1 <- text len=${wire('<-')} fin=1 rsv=4`)).toBe(true); // the frame that carried it
    expect(lines.some((l) => l === `server #1 -> text len=${wire('->')} fin=1 rsv=4`)).toBe(true);
    // In order: the first message in before its echo out, the close last in each direction.
    const at = (pattern: RegExp) => lines.findIndex((l) => pattern.test(l));
    expect(at(/accepted/)).toBeLessThan(at(/<- text len=5/));
    expect(at(/<- text len=5/)).toBeLessThan(at(/-> text len=5/));
    expect(at(/<- close/)).toBeLessThan(at(/-> close/));
    expect(at(/^server #1 open/)).toBeLessThan(at(/<- text len=5/));
    expect(at(/-> close/)).toBeLessThan(at(/^server #1 closed/));
  });

  it('traces nothing without NODE_DEBUG', async () => {
    const result = await run(process.execPath, [child, dist], childEnv(undefined), 20_000);
    expect(result.code).toBe(0);
    expect(result.stdout).toContain('"replies"');
    expect(result.stderr).not.toMatch(/WSBOLT/);
  });
});
