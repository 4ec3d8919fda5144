/** Which backend is live, and the loader's fallbacks. */
import { execFileSync } from 'node:child_process';
import { cpSync, mkdtempSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { backend, backends, backendError } from '../../src/native/index.js';

const root = resolve(__dirname, '../..');
const run = (cwd: string, code: string, env: NodeJS.ProcessEnv = {}) =>
  execFileSync(process.execPath, ['-e', code], { cwd, env: { ...process.env, WSBOLT_NO_NATIVE: '', ...env }, encoding: 'utf8' }).trim();

describe('backend', () => {
  it(`is ${process.env.WSBOLT_EXPECT_BACKEND} in this project`, () => {
    expect(backend, `native load error: ${backendError}`).toBe(process.env.WSBOLT_EXPECT_BACKEND);
    expect(backends.js.name).toBe('js');
  });

  it('the built package reports native, and js with WSBOLT_NO_NATIVE=1', () => {
    expect(run(root, "console.log(require('./').backend)")).toBe('native');
    expect(run(root, "console.log(require('./').backend)", { WSBOLT_NO_NATIVE: '1' })).toBe('js');
    expect(run(root, "import('wsbolt').then(m => console.log(m.backend))")).toBe('native');
  });

  describe('with the compiled addon removed', () => {
    const dir = mkdtempSync(join(tmpdir(), 'wsbolt-noaddon-'));
    afterAll(() => rmSync(dir, { recursive: true, force: true }));

    it('falls back to js and still speaks the protocol', () => {
      const pkg = join(dir, 'node_modules', 'wsbolt');
      cpSync(join(root, 'dist'), join(pkg, 'dist'), { recursive: true });
      cpSync(join(root, 'package.json'), join(pkg, 'package.json'));
      symlinkSync(join(root, 'node_modules', 'node-gyp-build'), join(dir, 'node_modules', 'node-gyp-build'), 'dir');
      const script = `
        const w = require('wsbolt');
        const events = [];
        const h = { onMessage: (d) => events.push(d.toString()), onPing() {}, onPong() {}, onCloseFrame() {}, onProtocolError(e) { events.push(e.code); } };
        const client = new w.Protocol({ role: 'client' }, h);
        const server = new w.Protocol({ role: 'server' }, h);
        client.send('hello', false);
        server.receive(Buffer.concat(client.dataToSend()));
        server.receive(Buffer.from([0x83]));
        console.log(w.backend, events.join(','));
      `;
      expect(run(dir, script)).toBe('js hello,WS_ERR_INVALID_OPCODE');
      expect(run(dir, "import('wsbolt/native').then(m => console.log(m.backend))")).toBe('js');
    });
  });
});
