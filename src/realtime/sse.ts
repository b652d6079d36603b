/**
 * The SSE transport: a `ReadableStream` response per client that sends a `retry:` hint, the
 * `connected` message with the current cursor, the replay after `Last-Event-ID`, then live events
 * (`id:` seq, `event:` type, `data:` JSON), with comment heartbeats from one shared ticker. The
 * catch-up (replay, then what arrived meanwhile) waits for the client to read; live writes do
 * not wait: a client whose unread bytes pass the budget, or whose live events pile up past it
 * during its catch-up, is dropped as slow and resumes with Last-Event-ID. Everything ends in the
 * connection's one `close(reason)`.
 */
import type { Caller } from "../auth.ts";
import { AppError } from "../errors.ts";
import { log } from "../log.ts";
import { removedUserId } from "../store/events.ts";
import type { Store } from "../store/store.ts";
import type { Bus, PublishedEvent } from "./bus.ts";
import { CLOSE_REASONS, type CloseReason } from "./close_reasons.ts";
import type { Connection, ConnectionRegistry } from "./connections.ts";
import { EventFeed } from "./feed.ts";
import { encodeSse } from "./sse_format.ts";
import { Ticker } from "./ticker.ts";

export interface SseOptions {
  heartbeatMs: number;
  retryMs: number;
  /** Unread bytes a client may have queued before it is disconnected as slow. */
  queueBytes: number;
  /** Open streams per user (each one holds a queue of up to `queueBytes`): 429 above. */
  maxStreamsPerUser: number;
}

export const SSE_HEADERS = {
  "content-type": "text/event-stream; charset=utf-8",
  "cache-control": "no-cache, no-transform",
  // Tells nginx-style proxies not to buffer the stream.
  "x-accel-buffering": "no",
};

const HEARTBEAT = encodeSse({ comment: "heartbeat" });

function concat(chunks: Uint8Array[], size: number): Uint8Array {
  const joined = new Uint8Array(size);
  let offset = 0;
  for (const chunk of chunks) {
    joined.set(chunk, offset);
    offset += chunk.byteLength;
  }
  return joined;
}

const encodeEvent = (p: PublishedEvent) =>
  encodeSse({ id: p.event.id, event: p.event.type, data: p.json });

/** Encodes a board event once per publish, shared by every SSE connection. */
const sseFrame = (published: PublishedEvent) => published.encoded("sse", encodeEvent);

export class SseTransport {
  #heartbeat: Ticker<SseConnection>;

  constructor(
    readonly store: Store,
    readonly bus: Bus,
    readonly registry: ConnectionRegistry,
    readonly options: SseOptions,
  ) {
    this.#heartbeat = new Ticker(options.heartbeatMs, (connection) => connection.heartbeat());
  }

  /** Opens a stream of these boards' events for a caller already checked to be a member. */
  /**
   * Refuses a stream past the user's limit (429 `too_many_streams`): with no limit, one account
   * held 2,000 streams (+146 MB). The demo guest is one user, so anonymous visitors share it.
   */
  checkRoomFor(caller: Caller): void {
    const open = this.registry.countOfUser(caller.user.id, "sse");
    if (open >= this.options.maxStreamsPerUser) {
      throw new AppError(
        "too_many_streams",
        `At most ${this.options.maxStreamsPerUser} event streams may be open at once per user`,
      );
    }
  }

  open(caller: Caller, boardIds: string[], lastEventId: number | null): Response {
    this.checkRoomFor(caller);
    const connection = new SseConnection(this, caller, boardIds, this.#heartbeat);
    const body = new ReadableStream<Uint8Array>(
      {
        // Not awaited: the stream counts as started at once, so `pull` (our "the client has read"
        // signal) already works while the replay is flow-controlled by it.
        start: (controller) => {
          connection.start(controller, lastEventId);
        },
        pull: () => connection.onPull(),
        cancel: () => connection.close(CLOSE_REASONS.clientGone),
      },
      { highWaterMark: this.options.queueBytes, size: (chunk) => chunk.byteLength },
    );
    return new Response(body, { headers: SSE_HEADERS });
  }

  stop(): void {
    this.#heartbeat.stop();
  }
}

class SseConnection implements Connection {
  readonly id = crypto.randomUUID();
  readonly transport = "sse";
  readonly userId: string;
  readonly sessionHash: string | null;
  #controller?: ReadableStreamDefaultController<Uint8Array>;
  #feed: EventFeed;
  #boards: Set<string>;
  #closed = false;
  #drainWaiters: (() => void)[] = [];
  /** Settles the pending `pull` promise, while pull is parked (see `onPull`). */
  #unparkPull?: () => void;
  /** Events up to this seq committed before the membership check in `start`. */
  #checkedAt = Infinity;
  /** Live writes of the current synchronous run, enqueued together by `#flush`. */
  #gathered?: Uint8Array[];
  #gatheredBytes = 0;

