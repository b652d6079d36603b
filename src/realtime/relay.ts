/**
 * The event relay of one instance on PostgreSQL: it hands every committed event — this
 * instance's and, in cross-instance mode, every other's — to the local bus exactly once,
 * strictly in seq order, with no gap. PostgreSQL's log is the record; Redis pub/sub only brings events sooner. Events
 * that arrive out of order wait in `pending` until the ones before them come; a gap that stays
 * open for `gapGraceMs` is filled from the log (seeing N+1 proves N committed: store.ts). A
 * head check every `checkMs` catches a lost last message; while Redis is down (or absent) the
 * relay polls the log four times as often. So the local bus keeps the invariant the memory bus gives one
 * process, and feeds, long polls and resume work unchanged on every instance.
 */
import { log } from "../log.ts";
import type { BoardEvent, Store } from "../store/store.ts";

export interface RelayOptions {
  /** Head check interval (a quarter of it while Redis is down). */
  checkMs: number;
  /** How long an out-of-order event waits for the ones before it before the log is read. */
  gapGraceMs?: number;
  /** Events that may wait out of order; past it they are dropped and the log is read. */
  maxPending?: number;
}

/** A page of the log per read while catching up. */
const PAGE = 500;

export class EventRelay {
  #lastSeq = 0;
  #head = 0;
  #pending = new Map<number, BoardEvent>();
  #gapTimer?: ReturnType<typeof setTimeout>;
  #checkTimer?: ReturnType<typeof setTimeout>;
  #reading?: Promise<void>;
  #readAgain = false;
  #stopped = false;
  #started = false;
  /** Events delivered from the log rather than from pub/sub (gaps filled): for tests and lag. */
  filled = 0;

  constructor(
    readonly store: Store,
    /** The local bus's publish. */
    readonly deliver: (event: BoardEvent) => void,
    /** Whether pub/sub is up (polls faster while it is not). */
    readonly pubsubUp: () => boolean,
    /** The log was pruned past what this instance delivered: its live connections must resume. */
    readonly onGap: () => void,
    readonly options: RelayOptions,
  ) {}

  /**
   * Starts at the log's head. Events offered before (pub/sub may already deliver) only wait in
   * `pending`: those at or below the head are dropped, the rest delivered in order from there.
   */
  async start(): Promise<void> {
    const head = await this.store.cursor();
    this.#lastSeq = Math.max(this.#lastSeq, head);
    this.#head = Math.max(this.#head, head);
    this.#started = true;
    this.#drain();
    if (this.#pending.size > 0) void this.catchUp();
    this.#scheduleCheck();
  }

  /** The highest seq handed to the local bus. */
  get lastSeq(): number {
    return this.#lastSeq;
  }

  /** Events that arrived ahead of a gap and wait for the events before them. */
  get waiting(): number {
    return this.#pending.size;
  }

  /** How many committed events (as of the last head check) this instance has not delivered. */
  get lag(): number {
    return Math.max(0, this.#head - this.#lastSeq);
  }

  /** An event from this instance's commits or from pub/sub, in any order, maybe twice. */
  offer(event: BoardEvent): void {
    if (this.#stopped || event.id <= this.#lastSeq) return;
    this.#head = Math.max(this.#head, event.id);
    this.#pending.set(event.id, event);
    if (!this.#started) return; // start() sets where delivery begins
    this.#drain();
    if (this.#pending.size === 0) return;
    if (this.#pending.size > (this.options.maxPending ?? 10_000)) {
      this.#pending.clear();
      void this.catchUp();
      return;
    }
    this.#gapTimer ??= setTimeout(() => {
      this.#gapTimer = undefined;
      if (this.#pending.size > 0) this.catchUp();
    }, this.options.gapGraceMs ?? 50);
  }

  #drain(): void {
    // What the log already gave (or what lies below where delivery started) is not waiting.
    for (const seq of this.#pending.keys()) if (seq <= this.#lastSeq) this.#pending.delete(seq);
    let next = this.#pending.get(this.#lastSeq + 1);
    while (next) {
      this.#pending.delete(next.id);
      this.#lastSeq = next.id;
      this.#safeDeliver(next);
      next = this.#pending.get(this.#lastSeq + 1);
    }
    if (this.#pending.size === 0) {
      clearTimeout(this.#gapTimer);
      this.#gapTimer = undefined;
    }
  }

  #safeDeliver(event: BoardEvent): void {
    try {
      this.deliver(event);
    } catch (error) {
      log.warn(`relay: delivering event ${event.id} failed: ${error}`);
    }
  }

  /** Reads the log after what was delivered, until caught up (one reader at a time). */
  catchUp(): Promise<void> {
    if (this.#reading) {
      this.#readAgain = true;
      return this.#reading;
    }
    this.#reading = (async () => {
      try {
        do {
          this.#readAgain = false;
          await this.#readLog();
        } while (this.#readAgain && !this.#stopped);
      } catch (error) {
        log.debug(`relay: reading the log failed: ${error}`);
      } finally {
        this.#reading = undefined;
      }
    })();
    return this.#reading;
  }

  async #readLog(): Promise<void> {
    while (!this.#stopped) {
      const page = await this.store.eventsAfter(null, this.#lastSeq, PAGE);
      if (page.prunedThrough > this.#lastSeq) {
        // Events this instance never delivered are gone: its feeds cannot be made whole, so its
        // connections resume from their cursors (and resync there). Start again after the gap.
        log.warn(`relay: the log was pruned past ${this.#lastSeq}; live connections resume`);
        this.#lastSeq = page.prunedThrough;
        this.onGap();
        continue;
      }
      for (const event of page.events) {
        if (this.#stopped || event.id <= this.#lastSeq) continue;
        if (event.id !== this.#lastSeq + 1) {
          // Cannot happen with a dense log; never deliver past a hole.
          log.warn(`relay: expected event ${this.#lastSeq + 1}, read ${event.id}`);
          return;
        }
        this.#pending.delete(event.id);
        this.#lastSeq = event.id;
        this.filled++;
        this.#safeDeliver(event);
      }
      this.#head = Math.max(this.#head, this.#lastSeq);
      this.#drain();
      if (page.events.length < PAGE) return;
    }
  }

  #scheduleCheck(): void {
    if (this.#stopped) return;
    const ms = this.pubsubUp() ? this.options.checkMs : Math.max(10, this.options.checkMs / 4);
    this.#checkTimer = setTimeout(async () => {
      try {
        const head = await this.store.cursor();
        this.#head = Math.max(this.#head, head);
        if (head > this.#lastSeq) await this.catchUp();
      } catch (error) {
        log.debug(`relay: head check failed: ${error}`);
      }
      this.#scheduleCheck();
    }, ms);
  }

  /** Stops delivering; waits for a read in progress. */
  async stop(): Promise<void> {
    this.#stopped = true;
    clearTimeout(this.#gapTimer);
    clearTimeout(this.#checkTimer);
    this.#pending.clear();
    await this.#reading;
  }
}
