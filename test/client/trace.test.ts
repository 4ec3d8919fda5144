/**
 * NODE_DEBUG=wsbolt traces the client's handshake and frames. The client runs
 * in a child process on the built package (dist/, from
 * `npx tsc -p tsconfig.build.json`; `npm test` builds it first), against a
 * ws server in this process, so every wsbolt line comes from the client.
 */
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { cleanup } from '../kit/index.js';
import { startServer } from './util.js';

afterEach(cleanup);

const dist = resolve(__dirname, '../../dist/index.js');

const script = `
const { connect } = require(process.argv[1]);
connect(process.argv[2], {
  perMessageDeflate: false,
  message(ws, data, isBinary) {
    if (isBinary) ws.close(1000, 'done');
  },
  close(ws, code) {
    console.log('closed ' + code);
  },
}).then((ws) => {
  ws.send('hello trace');
  ws.ping('pp');
  ws.send(Buffer.alloc(200, 1));
}, (error) => {
  console.error('connect failed: ' + error.message);
  process.exit(2);
});
`;

function run(url: string, env: NodeJS.ProcessEnv): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolvePromise, reject) => {
    const child = spawn(process.execPath, ['-e', script, dist, url], { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    const timer = setTimeout(() => child.kill(), 10_000);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolvePromise({ code, stdout, stderr });
    });
  });
}

describe('NODE_DEBUG=wsbolt', () => {
  it('the built package exists (run `npx tsc -p tsconfig.build.json`)', () => {
    expect(existsSync(dist), `${dist} is missing`).toBe(true);
  });

  it.runIf(existsSync(dist))('traces the client handshake and its frames in both directions', async () => {
    const server = await startServer('ws');
    const url = `${server.url}/traced`;
    const { code, stdout, stderr } = await run(url, { NODE_DEBUG: 'wsbolt', WSBOLT_NO_NATIVE: process.env.WSBOLT_NO_NATIVE ?? '' });
    expect(code, stderr).toBe(0);
    expect(stdout.trim()).toBe('closed 1000');
    const lines = stderr.split('\n').filter((l) => /^WSBOLT \d+:/.test(l));
    const text = lines.join('\n');
    expect(text).toMatch(/client connecting to ws:\/\/127\.0\.0\.1:\d+\/traced/);
    expect(text).toMatch(/client connected to ws:\/\/127\.0\.0\.1:\d+\/traced/);
    // Out: the frames we sent; in: the server's echoes and its pong.
    expect(text).toMatch(/client #\d+ -> text len=11 fin=1 rsv=0/);
    expect(text).toMatch(/client #\d+ -> ping len=2 fin=1/);
    expect(text).toMatch(/client #\d+ -> binary len=200 fin=1/);
    expect(text).toMatch(/client #\d+ <- text len=11 fin=1/);
    expect(text).toMatch(/client #\d+ <- pong len=2 fin=1/);
    expect(text).toMatch(/client #\d+ <- binary len=200 fin=1/);
    expect(text).toMatch(/client #\d+ -> close len=6 fin=1/);
    expect(text).toMatch(/client #\d+ <- close len=\d+ fin=1/);
    // The connection's id, its open and its close (code, reason, cause) on lines of their own.
    expect(text).toMatch(/client #\d+ open 127\.0\.0\.1:\d+ transport=(native|stream) protocol=- extensions=-$/m);
    expect(text).toMatch(/client #\d+ closed code=1000 reason="done" cause=local$/m);
    // No server lines: the server here is ws.
    expect(text).not.toMatch(/server /);
  });

  it.runIf(existsSync(dist))('prints nothing without NODE_DEBUG', async () => {
    const server = await startServer('ws');
    const { code, stderr } = await run(server.url, { NODE_DEBUG: '' });
    expect(code).toBe(0);
    expect(stderr).not.toMatch(/WSBOLT/);
  });
});
