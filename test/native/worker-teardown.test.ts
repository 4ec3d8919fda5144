/**
 * wsbolt in worker threads of a process whose main thread never loads it: every way a worker can end leaves the
 * process running. A worker's environment unloads the addon once its cleanup is over; the addon's libuv handles (the
 * read-batch check handle, open connections) used to be closed with callbacks still pending
 * then, which ran in unmapped code: the process died of SIGSEGV when such a worker ended. The workers run in a child
 * process (fixtures/worker-teardown.cjs), so a crash fails the test instead of killing the runner.
 */
import { spawnSync } from 'node:child_process';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';

const FIXTURE = path.join(__dirname, 'fixtures', 'worker-teardown.cjs');
const expectedTransport = process.env.WSBOLT_EXPECT_TRANSPORT;

function run(mode: string) {
  const child = spawnSync(process.execPath, [FIXTURE, mode], { encoding: 'utf8', timeout: 60_000 });
  return { status: child.status, signal: child.signal, stdout: child.stdout.trim(), stderr: child.stderr };
}

describe('a worker thread that used wsbolt ends', () => {
  it('after loading the package only', () => {
    const r = run('load');
    expect({ status: r.status, signal: r.signal, stdout: r.stdout }, r.stderr).toEqual({ status: 0, signal: null, stdout: 'ok -' });
  });

  it('by process.exit() with connections open at both ends', () => {
    const r = run('exit');
    expect({ status: r.status, signal: r.signal, stdout: r.stdout }, r.stderr).toEqual({ status: 0, signal: null, stdout: `ok ${expectedTransport}` });
  });

  it('by terminate() from the parent with connections open at both ends', () => {
    const r = run('terminate');
    expect({ status: r.status, signal: r.signal, stdout: r.stdout }, r.stderr).toEqual({ status: 0, signal: null, stdout: `ok ${expectedTransport}` });
  });
});
