/**
 * The event bus contract: committed board events in, subscribers (SSE streams, long-poll
 * waiters, WebSocket rooms) out. The memory bus serves one process on SQLite; the relay bus
 * (bus_relay.ts) an instance on PostgreSQL, alone or in a cluster. What every implementation guarantees to the subscribers of one
 * instance:
 * - every committed event is delivered once, in strictly increasing seq order across all boards
 *   (a feed drops what is at or below its cursor, so order is what makes that safe);
 * - on one instance that is the order of `publish` calls, which the store makes in commit
 *   order; across instances the relay restores seq order and fills gaps from the log;
 * - a listener that throws is logged and skipped; it never stops delivery to the others;
 * - `publish` never throws and never waits: a failure to tell other instances (Redis down) is
 *   counted and logged, and they catch up from the log; nothing is lost.
 */
import type { BoardEvent } from "../store/store.ts";

/**
 * A published event with per-encoding caches, so each transport encodes an event once per
 * publish rather than once per connection.
 */
export class PublishedEvent {
  #json?: string;
  #encodings = new Map<string, unknown>();

  constructor(readonly event: BoardEvent) {}

  /** The event as JSON text (the body of an SSE `data:` line and of a WebSocket frame). */
  get json(): string {
    return this.#json ??= JSON.stringify(this.event);
  }

  /** A transport-specific encoding, computed by `encode` on first use and then shared. */
  encoded<T>(key: string, encode: (event: PublishedEvent) => T): T {
    if (!this.#encodings.has(key)) this.#encodings.set(key, encode(this));
    return this.#encodings.get(key) as T;
  }
}

export type EventListener = (published: PublishedEvent) => void;

export interface Bus {
  /**
   * Delivers the event to every subscriber of its board, in the order of publish calls. A
   * listener that throws is logged and skipped; it never stops delivery to the others.
   */
  publish(event: BoardEvent): void;
  /** Subscribes to one board's events; the returned function unsubscribes (idempotent). */
  subscribe(boardId: string, listener: EventListener): () => void;
  /** Number of listeners on a board, or on all boards. */
  subscriberCount(boardId?: string): number;
  close(): Promise<void>;
}
