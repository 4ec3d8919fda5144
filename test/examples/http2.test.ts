/**
 * examples/http2.mjs (the node:http2 recipe of docs/recipes.md): one TLS port serves HTTP/2 requests, HTTP/1.1
 * requests and WebSocket upgrades (allowHTTP1), and stops cleanly on SIGTERM.
 */
import { readFileSync } from 'node:fs';
import * as http2 from 'node:http2';
import { expect, it } from 'vitest';
import { connect } from '../../src/index.js';
import { HOST, ROOT, start, useCleanup, withTimeout } from '../kit/index.js';

const defer = useCleanup();
const ca = readFileSync(`${ROOT}/test/fixtures/cert.pem`);

function http2Get(origin: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const session = http2.connect(origin, { ca });
    session.on('error', reject);
    const req = session.request({ ':path': '/' });
    let body = '';
    req.setEncoding('utf8');
    req.on('data', (chunk: string) => (body += chunk));
    req.on('end', () => {
      session.close();
      resolve(body);
    });
    req.on('error', reject);
  });
}

it('serves HTTP/2 and WebSocket (over HTTP/1.1) on one TLS port', async () => {
  const child = start(defer, ['examples/http2.mjs'], { env: { PORT: '0', HOST } });
  const [, port] = await child.waitFor(/https:\/\/127\.0\.0\.1:(\d+)/);
  expect(await withTimeout(http2Get(`https://${HOST}:${port}`), 10_000, 'the HTTP/2 request')).toContain('HTTP/2.0');

  let echoed!: (text: string) => void;
  const echo = new Promise<string>((resolve) => (echoed = resolve));
  const ws = await connect(`wss://${HOST}:${port}/ws`, { ca, message: (_ws, data) => echoed(data.toString()) });
  defer(() => ws.terminate());
  ws.send('over http2 allowHTTP1 ✓');
  expect(await withTimeout(echo, 10_000, 'the echo')).toBe('over http2 allowHTTP1 ✓');

  expect(await child.stop('SIGTERM')).toEqual({ code: 0, signal: null });
});
