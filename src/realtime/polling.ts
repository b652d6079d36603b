/**
 * The polling fallbacks. Short polling (`/updates?since=`) answers at once with the events
 * after a cursor, or with tasks (all, or those updated after an ISO time). Long polling
 * (`/poll?cursor=`) answers at once when events after the cursor exist, otherwise parks a waiter
 * on the bus until one arrives or the hold time passes; one shared ticker enforces deadlines.
 */
import type { Caller } from "../auth.ts";
import { AppError } from "../errors.ts";
import type { BoardEvent, Store, Task } from "../store/store.ts";
import type { Bus, PublishedEvent } from "./bus.ts";
import { CLOSE_REASONS, type CloseReason } from "./close_reasons.ts";
import type { Connection, ConnectionRegistry } from "./connections.ts";
import { isStale } from "./feed.ts";
import { Ticker } from "./ticker.ts";

const MAX_EVENTS = 500;

/** The answer to every poll woken by this event, encoded once per publish. */
const encodeWake = (published: PublishedEvent): string =>
  `{"data":[${published.json}],"timeout":false,"cursor":${published.event.id}}`;

export interface LongPollOptions {
  timeoutMs: number;
  maxPerUser: number;
}

export type ShortPollAnswer =
  | { data: BoardEvent[]; cursor: number; timestamp: string; resync?: true }
  | { tasks: Task[]; cursor: number; timestamp: string };

/** Serialised in this key order: `{"data":[],"timeout":true,"cursor":N}`. */
export interface LongPollAnswer {
  data: BoardEvent[];
  timeout: boolean;
  cursor: number;
  resync?: true;
}

/** `since`: a cursor (events after it), an ISO time (tasks updated after it), or none (all tasks). */
export async function shortPoll(
  store: Store,
  boardId: string,
  since: { cursor: number } | { time: Date } | null,
  userId: string,
): Promise<ShortPollAnswer> {
  const cursor = await store.cursor();
  const timestamp = new Date().toISOString();
  if (since === null) return { tasks: await store.tasksForBoard(boardId), cursor, timestamp };
  if ("time" in since) {
    return { tasks: await store.tasksUpdatedSince(boardId, since.time), cursor, timestamp };
  }
  const page = since.cursor > cursor
    ? null
    : await store.eventsAfter([boardId], since.cursor, MAX_EVENTS);
  if (
    !page || since.cursor < page.prunedThrough ||
    since.cursor < await store.replayFloor(boardId, userId)
  ) {
    return { data: [], cursor, timestamp, resync: true };
  }
  const data = page.events;
  // With a full page the client polls again from the last event; otherwise it is up to date.
  // Writes may commit between reading the cursor and the events: never answer a cursor older
  // than the newest event returned.
  const newest = data.length > 0 ? data[data.length - 1].id : 0;
  const next = data.length === MAX_EVENTS ? newest : Math.max(cursor, newest);
  return { data, cursor: next, timestamp };
}

export class LongPolling {
  #deadlines: Ticker<LongPollWaiter>;

  constructor(
    readonly store: Store,
    readonly bus: Bus,
    readonly registry: ConnectionRegistry,
    readonly options: LongPollOptions,
  ) {
    // Deadlines are checked by one ticker at a quarter of the hold time (at most every second).
    const sweepMs = Math.max(5, Math.min(1000, Math.floor(options.timeoutMs / 4)));
    this.#deadlines = new Ticker(sweepMs, (waiter) => waiter.checkDeadline());
  }

  /** Waits for the answer; resolves with its JSON text. */
  async poll(
    caller: Caller,
    boardId: string,
    cursor: number,
    signal: AbortSignal,
  ): Promise<string> {
    if (this.registry.countOfUser(caller.user.id, "longpoll") >= this.options.maxPerUser) {
      throw new AppError(
        "too_many_polls",
        `At most ${this.options.maxPerUser} long polls may wait at once per user`,
      );
    }
    const waiter = new LongPollWaiter(caller, boardId, cursor, this);
    return await waiter.wait(signal, this.#deadlines);
  }

  stop(): void {
    this.#deadlines.stop();
  }
}

class LongPollWaiter implements Connection {
  readonly id = crypto.randomUUID();
  readonly transport = "longpoll";
  readonly userId: string;
  readonly sessionHash: string | null;
  /** On the monotonic clock: a wall clock set back would hold the poll past its time. */
  readonly deadline: number;
  #resolve?: (answer: string) => void;
  #reject?: (error: unknown) => void;
  #reading = false;
  #readAgain = false;
  /**
   * The last read of the log found nothing after the cursor, and no event arrived while it ran.
   * Then the first event after the cursor that the bus hands over is the next one of the board
   * (the bus delivers in seq order, and anything committed before that read would have been in
   * it), so it is the whole answer, without reading the log again: this saved a log read per
   * parked poll when 10,000 woke at once.
   */
  #caughtUp = false;
  #cleanup: (() => void)[] = [];
  #done = false;