  constructor(
    readonly sse: SseTransport,
    caller: Caller,
    boardIds: string[],
    readonly heartbeatTicker: Ticker<SseConnection>,
  ) {
    this.userId = caller.user.id;
    this.sessionHash = caller.sessionHash;
    this.#boards = new Set(boardIds);
    this.#feed = new EventFeed(
      sse.store,
      sse.bus,
      boardIds,
      {
        deliver: (published, catchingUp) => this.#onEvent(published, catchingUp),
        // The id moves the browser's Last-Event-ID to the cursor, so a reconnect resumes from it.
        resync: (cursor) =>
          this.#write(
            encodeSse({
              id: cursor,
              event: "resync",
              data: JSON.stringify({ type: "resync", cursor }),
            }),
            true,
          ),
        drained: () => this.#drained(),
        overflow: () => this.close(CLOSE_REASONS.slow),
      },
      sse.options.queueBytes,
      caller.user.id,
    );
  }

  boardIds(): Iterable<string> {
    return this.#boards;
  }

  async start(controller: ReadableStreamDefaultController<Uint8Array>, after: number | null) {
    this.#controller = controller;
    this.sse.registry.add(this);
    try {
      const cursor = await this.#feed.subscribe();
      // Checked again now that events are buffered: a removal between the route's check and the
      // subscription would otherwise go unnoticed.
      for (const boardId of this.#boards) {
        if (!await this.sse.store.memberRole(boardId, this.userId)) {
          return this.close(CLOSE_REASONS.forbidden);
        }
      }
      this.#checkedAt = cursor;
      if (this.#closed) return;
      const boardIds = [...this.#boards];
      this.#write(encodeSse({ retry: this.sse.options.retryMs }), true);
      // `id:` is where this stream resumes from, so an EventSource that reconnects before any
      // event arrived asks for what it missed instead of starting live (which would leave a gap).
      this.#write(
        encodeSse({
          // A cursor from the future resyncs to `cursor`: never announce an id above it.
          id: after !== null && after <= cursor ? after : cursor,
          data: JSON.stringify({
            type: "connected",
            connectionId: this.id,
            userId: this.userId,
            ...(boardIds.length === 1 ? { boardId: boardIds[0] } : {}),
            boardIds,
            cursor,
          }),
        }),
        true,
      );
      // Heartbeats join only now, so every stream begins with the retry hint and `connected`.
      this.heartbeatTicker.add(this);
      await this.#feed.resume(after, cursor);
    } catch (error) {
      if (this.#closed) return;
      log.warn(`sse ${this.id} failed: ${error}`);
      this.close(CLOSE_REASONS.internalError);
    }
  }

  /** A comment to keep proxies from closing an idle stream; skipped while data is queued. */
  heartbeat(): void {
    const desired = this.#controller?.desiredSize;
    if (desired === null || desired === undefined || desired < this.sse.options.queueBytes) return;
    this.#write(HEARTBEAT);
  }

  /**
   * The stream's `pull`: the client has read and the queue is below its mark. As the mark is the
   * whole byte budget, the stream would call it after every chunk read, yet only the catch-up
   * waits for reads. So with nobody waiting, pull parks: it returns a promise that stays pending,
   * and the stream makes no further pull calls (a cost per live delivery) until `#drained`
   * settles it.
   */
  onPull(): Promise<void> | void {
    if (this.#drainWaiters.length > 0 || this.#closed) return this.onDrain();
    return new Promise((resolve) => this.#unparkPull = resolve);
  }

  onDrain(): void {
    const waiters = this.#drainWaiters;
    this.#drainWaiters = [];
    waiters.forEach((resolve) => resolve());
  }

  /** Resolves once the client has read below the budget (used between replay pages). */
  #drained(): Promise<void> {
    if ((this.#controller?.desiredSize ?? 1) > 0 || this.#closed) return Promise.resolve();
    return new Promise((resolve) => {
      this.#drainWaiters.push(resolve);
      // Unparked, the stream calls pull again as soon as the client reads below the mark.
      const unpark = this.#unparkPull;
      this.#unparkPull = undefined;
      unpark?.();
    });
  }

  #onEvent(published: PublishedEvent, catchingUp: boolean): void {
    this.#write(sseFrame(published), catchingUp);
    this.sse.registry.delivered.sse++;
    const { id, type, boardId } = published.event;
    if (type === "board_deleted") this.#leave(boardId, CLOSE_REASONS.boardDeleted);
    // A removal replayed from before the membership check was undone since (the caller is a
    // member again); only later ones end the board for this stream.
    if (removedUserId(published.event) === this.userId && id > this.#checkedAt) {
      this.#leave(boardId, CLOSE_REASONS.forbidden);
    }
  }

  /** Stops following one board; the stream ends with `reason` when it was the last. */
  #leave(boardId: string, reason: CloseReason): void {
    if (!this.#boards.delete(boardId)) return;
    this.#feed.stop(boardId);
    if (this.#boards.size === 0) this.close(reason);
  }

  /**
   * Queues bytes for the client; past the byte budget a live write drops the client as slow.
   * Live writes made in one synchronous run (a batch from the bus) are gathered and enqueued as
   * one chunk in a microtask: each chunk costs the stream a read, a promise and a write call.
   * Flow-controlled writes (the catch-up, whose feed waits for `drained`) go out at once, after
   * what was gathered, and may overshoot the budget by one.
   */
  #write(bytes: Uint8Array, flowControlled = false): void {
    if (this.#closed || !this.#controller) return;
    if (flowControlled) {
      this.#flush();
      this.#controller.enqueue(bytes);
      return;
    }
    if (this.#gathered) this.#gathered.push(bytes);
    else {
      this.#gathered = [bytes];
      queueMicrotask(this.#flush);
    }
    this.#gatheredBytes += bytes.byteLength;
    const desired = this.#controller.desiredSize;
    // One event larger than the whole budget (a deleted list carries its cards) is not a sign of
    // a slow client when nothing else waits: dropping it would only make it resume into the
    // same event. What is judged is what waits besides it.
    const alone = desired === this.sse.options.queueBytes &&
      this.#gatheredBytes === bytes.byteLength;
    if (desired !== null && desired - this.#gatheredBytes < 0 && !alone) {
      this.close(CLOSE_REASONS.slow);
    }
  }

  /** Enqueues the gathered live writes as one chunk. */
  #flush = (): void => {
    const gathered = this.#gathered;
    if (!gathered) return;
    this.#gathered = undefined;
    const size = this.#gatheredBytes;
    this.#gatheredBytes = 0;
    if (this.#closed || !this.#controller) return;
    this.#controller.enqueue(gathered.length === 1 ? gathered[0] : concat(gathered, size));
  };

  close(reason: CloseReason): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#feed.stop();
    this.heartbeatTicker.delete(this);
    this.sse.registry.remove(this, reason);
    this.onDrain();
    const controller = this.#controller;
    if (!controller || reason === CLOSE_REASONS.clientGone) return;
    try {
      if (reason === CLOSE_REASONS.slow) {
        // Drop the queued bytes at once instead of waiting for a client that does not read.
        // An AbortError tells the server's onError this was deliberate.
        controller.error(new DOMException(`sse ${this.id}: ${reason.message}`, "AbortError"));
        return;
      }
      const gathered = this.#gathered;
      this.#gathered = undefined;
      gathered?.forEach((bytes) => controller.enqueue(bytes));
      const data = JSON.stringify({
        type: "disconnect",
        reason: reason.name,
        reconnect: reason.reconnect,
      });
      controller.enqueue(
        encodeSse({ retry: this.sse.options.retryMs, event: "disconnect", data }),
      );
      controller.close();
    } catch {
      // The stream was already cancelled by the client: nothing left to tell it.
    }
  }
}
