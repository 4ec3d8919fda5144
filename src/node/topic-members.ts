/**
 * One topic's local subscribers, in two parts: those the addon reaches by id
 * in one call per publish (native-fanout.ts fanOut: on the native transport,
 * without compression, under a backpressure limit the addon's bound implies),
 * kept as an array of ids the addon walks, and the rest, which publish visits
 * one by one. A connection's part never changes while it is subscribed: its
 * transport and its compression are fixed when it opens.
 */
import type { WebSocket } from './connection.js';

export class TopicMembers {
  /** Subscribers publish visits one by one. */
  readonly others = new Set<WebSocket<unknown>>();
  /** byId[i]'s transport id is ids[i]: the array handed to the addon (its first byId.length entries). */
  ids = new Float64Array(4);
  readonly byId: WebSocket<unknown>[] = [];
  /** Where each of byId is, so that leaving costs no search (the last one takes its place). */
  private readonly at = new Map<WebSocket<unknown>, number>();

  get size(): number {
    return this.others.size + this.byId.length;
  }

  has(ws: WebSocket<unknown>): boolean {
    return this.at.has(ws) || this.others.has(ws);
  }

  /** Is ws among those the addon reaches by id? */
  byIdHas(ws: WebSocket<unknown>): boolean {
    return this.at.has(ws);
  }

  /** Adds ws, reached by the addon through transport id `id`, or one by one when id is -1; false if it was there. */
  add(ws: WebSocket<unknown>, id: number): boolean {
    if (this.has(ws)) return false;
    if (id < 0) {
      this.others.add(ws);
      return true;
    }
    const n = this.byId.length;
    if (n === this.ids.length) {
      const grown = new Float64Array(2 * n);
      grown.set(this.ids);
      this.ids = grown;
    }
    this.ids[n] = id;
    this.byId.push(ws);
    this.at.set(ws, n);
    return true;
  }

  delete(ws: WebSocket<unknown>): boolean {
    const i = this.at.get(ws);
    if (i === undefined) return this.others.delete(ws);
    this.at.delete(ws);
    const last = this.byId.pop()!;
    if (last !== ws) {
      this.byId[i] = last;
      this.ids[i] = this.ids[this.byId.length]!;
      this.at.set(last, i);
    }
    return true;
  }
}
