/**
 * The in-process bus: a set of listeners per board. Every listener sees events in publish order.
 * A large fan-out runs in chunks with a macrotask between them, because Deno writes nothing to
 * sockets while a synchronous loop runs: one loop over 10k listeners would hold the first
 * subscriber's bytes back until the last one's were queued. A small fan-out with nothing queued
 * ahead of it is still delivered synchronously, inside `publish`.
 *
 * The macrotask is `setImmediate`: like any return to the event loop it lets the runtime write
 * what the chunk queued, but it costs ~13 µs, where `setTimeout(0)` waits ~2 ms here (a 10k
 * fan-out would add 80 ms to its last delivery and halve burst throughput).
 */
import { log } from "../log.ts";
import type { BoardEvent } from "../store/store.ts";
import { type Bus, type EventListener, PublishedEvent } from "./bus.ts";

/** Listeners called between two yields to the event loop. */
export const FANOUT_CHUNK = 256;

interface Fanout {
  published: PublishedEvent;
  /** The board's listeners when the event was published (later subscribers read the log). */
  listeners: EventListener[];
  next: number;
}

export class MemoryBus implements Bus {
  /** Told when an event has been handed to every listener it had (the metrics' fan-out time). */
  onFannedOut: (event: BoardEvent) => void = () => {};
  #listeners = new Map<string, Set<EventListener>>();
  /**
   * Fan-outs not finished yet, oldest first, for all boards together: a listener on several
   * boards drops an event whose seq is below one it has seen, so events must reach every
   * listener in global seq order.
   */
  #queue: Fanout[] = [];
  #draining = false;

  publish(event: BoardEvent): void {
    const listeners = this.#listeners.get(event.boardId);
    if (!listeners) return;
    const fanout = { published: new PublishedEvent(event), listeners: [...listeners], next: 0 };
    if (this.#queue.length === 0) {
      this.#deliverChunk(fanout);
      if (fanout.next === fanout.listeners.length) return this.onFannedOut(event);
    }
    this.#queue.push(fanout);
    if (!this.#draining) this.#drain();
  }

  #deliverChunk(fanout: Fanout): void {
    const { published, listeners } = fanout;
    const current = this.#listeners.get(published.event.boardId);
    const end = Math.min(listeners.length, fanout.next + FANOUT_CHUNK);
    for (; fanout.next < end; fanout.next++) {
      const listener = listeners[fanout.next];
      // Skip a listener that unsubscribed since the publish (possibly during this loop).
      if (!current?.has(listener)) continue;
      try {
        listener(published);
      } catch (error) {
        log.warn(`bus listener failed on event ${published.event.id}: ${error}`);
      }
    }
  }

  async #drain(): Promise<void> {
    this.#draining = true;
    while (this.#queue.length > 0) {
      // A macrotask, so the bytes queued so far are written before the next chunk.
      await new Promise((resolve) => setImmediate(resolve));
      const fanout = this.#queue[0];
      if (!fanout) break;
      this.#deliverChunk(fanout);
      if (fanout.next === fanout.listeners.length) {
        this.#queue.shift();
        this.onFannedOut(fanout.published.event);
      }
    }
    this.#draining = false;
  }

  subscribe(boardId: string, listener: EventListener): () => void {
    let listeners = this.#listeners.get(boardId);
    if (!listeners) this.#listeners.set(boardId, listeners = new Set());
    listeners.add(listener);
    return () => {
      const current = this.#listeners.get(boardId);
      if (!current?.delete(listener)) return;
      if (current.size === 0) this.#listeners.delete(boardId);
    };
  }

  subscriberCount(boardId?: string): number {
    if (boardId !== undefined) return this.#listeners.get(boardId)?.size ?? 0;
    let total = 0;
    for (const listeners of this.#listeners.values()) total += listeners.size;
    return total;
  }

  close(): Promise<void> {
    this.#listeners.clear();
    this.#queue = [];
    return Promise.resolve();
  }
}
