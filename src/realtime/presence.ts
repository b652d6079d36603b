/**
 * The presence contract: who is looking at which board, keyed by user with one entry per
 * connection (as in Phoenix.Presence), so a user with three tabs is one viewer. A memory
 * implementation serves one process; the Redis one (presence_redis.ts) a cluster, where:
 * - "first" and "last" are decided atomically across every instance: for one user and board,
 *   exactly one `add` resolves true per join and one `remove` (or expiry) per leave;
 * - the entries of an instance that stops refreshing them (killed, cut off) expire within its
 *   TTL plus one sweep, and each user who thereby leaves is reported by `onExpire` on exactly one
 *   surviving instance (which announces `user_left`);
 * - when presence was lost (Redis restarted empty, or this instance was taken for dead) the
 *   instance adds its entries again by itself and reports it by `onRestore`.
 * While the backing service is down, `add` and `remove` resolve false and `list` falls back to
 * this instance's own viewers; nothing throws.
 */
/** One viewer of a board: a user, however many connections (tabs) they have there. */
export interface PresenceUser {
  userId: string;
  name: string;
  /** Open connections (tabs) of this user in the room. */
  connections: number;
}

/** One connection of a user in a board's room. */
export interface PresenceEntry {
  userId: string;
  name: string;
  connectionId: string;
}

/** A user whose connections expired with their instance. */
export interface ExpiredUser {
  userId: string;
  name: string;
}

export interface Presence {
  /**
   * Records a connection in a board's room. Resolves to true when it is the user's first
   * connection there (the moment to announce `user_joined`). Adding the same connection twice
   * changes nothing and resolves to false.
   */
  add(boardId: string, entry: PresenceEntry): Promise<boolean>;
  /**
   * Removes a connection from a board's room. Resolves to true when it was the user's last
   * connection there (the moment to announce `user_left`); false when other tabs remain or the
   * connection was not present (so calling it twice is harmless).
   */
  remove(boardId: string, entry: PresenceEntry): Promise<boolean>;
  /** The users in a board's room, one element per user, in the order they first joined. */
  list(boardId: string): Promise<PresenceUser[]>;
  /** Sets the one listener told of users who left because their instance went silent. */
  onExpire(listener: (boardId: string, user: ExpiredUser) => void): void;
  /**
   * Sets the one listener told that this instance's entries were added again after presence was
   * lost: every board it has viewers on, each with the entries that were a first connection.
   */
  onRestore(listener: (firsts: Map<string, PresenceEntry[]>) => void): void;
  /** Removes this instance's entries at once (reported through `onExpire`) and stops. */
  close(): Promise<void>;
}
