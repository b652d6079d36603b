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
 *
 * Bursts are batched: events published for a board while a fan-out is still queued, to the same
 * listeners, join one queued fan-out that hands each listener all of them in a row. A transport
 * then writes them in one go (an SSE stream enqueues one chunk for the batch): a burst of 20
 * events to 5,000 SSE streams cost 13.8–16.8 µs of server CPU per delivery one event at a time.
 */
import { log } from "../log.ts";
import type { BoardEvent } from "../store/store.ts";
import { type Bus, type EventListener, PublishedEvent } from "./bus.ts";

/** Listeners called between two yields to the event loop, for a single event. */
export const FANOUT_CHUNK = 256;
/** Deliveries between two yields for a batch (so a listener chunk shrinks as batches grow). */
const CHUNK_DELIVERIES = 1024;

interface Fanout {
  /** One board's events, in publish order. */
  events: PublishedEvent[];
  /** The board's listeners when the first event was published (later ones read the log). */
  listeners: readonly EventListener[];
  /** The next listener to call. */
  next: number;
}

export class MemoryBus implements Bus {
  /** Told when an event has been handed to every listener it had (the metrics' fan-out time). */
  onFannedOut: (event: BoardEvent) => void = () => {};
  #listeners = new Map<string, Set<EventListener>>();
  /**
   * Each board's listeners as an array, made on the first publish after a change: consecutive
   * publishes to unchanged listeners share it, which is how a burst is recognised as one batch.
   */
  #snapshots = new Map<string, readonly EventListener[]>();
  /**
   * Fan-outs not finished yet, oldest first, for all boards together: a listener on several
   * boards drops an event whose seq is below one it has seen, so events must reach every
   * listener in global seq order.
   */
  #queue: Fanout[] = [];
  #draining = false;

  publish(event: BoardEvent): void {
    const listeners = this.#snapshot(event.boardId);
    if (!listeners) return;
    const published = new PublishedEvent(event);
    // Only the newest queued fan-out may take it (nothing of another board lies after it, so
    // global order holds), only before its first listener was called, and only for the same
    // listeners (so each still gets exactly the events published while it was subscribed).
    const last = this.#queue.at(-1);
    if (last && last.next === 0 && last.listeners === listeners) {
      last.events.push(published);
      return;
    }
    const fanout: Fanout = { events: [published], listeners, next: 0 };
    if (this.#queue.length === 0) {
      this.#deliverChunk(fanout);
      if (fanout.next === fanout.listeners.length) return this.onFannedOut(event);
    }
    this.#queue.push(fanout);
    if (!this.#draining) this.#drain();
  }

  #snapshot(boardId: string): readonly EventListener[] | undefined {
    let snapshot = this.#snapshots.get(boardId);
    if (!snapshot) {
      const listeners = this.#listeners.get(boardId);
      if (!listeners) return undefined;
      this.#snapshots.set(boardId, snapshot = [...listeners]);
    }
    return snapshot;
  }

  #deliverChunk(fanout: Fanout): void {
    const { events, listeners } = fanout;
    const current = this.#listeners.get(events[0].event.boardId);
    const perChunk = events.length === 1
      ? FANOUT_CHUNK
      : Math.max(1, Math.min(FANOUT_CHUNK, Math.floor(CHUNK_DELIVERIES / events.length)));
    const end = Math.min(listeners.length, fanout.next + perChunk);
    for (; fanout.next < end; fanout.next++) {
      const listener = listeners[fanout.next];
      for (const published of events) {
        // Skip a listener that unsubscribed since the publish (possibly during this loop).
        if (!current?.has(listener)) break;
        try {
          listener(published);
        } catch (error) {
          log.warn(`bus listener failed on event ${published.event.id}: ${error}`);
        }
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
        for (const published of fanout.events) this.onFannedOut(published.event);
      }
    }
    this.#draining = false;
  }

  subscribe(boardId: string, listener: EventListener): () => void {
    let listeners = this.#listeners.get(boardId);
    if (!listeners) this.#listeners.set(boardId, listeners = new Set());
    listeners.add(listener);
    this.#snapshots.delete(boardId);
    return () => {
      const current = this.#listeners.get(boardId);
      if (!current?.delete(listener)) return;
      this.#snapshots.delete(boardId);
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
    this.#snapshots.clear();
    this.#queue = [];
    return Promise.resolve();
  }
}
