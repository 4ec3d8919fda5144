/**
 * The published types (issue 18 point 8, issue 19 point 7): what tsc emits for dist is checked here, freshly
 * built into a temporary directory (declarations only) so that a stale dist cannot hide a regression.
 * - A strict app typed against `ws` (@types/ws) compiles as it is and with only its import changed to
 *   `wsbolt/ws`; wsbolt/ws's classes are accepted where @types/ws's are expected (assign.ts).
 * - The emitted types show the public API only: no @internal member, none of the engine's callbacks
 *   (onMessage, onPing, onData, …), and assigning `ws.onMessage` does not compile.
 */
import { mkdtempSync, readFileSync, readdirSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import ts from 'typescript';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ROOT } from '../kit/index.js';

const FIXTURE = join(ROOT, 'test/ws/types-fixture');
let out = '';

function emitDeclarations(outDir: string): void {
  const config = ts.getParsedCommandLineOfConfigFile(
    join(ROOT, 'tsconfig.build.json'),
    { outDir, emitDeclarationOnly: true, sourceMap: false },
    {
      ...ts.sys,
      onUnRecoverableConfigFileDiagnostic: (d) => {
        throw new Error(ts.flattenDiagnosticMessageText(d.messageText, '\n'));
      },
    },
  )!;
  const program = ts.createProgram(config.fileNames, config.options);
  const result = program.emit();
  const errors = result.diagnostics.map((d) => ts.flattenDiagnosticMessageText(d.messageText, '\n'));
  if (errors.length > 0) throw new Error(errors.join('\n'));
}

/** Type errors of the fixture files, with file overrides (path → text) and 'wsbolt/*' mapped to the fresh declarations. */
function compile(files: string[], overrides: Record<string, string> = {}): string[] {
  const { config } = ts.readConfigFile(join(FIXTURE, 'tsconfig.json'), ts.sys.readFile);
  const { options } = ts.parseJsonConfigFileContent(config, ts.sys, FIXTURE);
  options.paths = { 'wsbolt/ws': [join(out, 'ws/index.d.ts')], wsbolt: [join(out, 'index.d.ts')] };
  options.typeRoots = [join(ROOT, 'node_modules/@types')];
  const host = ts.createCompilerHost(options);
  const getSourceFile = host.getSourceFile.bind(host);
  host.getSourceFile = (name, language) => (name in overrides ? ts.createSourceFile(name, overrides[name]!, language) : getSourceFile(name, language));
  const program = ts.createProgram(
    files.map((f) => join(FIXTURE, f)),
    options,
    host,
  );
  return ts.getPreEmitDiagnostics(program).map((d) => {
    const where = d.file ? `${d.file.fileName.slice(ROOT.length + 1)}:${d.file.getLineAndCharacterOfPosition(d.start ?? 0).line + 1}: ` : '';
    return where + ts.flattenDiagnosticMessageText(d.messageText, '\n');
  });
}

function declarationFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) return declarationFiles(path);
    return /\.d\.m?ts$/.test(name) ? [path] : [];
  });
}

beforeAll(() => {
  out = mkdtempSync(join(tmpdir(), 'wsbolt-types-'));
  emitDeclarations(out);
}, 120_000);

afterAll(() => {
  if (out) rmSync(out, { recursive: true, force: true });
});

describe('wsbolt/ws where @types/ws is expected', () => {
  it('a strict app typed against ws compiles against ws', () => {
    expect(compile(['app.ts'])).toEqual([]);
  });

  it('the same app, its import changed to wsbolt/ws, compiles', () => {
    const app = join(FIXTURE, 'app.ts');
    const text = readFileSync(app, 'utf8').replaceAll("from 'ws'", "from 'wsbolt/ws'").replaceAll("import('ws')", "import('wsbolt/ws')");
    expect(text).not.toMatch(/'ws'/);
    expect(compile(['app.ts'], { [app]: text })).toEqual([]);
  });

  it("wsbolt/ws's WebSocket, WebSocketServer, RawData and options are assignable to @types/ws's", () => {
    expect(compile(['assign.ts'])).toEqual([]);
  });
});

describe('the emitted types show the public API only', () => {
  it('no @internal member is emitted', () => {
    const leaks = declarationFiles(out).filter((file) => readFileSync(file, 'utf8').includes('@internal'));
    expect(leaks.map((file) => file.slice(out.length + 1))).toEqual([]);
  });

  it("the engine's callbacks are not on the public WebSocket", () => {
    const text = readFileSync(join(out, 'node/connection.d.ts'), 'utf8');
    const body = text.slice(text.indexOf('export declare class WebSocket'));
    for (const name of [
      'onMessage',
      'onPing',
      'onPong',
      'onCloseFrame',
      'onProtocolError',
      'onInflateNeeded',
      'onDeflateNeeded',
      'onData',
      'onEnd',
      'onError',
      'onClose',
      'onDrain',
      'invoke',
      'flush',
      'finish',
      'core',
    ]) {
      expect(body, name).not.toMatch(new RegExp(`\\b${name}\\b\\s*[(:]`));
    }
  });

  it("assigning ws.onMessage does not compile (it would steal the connection's messages)", () => {
    const errors = compile(['steal.ts']);
    expect(errors).toHaveLength(2);
    expect(errors[0]).toMatch(/steal\.ts:\d+: Property 'onMessage' does not exist on type 'WebSocket<unknown>'/);
    expect(errors[1]).toMatch(/steal\.ts:\d+: Property 'onData' does not exist on type 'WebSocket<unknown>'/);
  });

  it('attach() takes an http2 secure server with allowHTTP1', () => {
    expect(compile(['http2.ts'])).toEqual([]);
  });
});
