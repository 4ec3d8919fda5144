/**
 * The shape of `wsbolt/ws` as consumers see it.
 *
 * In-process (the TypeScript sources): the default export is the WebSocket
 * class with ws's statics; named exports are the same objects.
 *
 * Packaged: src/ is compiled with tsconfig.build.json into a temporary
 * directory laid out as an installed package (node_modules/wsbolt with the
 * `exports['./ws']` entry the package needs), then
 * - `node` requires and imports `wsbolt/ws` and runs an echo through it;
 * - `tsc --noEmit` compiles two fixtures written against @types/ws
 *   (fixtures/usage.ts.fixture, CommonJS; fixtures/usage.mts.fixture, ESM)
 *   against the emitted declarations.
 */
import { execFile } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as namespace from '../../src/ws/index.js';
import WebSocket, { WebSocketServer, createWebSocketStream } from '../../src/ws/index.js';

const run = promisify(execFile);
const ROOT = path.resolve(__dirname, '../..');
const TSC = path.join(ROOT, 'node_modules/typescript/bin/tsc');

/** The entry package.json needs (see the report): */
export const WS_EXPORT = {
  './ws': {
    import: { types: './dist/ws/index.d.mts', default: './dist/ws/index.mjs' },
    require: { types: './dist/ws/index.d.ts', default: './dist/ws/index.js' },
  },
};

describe('in-process module shape', () => {
  it('default export is the WebSocket class, with ws statics', () => {
    expect(typeof WebSocket).toBe('function');
    expect(WebSocket.WebSocket).toBe(WebSocket);
    expect(WebSocket.WebSocketServer).toBe(WebSocketServer);
    expect(WebSocket.Server).toBe(WebSocketServer);
    expect(WebSocket.createWebSocketStream).toBe(createWebSocketStream);
    expect([WebSocket.CONNECTING, WebSocket.OPEN, WebSocket.CLOSING, WebSocket.CLOSED]).toEqual([0, 1, 2, 3]);
    expect([WebSocket.prototype.CONNECTING, WebSocket.prototype.OPEN, WebSocket.prototype.CLOSING, WebSocket.prototype.CLOSED]).toEqual([0, 1, 2, 3]);
    expect(namespace.default).toBe(WebSocket);
  });
});

