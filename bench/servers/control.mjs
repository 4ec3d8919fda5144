// Shared by every bench server (Node and Bun alike), so the idle-memory
// scenario drives them all the same way: with MODE=idle, a line "gc" on stdin
// runs a full garbage collection and answers "gc done" on stdout. Node needs
// --expose-gc for globalThis.gc; Bun has Bun.gc(true) (synchronous, full).
// "heap" answers "heap <json>": V8's committed bytes per heap space (Node
// only; bench/idle-memory.mjs splits RSS with them). Other modes leave stdin alone.
import * as v8 from 'node:v8';

function heapSpaces() {
  if (globalThis.Bun || typeof v8.getHeapSpaceStatistics !== 'function') return {};
  return Object.fromEntries(v8.getHeapSpaceStatistics().map((s) => [s.space_name, s.physical_space_size]));
}

export function control(mode) {
  if (mode !== 'idle') return;
  const fullGc = globalThis.Bun ? () => globalThis.Bun.gc(true) : globalThis.gc;
  let pending = '';
  process.stdin.setEncoding('utf8');
  process.stdin.on('data', (chunk) => {
    pending += chunk;
    let nl;
    while ((nl = pending.indexOf('\n')) >= 0) {
      const line = pending.slice(0, nl).trim();
      pending = pending.slice(nl + 1);
      if (line === 'heap') {
        console.log(`heap ${JSON.stringify(heapSpaces())}`);
        continue;
      }
      if (line !== 'gc') continue;
      if (!fullGc) {
        console.log('gc unavailable');
        continue;
      }
      // Twice: objects freed by the first pass's finalizers go in the second.
      fullGc();
      fullGc();
      console.log('gc done');
    }
  });
}

let transportReported = false;

/**
 * Prints "transport=<name>" for the first connection if it says which socket
 * layer it runs on (issue 17's ws.transport, 'native' or 'stream'), so the
 * bench can check that a contestant measured the transport it is named
 * after. Builds where ws.transport is absent, or is not that string, print
 * nothing.
 */
export function reportTransport(ws) {
  if (transportReported) return;
  transportReported = true;
  if (typeof ws.transport === 'string') console.log(`transport=${ws.transport}`);
}