  constructor(
    caller: Caller,
    readonly boardId: string,
    readonly cursor: number,
    readonly polling: LongPolling,
  ) {
    this.userId = caller.user.id;
    this.sessionHash = caller.sessionHash;
    this.deadline = performance.now() + polling.options.timeoutMs;
  }

  boardIds(): Iterable<string> {
    return [this.boardId];
  }

  async wait(signal: AbortSignal, deadlines: Ticker<LongPollWaiter>): Promise<string> {
    const { store, bus, registry } = this.polling;
    const answer = new Promise<string>((resolve, reject) => {
      this.#resolve = resolve;
      this.#reject = reject;
    });
    // Subscribe before reading the log, so an event committed in between still wakes us. Until
    // a read of the log has found nothing, a live event is only a wake-up: the answer comes from
    // the log, so an event that committed before the subscription but after the client's cursor
    // is never skipped.
    this.#cleanup.push(bus.subscribe(this.boardId, (published) => {
      if (published.event.id <= this.cursor) return;
      if (!this.#caughtUp) return this.#answerFromLog();
      this.polling.registry.delivered.longpoll++;
      const { id } = published.event;
      this.#finish({ data: [published.event], timeout: false, cursor: id }, undefined, undefined, {
        text: published.encoded("longpoll", encodeWake),
      });
    }));
    registry.add(this);
    deadlines.add(this);
    this.#cleanup.push(() => deadlines.delete(this));
    const onAbort = () => this.close(CLOSE_REASONS.clientGone);
    signal.addEventListener("abort", onAbort);
    this.#cleanup.push(() => signal.removeEventListener("abort", onAbort));
    if (signal.aborted) onAbort();

    try {
      const current = await store.cursor();
      const member = { userId: this.userId, boardIds: [this.boardId] };
      if (await isStale(store, this.cursor, current, member)) {
        this.#finish({ data: [], timeout: false, cursor: current, resync: true });
      } else {
        this.#answerFromLog();
      }
    } catch (error) {
      this.#fail(error);
    }
    return answer;
  }

  /** Answers with the events after the cursor, if any; a wake-up during a read reads again. */
  #answerFromLog(): void {
    if (this.#done) return;
    if (this.#reading) {
      this.#readAgain = true;
      return;
    }
    this.#reading = true;
    (async () => {
      do {
        this.#readAgain = false;
        const page = await this.polling.store.eventsAfter([this.boardId], this.cursor, MAX_EVENTS);
        if (this.cursor < page.prunedThrough) {
          const cursor = await this.polling.store.cursor();
          return this.#finish({ data: [], timeout: false, cursor, resync: true });
        }
        const data = page.events;
        if (data.length > 0) {
          this.polling.registry.delivered.longpoll += data.length;
          return this.#finish({ data, timeout: false, cursor: data[data.length - 1].id });
        }
      } while (this.#readAgain && !this.#done);
      this.#caughtUp = true;
    })().catch((error) => this.#fail(error)).finally(() => this.#reading = false);
  }

  #fail(error: unknown): void {
    this.#finish(
      { data: [], timeout: true, cursor: this.cursor },
      CLOSE_REASONS.internalError,
      error,
    );
  }

  checkDeadline(): void {
    if (performance.now() >= this.deadline) {
      this.#finish({ data: [], timeout: true, cursor: this.cursor });
    }
  }

  /** Ends the wait with `answer` (as `encoded.text` when that was made once for every poll). */
  #finish(
    answer: LongPollAnswer,
    reason: CloseReason = CLOSE_REASONS.answered,
    error?: unknown,
    encoded?: { text: string },
  ): void {
    if (this.#done) return;
    this.#done = true;
    this.#cleanup.forEach((fn) => fn());
    this.polling.registry.remove(this, reason);
    if (error === undefined) this.#resolve?.(encoded?.text ?? JSON.stringify(answer));
    else this.#reject?.(error);
  }

  /** Ends the wait: a client that left gets nothing; on shutdown the poll answers as a timeout. */
  close(reason: CloseReason): void {
    this.#finish({ data: [], timeout: true, cursor: this.cursor }, reason);
  }
}
