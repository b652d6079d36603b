/**
 * An event feed: one connection's view of the event log for a set of boards — replay from a
 * cursor, then live events from the bus, each exactly once and in seq order. It subscribes
 * before it reads the log and buffers live events during the replay, so no event committed
 * meanwhile is missed, and it drops any event at or below the last one delivered, so none is
 * delivered twice. SSE streams, WebSocket joins and (through `isStale`) polls share it.
 */
import type { Store } from "../store/store.ts";
import { type Bus, PublishedEvent } from "./bus.ts";

const REPLAY_PAGE = 500;

/** True when a client at `cursor` cannot resume: events after it were pruned, or it is unknown. */
export async function isStale(store: Store, cursor: number, current: number): Promise<boolean> {
  return cursor > current || cursor < await store.prunedThrough();
}

export interface FeedHandlers {
  deliver(published: PublishedEvent): void;
  /** The cursor was stale: the client must refetch its snapshot; live events follow from `cursor`. */
  resync(cursor: number): void;
  /** Awaited between replay pages, so a connection can wait until its client has read. */
  drained?(): Promise<void>;
}

export class EventFeed {
  #unsubscribes: (() => void)[] = [];
  #buffer: PublishedEvent[] | null = [];
  #lastDelivered = 0;
  #stopped = false;

  constructor(
    readonly store: Store,
    readonly bus: Bus,
    readonly boardIds: readonly string[],
    readonly handlers: FeedHandlers,
  ) {}

  /** Subscribes to the boards and returns the current cursor; events after it are buffered. */
  async subscribe(): Promise<number> {
    for (const boardId of this.boardIds) {
      this.#unsubscribes.push(this.bus.subscribe(boardId, (p) => this.#onLive(p)));
    }
    return this.#lastDelivered = await this.store.cursor();
  }

  /**
   * Replays the events after `after` (null = start live at the subscribe cursor), then flushes
   * the buffer and switches to live delivery.
   */
  async resume(after: number | null, current: number): Promise<void> {
    if (after !== null) {
      if (await isStale(this.store, after, current)) {
        this.handlers.resync(current);
      } else {
        this.#lastDelivered = after;
        while (!this.#stopped) {
          const page = await this.store.eventsAfter(
            [...this.boardIds],
            this.#lastDelivered,
            REPLAY_PAGE,
          );
          for (const event of page) this.#deliver(new PublishedEvent(event));
          if (page.length < REPLAY_PAGE) break;
          await this.handlers.drained?.();
        }
      }
    }
    const buffered = this.#buffer ?? [];
    this.#buffer = null;
    for (const published of buffered) this.#deliver(published);
  }

  /** The seq of the newest event delivered (or skipped as already known). */
  get cursor(): number {
    return this.#lastDelivered;
  }

  #onLive(published: PublishedEvent): void {
    if (this.#buffer) this.#buffer.push(published);
    else this.#deliver(published);
  }

  #deliver(published: PublishedEvent): void {
    if (this.#stopped || published.event.id <= this.#lastDelivered) return;
    this.#lastDelivered = published.event.id;
    this.handlers.deliver(published);
  }

  /** Unsubscribes one board (the feed keeps the others), or all when none is named. */
  stop(boardId?: string): void {
    if (boardId === undefined) {
      this.#stopped = true;
      this.#unsubscribes.forEach((unsubscribe) => unsubscribe());
      this.#unsubscribes = [];
      this.#buffer = null;
      return;
    }
    const index = this.boardIds.indexOf(boardId);
    if (index !== -1) this.#unsubscribes[index]?.();
  }
}
