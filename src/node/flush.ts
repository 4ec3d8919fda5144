/**
 * One write per connection per tick: sends only queue frames; the
 * connections that queued something are flushed together once the current
 * callback (a socket read, a timer, user code) has finished.
 */
interface Flushable {
  flush(): void;
}

let pending: Flushable[] = [];
let scheduled = false;

function flushAll(): void {
  scheduled = false;
  const list = pending;
  pending = [];
  for (let i = 0; i < list.length; i++) list[i]!.flush();
}

/** The caller marks itself as queued; each connection is listed at most once per tick. */
export function flushLater(connection: Flushable): void {
  pending.push(connection);
  if (!scheduled) {
    scheduled = true;
    process.nextTick(flushAll);
  }
}