describe('the packaged entry points', () => {
  let dir = '';
  let pkg = '';
  let built = false;

  beforeAll(async () => {
    dir = mkdtempSync(path.join(tmpdir(), 'wsbolt-ws-'));
    pkg = path.join(dir, 'node_modules', 'wsbolt');
    mkdirSync(pkg, { recursive: true });
    // The build configuration, restricted to what wsbolt/ws needs (tsc follows the imports).
    const tsconfig = path.join(dir, 'tsconfig.build.json');
    writeFileSync(
      tsconfig,
      JSON.stringify({
        extends: path.join(ROOT, 'tsconfig.build.json'),
        compilerOptions: { rootDir: path.join(ROOT, 'src'), outDir: path.join(pkg, 'dist'), sourceMap: false },
        files: [path.join(ROOT, 'src/ws/index.ts'), path.join(ROOT, 'src/ws/index.mts')],
        include: [],
      }),
    );
    try {
      await run(process.execPath, [TSC, '-p', tsconfig], { cwd: ROOT });
    } catch {
      // Errors elsewhere in src/ (work in progress) still emit; what matters is that dist/ws exists.
    }
    built = existsSync(path.join(pkg, 'dist/ws/index.js')) && existsSync(path.join(pkg, 'dist/ws/index.mjs'));
    writeFileSync(
      path.join(pkg, 'package.json'),
      JSON.stringify({ name: 'wsbolt', version: '0.0.0-test', exports: { ...WS_EXPORT, './package.json': './package.json' } }, null, 2),
    );
    // The addon and its loader, so that the packaged copy runs on the same backend as this project.
    if (existsSync(path.join(ROOT, 'build'))) symlinkSync(path.join(ROOT, 'build'), path.join(pkg, 'build'), 'dir');
    symlinkSync(path.join(ROOT, 'node_modules/node-gyp-build'), path.join(dir, 'node_modules/node-gyp-build'), 'dir');
  }, 120_000);

  afterAll(() => {
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('tsc emitted dist/ws/index.js and index.mjs', () => {
    expect(built).toBe(true);
  });

  it("require('wsbolt/ws') returns the WebSocket class; import gives the same objects; an echo works", async () => {
    const script = `
      const assert = require('node:assert');
      const WebSocket = require('wsbolt/ws');
      assert.strictEqual(typeof WebSocket, 'function');
      assert.strictEqual(WebSocket.WebSocket, WebSocket);
      assert.strictEqual(WebSocket.Server, WebSocket.WebSocketServer);
      assert.strictEqual(typeof WebSocket.createWebSocketStream, 'function');
      assert.deepStrictEqual([WebSocket.CONNECTING, WebSocket.OPEN, WebSocket.CLOSING, WebSocket.CLOSED], [0, 1, 2, 3]);
      (async () => {
        const esm = await import('wsbolt/ws');
        assert.strictEqual(esm.default, WebSocket);
        assert.strictEqual(esm.WebSocket, WebSocket);
        assert.strictEqual(esm.WebSocketServer, WebSocket.WebSocketServer);
        assert.strictEqual(esm.createWebSocketStream, WebSocket.createWebSocketStream);
        const wss = new esm.WebSocketServer({ port: 0, host: '127.0.0.1' });
        await new Promise((resolve) => wss.on('listening', resolve));
        wss.on('connection', (ws) => ws.on('message', (data, isBinary) => ws.send(data, { binary: isBinary })));
        const client = new WebSocket('ws://127.0.0.1:' + wss.address().port);
        client.on('open', () => client.send('through the package'));
        const [data, isBinary] = await new Promise((resolve) => client.on('message', (...args) => resolve(args)));
        client.terminate();
        for (const ws of wss.clients) ws.terminate();
        await new Promise((resolve) => wss.close(resolve));
        console.log(JSON.stringify({ data: data.toString(), isBinary, instance: client instanceof esm.WebSocket, backend: require(${JSON.stringify(path.join(pkg, 'dist/native/index.js'))}).backend }));
      })().catch((error) => { console.error(error); process.exit(1); });
    `;
    const { stdout } = await run(process.execPath, ['-e', script], { cwd: dir, timeout: 20_000 });
    const expected = process.env.WSBOLT_EXPECT_BACKEND ?? (process.env.WSBOLT_NO_NATIVE ? 'js' : 'native');
    expect(JSON.parse(stdout.trim().split('\n').at(-1)!)).toEqual({ data: 'through the package', isBinary: false, instance: true, backend: expected });
  }, 30_000);

  it('code written against @types/ws compiles against the emitted declarations (CommonJS and ESM)', async () => {
    const project = path.join(dir, 'project');
    mkdirSync(project, { recursive: true });
    cpSync(path.join(__dirname, 'fixtures/usage.ts.fixture'), path.join(project, 'usage.ts'));
    cpSync(path.join(__dirname, 'fixtures/usage.mts.fixture'), path.join(project, 'usage.mts'));
    writeFileSync(
      path.join(project, 'tsconfig.json'),
      JSON.stringify({
        compilerOptions: {
          target: 'ES2022',
          module: 'node16',
          moduleResolution: 'node16',
          lib: ['ES2022', 'DOM'],
          strict: true,
          noEmit: true,
          esModuleInterop: true,
          skipLibCheck: false,
          types: ['node'],
          typeRoots: [path.join(ROOT, 'node_modules/@types')],
        },
        files: ['usage.ts', 'usage.mts'],
      }),
    );
    let output = '';
    try {
      await run(process.execPath, [TSC, '-p', path.join(project, 'tsconfig.json')], { cwd: project });
    } catch (error) {
      output = String((error as { stdout?: string }).stdout ?? error);
    }
    expect(output).toBe('');
  }, 120_000);
});
