/**
 * The WebSocket transport, portable part: one `WsConnection` per socket with its rooms, event
 * feeds, rate limit and send budget, and `WebSocketTransport`, which owns the rooms and the
 * shared stall sweep. The Deno edge (origin, auth, `Deno.upgradeWebSocket`) is ws_upgrade.ts;
 * message handling is ws_handlers.ts. Everything ends in the connection's one `close(reason)`.
 *
 * Sending: board events and replies always go out; ephemeral messages (typing, cursors) are
 * dropped while more than `bufferBytes` wait in the socket's send buffer; a buffer that stays
 * over twice that is closed as slow (4008) so the client reconnects and resumes from its cursor,
 * and so is one that does not drain at all for a heartbeat period. Memory per socket therefore
 * stays near 2 × bufferBytes plus what one turn of the event loop sends (a replay page at most).
 */
import type { Actions } from "../actions.ts";
import type { Caller } from "../auth.ts";
import type { ErrorCode } from "../errors.ts";
import type { Store } from "../store/store.ts";
import type { Bus, PublishedEvent } from "./bus.ts";
import { CLOSE_REASONS, type CloseReason } from "./close_reasons.ts";
import type { Connection, ConnectionRegistry } from "./connections.ts";
import type { EventFeed } from "./feed.ts";
import type { Presence } from "./presence.ts";
import { TokenBucket } from "./rate_limit.ts";
import { type RoomChannel, type RoomMember, Rooms } from "./rooms.ts";
import { Ticker } from "./ticker.ts";
import { encode, errorMessage, type Frame, frameOf, type ServerMessage } from "./ws_protocol.ts";

/** What a connection needs from a server-side WebSocket (Deno's `WebSocket` fits). */
export interface WsSocket {
  readonly readyState: number;
  readonly bufferedAmount: number;
  send(text: string): void;
  close(code?: number, reason?: string): void;
}

const OPEN = 1;
const CLOSING = 2;
/** How long a send buffer may stay over twice its budget before the socket counts as slow. */
const SLOW_VERDICT_MS = 20;

export interface WsOptions {
  /** Protocol-level ping interval; a peer silent for this long is closed. */
  heartbeatMs: number;
  maxMessageBytes: number;
  maxConnectionsPerUser: number;
  bufferBytes: number;
  ephemeralRate: number;
  typingTimeoutMs: number;
}

let lastEvent: PublishedEvent | undefined;
let lastFrame: Frame | undefined;

/**
 * Encodes a board event once per publish, shared by every socket: the SSE `data` JSON. A fan-out
 * sends one event to every socket in a row, so the last frame is kept at hand.
 */
function eventFrame(published: PublishedEvent): Frame {
  if (published !== lastEvent || !lastFrame) {
    lastFrame = published.encoded("ws", (p) => frameOf(p.json));
    lastEvent = published;
  }
  return lastFrame;
}

/** The close frame's reason text (at most 123 bytes): the message and whether to reconnect. */
export function closeText(reason: CloseReason): string {
  const hint = reason.reconnect ? "reconnect" : "do not reconnect";
  return `${reason.name}: ${reason.message}`.slice(0, 90) + ` (${hint})`;
}

/**
 * The error code told before a close that must not be retried: the reason's name, which for
 * those reasons is a code of the protocol's table too (tests/protocol_test.ts checks it).
 */
function finalCode(reason: CloseReason): ErrorCode {
  return reason.name as ErrorCode;
}

/** Sends an error and closes a socket that was never accepted (no session, too many sockets). */
export function refuse(socket: WsSocket, reason: CloseReason, message: string): void {
  try {
    socket.send(
      encode(errorMessage(finalCode(reason), message, { reconnect: reason.reconnect })).text,
    );
    socket.close(reason.code, closeText(reason));
  } catch {
    // The client went away first.
  }
}

export class WebSocketTransport {
  readonly rooms: Rooms;
  #sweep: Ticker<WsConnection>;
  /** Sockets catching up that wait for their send buffer to drain: one timer for all. */
  readonly drainWatch = new Ticker<WsConnection>(10, (connection) => connection.checkDrained());
  /** Open sockets per user, for the per-user limit. */
  #perUser = new Map<string, number>();

  constructor(
    readonly store: Store,
    readonly bus: Bus,
    readonly registry: ConnectionRegistry,
    readonly actions: Actions,
    readonly presence: Presence,
    /** The other instances' room messages (absent on one instance). */
    roomChannel: RoomChannel | undefined,
    readonly options: WsOptions,
    /**
     * What each client message does (ws_handlers.ts). Passed in rather than imported, so the
     * handlers can use this module's types without a circular import.
     */
    readonly handleMessage: (connection: WsConnection, data: unknown) => void,
  ) {
    this.rooms = new Rooms(presence, { typingTimeoutMs: options.typingTimeoutMs }, roomChannel);
    this.#sweep = new Ticker(options.heartbeatMs, (connection) => connection.sweep());
  }

