/**
 * The registry of live connections of every transport (SSE streams, WebSockets, parked long
 * polls): counts for /admin/connections, per-user limits, closing a user's connections on
 * logout, and closing everything on shutdown. Each connection owns one idempotent `close`.
 */
import { log } from "../log.ts";
import type { CloseReason } from "./close_reasons.ts";

export type ConnectionTransport = "sse" | "websocket" | "longpoll";

export interface Connection {
  readonly id: string;
  readonly transport: ConnectionTransport;
  readonly userId: string;
  /** Hash of the session the connection was opened with (null for the demo guest). */
  readonly sessionHash: string | null;
  /** Boards the connection currently follows. */
  boardIds(): Iterable<string>;
  /** Ends the connection for `reason`; calling it again does nothing. */
  close(reason: CloseReason): void;
}

export interface ConnectionCounts {
  total: number;
  byTransport: Record<ConnectionTransport, number>;
  byBoard: Record<string, Partial<Record<ConnectionTransport, number>>>;
}

const countKey = (userId: string, transport: ConnectionTransport) => `${transport}\n${userId}`;

export class ConnectionRegistry {
  #connections = new Map<string, Connection>();
  /** Connections closed since start, by transport and reason (for /metrics). */
  readonly closes = new Map<string, number>();
  /** Events delivered since start, by transport (for /metrics). */
  readonly delivered = { sse: 0, websocket: 0, longpoll: 0 };
  /**
   * Open connections per user and transport, kept as counts: the per-user limits read one on
   * every open, and filtering the user's set made opening 5,000 streams of one user quadratic
   * (2.5 s of CPU in a bench profile).
   */
  #userCounts = new Map<string, number>();
  #stoppedFor?: CloseReason;

  add(connection: Connection): void {
    const stopping = this.#stoppedFor;
    if (stopping) {
      // Shutdown began after this connection's request got past its checks: end it as soon as
      // it has finished setting up, the same way as the ones already open.
      queueMicrotask(() => connection.close(stopping));
      return;
    }
    this.#connections.set(connection.id, connection);
    const key = countKey(connection.userId, connection.transport);
    this.#userCounts.set(key, (this.#userCounts.get(key) ?? 0) + 1);
    log.info(`${connection.transport} ${connection.id} open user=${connection.userId}`);
  }

  /** Forgets a connection (call from its close); returns false when it was already gone. */
  remove(connection: Connection, reason: CloseReason): boolean {
    if (!this.#connections.delete(connection.id)) return false;
    const counted = countKey(connection.userId, connection.transport);
    const left = (this.#userCounts.get(counted) ?? 1) - 1;
    if (left > 0) this.#userCounts.set(counted, left);
    else this.#userCounts.delete(counted);
    const key = `${connection.transport}\n${reason.name}`;
    this.closes.set(key, (this.closes.get(key) ?? 0) + 1);
    log.info(`${connection.transport} ${connection.id} closed reason=${reason.name}`);
    return true;
  }

  get size(): number {
    return this.#connections.size;
  }

  /** How many connections of one transport a user has open. */
  countOfUser(userId: string, transport: ConnectionTransport): number {
    return this.#userCounts.get(countKey(userId, transport)) ?? 0;
  }

  counts(): ConnectionCounts {
    const counts: ConnectionCounts = {
      total: 0,
      byTransport: { sse: 0, websocket: 0, longpoll: 0 },
      byBoard: {},
    };
    for (const connection of this.#connections.values()) {
      counts.total++;
      counts.byTransport[connection.transport]++;
      for (const boardId of connection.boardIds()) {
        const board = counts.byBoard[boardId] ??= {};
        board[connection.transport] = (board[connection.transport] ?? 0) + 1;
      }
    }
    return counts;
  }

  /** Closes every connection for `reason` and ends any that opens from now on. */
  stop(reason: CloseReason): void {
    this.#stoppedFor = reason;
    this.closeAll(reason);
  }

  /** The distinct sessions live connections were opened with. */
  sessionHashes(): string[] {
    const hashes = new Set<string>();
    for (const connection of this.#connections.values()) {
      if (connection.sessionHash) hashes.add(connection.sessionHash);
    }
    return [...hashes];
  }

  /** Closes the connections opened with any of these sessions (expired ones), in one pass. */
  closeSessions(reason: CloseReason, sessionHashes: ReadonlySet<string>): void {
    if (sessionHashes.size === 0) return;
    for (const connection of [...this.#connections.values()]) {
      if (connection.sessionHash && sessionHashes.has(connection.sessionHash)) {
        connection.close(reason);
      }
    }
  }

  /** Closes every connection (the relay could not make them whole; tests). */
  closeAll(reason: CloseReason): void {
    for (const connection of [...this.#connections.values()]) connection.close(reason);
  }
}
