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

/**
 * True when a client at `cursor` cannot resume: events after it were pruned, it is unknown, or it
 * is older than the caller's membership of one of the boards (`Store.replayFloor`: a new member
 * must not read what was deleted before they joined).
 */
export async function isStale(
  store: Store,
  cursor: number,
  current: number,
  member?: { userId: string; boardIds: Iterable<string> },
): Promise<boolean> {
  const boardIds = member ? [...member.boardIds] : null;
  if (cursor > current || cursor < await store.prunedThrough(boardIds)) return true;
  for (const boardId of boardIds ?? []) {
    if (cursor < await store.replayFloor(boardId, member!.userId)) return true;
  }
  return false;
}

export interface FeedHandlers {
  /** One event, in seq order; `catchingUp` while replaying or flushing what arrived meanwhile. */
  deliver(published: PublishedEvent, catchingUp: boolean): void;
  /** The cursor was stale: the client must refetch its snapshot; live events follow from `cursor`. */
  resync(cursor: number): void;
  /**
   * Awaited after each event delivered while catching up, so a connection can wait until its
   * client has read (flow control) instead of queueing the whole backlog at once.
   */
  drained?(): Promise<void>;
  /**
   * Sees every live event the moment it is published, before it waits in the catch-up buffer:
   * for what must not wait behind a slow catch-up (losing access to a board).
   */
  arrived?(published: PublishedEvent): void;
  /**
   * Live events buffered while catching up passed `bufferLimitBytes` (the client reads too
   * slowly to ever catch up): the connection should close as slow; it resumes later.
   */
  overflow?(): void;
}

export class EventFeed {
  #unsubscribes = new Map<string, () => void>();
  /** Boards still followed: one that was stopped delivers nothing more, not even from the log. */
  #boards: Set<string>;
  #buffer: PublishedEvent[] | null = [];
  #bufferedBytes = 0;
  #lastDelivered = 0;
  #stopped = false;

  constructor(
    readonly store: Store,
    readonly bus: Bus,
    readonly boardIds: readonly string[],
    readonly handlers: FeedHandlers,
    /** Bytes of live events (as JSON) the feed may buffer while catching up. */
    readonly bufferLimitBytes = Infinity,
    /** Whose feed it is: a replay may not start before their membership (see `isStale`). */
    readonly userId?: string,
  ) {
    this.#boards = new Set(boardIds);
  }

  /** Subscribes to the boards and returns the current cursor; events after it are buffered. */
  async subscribe(): Promise<number> {
    for (const boardId of this.#boards) {
      this.#unsubscribes.set(boardId, this.bus.subscribe(boardId, (p) => this.#onLive(p)));
    }
    return this.#lastDelivered = await this.store.cursor();
  }

  /**
   * Replays the events after `after` (null = start live at the subscribe cursor), then flushes
   * the live events buffered meanwhile and switches to live delivery. Both steps wait for
   * `drained` after each event, and events keep being buffered until the flush is done, so the
   * order holds even while the client reads slowly.
   */
  async resume(after: number | null, current: number): Promise<void> {
    if (after !== null) {
      const member = this.userId ? { userId: this.userId, boardIds: this.#boards } : undefined;
      if (await isStale(this.store, after, current, member)) {
        this.handlers.resync(current);
      } else {
        this.#lastDelivered = after;
        while (!this.#stopped && this.#boards.size > 0) {
          const page = await this.store.eventsAfter(
            [...this.#boards],
            this.#lastDelivered,
            REPLAY_PAGE,
          );
          // The log may be pruned while a slow client catches up: a gap means resync. The
          // horizon comes with the page, in the same read, so no prune can slip between.
          if (this.#lastDelivered < page.prunedThrough) {
            this.handlers.resync(this.#lastDelivered = await this.store.cursor());
            break;
          }
          for (const event of page.events) {
            if (this.#stopped) return;
            this.#deliver(new PublishedEvent(event), true);
            await this.handlers.drained?.();
          }
          if (page.events.length < REPLAY_PAGE) break;
        }
      }
    }
    while (this.#buffer?.length && !this.#stopped) {
      const published = this.#buffer.shift()!;
      this.#bufferedBytes -= published.json.length;
      this.#deliver(published, true);
      await this.handlers.drained?.();
    }
    this.#buffer = null;
  }

  /** The seq of the newest event delivered (or skipped as already known). */
  get cursor(): number {
    return this.#lastDelivered;
  }

  #onLive(published: PublishedEvent): void {
    if (!this.#buffer) {
      this.#deliver(published, false);
      return this.handlers.arrived?.(published);
    }
    this.handlers.arrived?.(published);
    if (!this.#buffer) return; // `arrived` stopped the feed
    this.#buffer.push(published);
    this.#bufferedBytes += published.json.length;
    if (this.#bufferedBytes > this.bufferLimitBytes) this.handlers.overflow?.();
  }

  #deliver(published: PublishedEvent, catchingUp: boolean): void {
    if (this.#stopped || published.event.id <= this.#lastDelivered) return;
    if (!this.#boards.has(published.event.boardId)) return;
    this.#lastDelivered = published.event.id;
    this.handlers.deliver(published, catchingUp);
  }

  /** Unsubscribes one board (the feed keeps the others), or all when none is named. */
  stop(boardId?: string): void {
    if (boardId === undefined) {
      this.#stopped = true;
      this.#unsubscribes.forEach((unsubscribe) => unsubscribe());
      this.#unsubscribes.clear();
      this.#boards.clear();
      this.#buffer = null;
      return;
    }
    this.#boards.delete(boardId);
    this.#unsubscribes.get(boardId)?.();
    this.#unsubscribes.delete(boardId);
  }
}