  /** True when the user may open one more socket. */
  hasRoomFor(userId: string): boolean {
    return (this.#perUser.get(userId) ?? 0) < this.options.maxConnectionsPerUser;
  }

  /** Registers an upgraded socket; the adapter forwards its events to the connection. */
  accept(socket: WsSocket, caller: Caller): WsConnection {
    const connection = new WsConnection(this, socket, caller);
    this.#perUser.set(connection.userId, (this.#perUser.get(connection.userId) ?? 0) + 1);
    this.registry.add(connection);
    this.#sweep.add(connection);
    return connection;
  }

  /** Called once per accepted connection, by its `close`. */
  forget(connection: WsConnection, reason: CloseReason): void {
    const open = (this.#perUser.get(connection.userId) ?? 1) - 1;
    if (open > 0) this.#perUser.set(connection.userId, open);
    else this.#perUser.delete(connection.userId);
    this.#sweep.delete(connection);
    this.registry.remove(connection, reason);
  }

  /** Stops the timers and removes this instance's presence (announcing who left). */
  async stop(): Promise<void> {
    this.#sweep.stop();
    this.drainWatch.stop();
    this.rooms.stop();
    await this.presence.close();
  }
}

/** One joined (or joining) board of a connection. */
export interface Membership {
  feed?: EventFeed;
  /** Set once the connection is in the room, so leaving knows to tell the room. */
  inRoom: boolean;
}

export class WsConnection implements Connection, RoomMember {
  readonly id = crypto.randomUUID();
  readonly transport = "websocket";
  readonly userId: string;
  readonly name: string;
  readonly sessionHash: string | null;
  /** Joined or joining boards. */
  readonly memberships = new Map<string, Membership>();
  /** True after a rate-limited message was reported, until one is accepted again. */
  rateLimited = false;
  pendingMutations = 0;
  #opened = false;
  #closedFor?: CloseReason;
  #sentBytes = 0;
  #drainedAtSweep = -1;
  #drainWaiters: (() => void)[] = [];
  #closingSeen = false;
  #judging?: ReturnType<typeof setTimeout>;
  /** An oversized frame being read (a deleted list's event): 0 once under the limit again. */
  #bigFrame = 0;
  #bucket?: TokenBucket;

  constructor(
    readonly ws: WebSocketTransport,
    readonly socket: WsSocket,
    readonly caller: Caller,
  ) {
    this.userId = caller.user.id;
    this.name = caller.user.name;
    this.sessionHash = caller.sessionHash;
  }

  /** The typing/cursor rate limit, made on first use (most sockets never send either). */
  get ephemeralBucket(): TokenBucket {
    const rate = this.ws.options.ephemeralRate;
    return this.#bucket ??= new TokenBucket(rate, rate * 2);
  }

  get connectionId(): string {
    return this.id;
  }

  get closed(): boolean {
    return this.#closedFor !== undefined;
  }

  boardIds(): Iterable<string> {
    return [...this.memberships].filter(([, m]) => m.inRoom).map(([boardId]) => boardId);
  }

  onOpen(): void {
    if (this.#closedFor) {
      // Closed (logout, shutdown) between the upgrade and the open: finish the job now.
      this.socket.close(this.#closedFor.code, closeText(this.#closedFor));
      return;
    }
    this.#opened = true;
    this.reply({ type: "connected", userId: this.userId, name: this.name, connectionId: this.id });
  }

  onMessage(data: unknown): void {
    if (!this.closed) this.ws.handleMessage(this, data);
  }

  /** The socket closed: by the client, or by the runtime after an unanswered ping. */
  onClosed(code: number, reason: string): void {
    // Deno closes a socket whose ping went unanswered with 1001 and this reason.
    const heartbeat = code === 1001 && reason === "No response from ping frame.";
    this.close(heartbeat ? CLOSE_REASONS.heartbeatTimeout : CLOSE_REASONS.clientGone);
  }

  /** Sends a frame the client must get; past twice the budget the socket is closed as slow. */
  send(frame: Frame): void {
    if (!this.#canSend()) return;
    const limit = 2 * this.ws.options.bufferBytes;
    // One frame larger than the limit (a deleted list carries its cards) sent to a socket that
    // was keeping up is allowed for while the client reads it: closing would only make it
    // resume into the same frame (see the verdict).
    if (frame.bytes > limit && this.socket.bufferedAmount <= limit) {
      this.#bigFrame = Math.max(this.#bigFrame, frame.bytes);
    }
    this.socket.send(frame.text);
    this.#sentBytes += frame.bytes;
    if (this.socket.bufferedAmount > limit) this.#judgeSoon();
  }

  /**
   * `bufferedAmount` also counts what was sent in this turn of the event loop and not yet handed
   * to the kernel, so a burst (a replay page, a batch of acks) briefly passes the limit on a
   * healthy socket. The verdict waits a moment: still over the limit then means not reading.
   */
  #judgeSoon(): void {
    if (this.#judging) return;
    const drainedBefore = this.#sentBytes - this.socket.bufferedAmount;
    this.#judging = setTimeout(() => {
      this.#judging = undefined;
      const buffered = this.socket.bufferedAmount;
      const limit = 2 * this.ws.options.bufferBytes;
      if (buffered <= limit) return void (this.#bigFrame = 0);
      // Over the limit only by one oversized frame, and reading it: judged again later. A
      // client that stops reading makes no progress and is closed.
      const reading = this.#sentBytes - buffered > drainedBefore;
      if (reading && buffered <= limit + this.#bigFrame) return this.#judgeSoon();
      this.close(CLOSE_REASONS.slow);
    }, SLOW_VERDICT_MS);
  }

  /** Sends a message the client may miss: dropped while the send buffer is over budget. */
  sendEphemeral(frame: Frame): void {
    if (!this.#canSend() || this.socket.bufferedAmount > this.ws.options.bufferBytes) return;
    this.send(frame);
  }

  sendEvent(published: PublishedEvent): void {
    this.send(eventFrame(published));
  }

  reply(message: ServerMessage): void {
    this.send(encode(message));
  }

  sendError(code: ErrorCode, message: string, extra: Record<string, unknown> = {}): void {
    this.reply(errorMessage(code, message, extra));
  }

  /** Resolves once the send buffer is back under budget (between replay pages). */
  drained(): Promise<void> {
    if (!this.#overBudget()) return Promise.resolve();
    return new Promise((resolve) => {
      this.#drainWaiters.push(resolve);
      this.ws.drainWatch.add(this);
    });
  }

  #overBudget(): boolean {
    return this.#canSend() && this.socket.bufferedAmount > this.ws.options.bufferBytes;
  }

  /** Called by the shared drain watch: wakes the catch-up once the buffer is under budget. */
  checkDrained(): void {
    if (this.#overBudget()) return;
    this.ws.drainWatch.delete(this);
    const waiters = this.#drainWaiters;
    this.#drainWaiters = [];
    waiters.forEach((resolve) => resolve());
  }

  /**
   * Runs every heartbeat period. A socket with bytes waiting and not one byte drained since the
   * last sweep has a peer that stopped reading: it is closed as slow. A socket the runtime has
   * been closing for a whole period (its close frame stuck behind unread data) is given up.
   */
  sweep(): void {
    const buffered = this.socket.bufferedAmount;
    const drained = this.#sentBytes - buffered;
    if (buffered > 0 && drained === this.#drainedAtSweep) return this.close(CLOSE_REASONS.slow);
    this.#drainedAtSweep = drained;
    if (this.socket.readyState >= CLOSING) {
      if (this.#closingSeen) this.close(CLOSE_REASONS.heartbeatTimeout);
      this.#closingSeen = true;
    }
  }

  /** Leaves one board's room and stops its feed (idempotent). */
  leaveBoard(boardId: string): Promise<void> {
    const membership = this.memberships.get(boardId);
    if (!membership) return Promise.resolve();
    this.memberships.delete(boardId);
    membership.feed?.stop();
    return membership.inRoom ? this.ws.rooms.leave(boardId, this) : Promise.resolve();
  }

  close(reason: CloseReason): void {
    if (this.#closedFor) return;
    this.#closedFor = reason;
    clearTimeout(this.#judging);
    this.checkDrained(); // a catch-up waiting for the buffer stops waiting, and its feed is stopped
    for (const boardId of [...this.memberships.keys()]) void this.leaveBoard(boardId);
    this.ws.forget(this, reason);
    if (reason === CLOSE_REASONS.clientGone || !this.#opened) return;
    try {
      if (!reason.reconnect) {
        this.socket.send(
          encode(errorMessage(finalCode(reason), reason.message, { reconnect: false })).text,
        );
      }
      this.socket.close(reason.code, closeText(reason));
    } catch {
      // Already closed by the client.
    }
  }

  #canSend(): boolean {
    return this.#opened && !this.#closedFor && this.socket.readyState === OPEN;
  }
}
