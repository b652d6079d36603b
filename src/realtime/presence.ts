/**
 * The presence contract: who is looking at which board, keyed by user with one entry per
 * connection (as in Phoenix.Presence), so a user with three tabs is one viewer. A memory
 * implementation serves one process; a Redis one can stand beside it for several instances.
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

export interface PresenceCounts {
  users: number;
  connections: number;
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
  /** Users and connections per board that has anyone present. */
  counts(): Promise<Record<string, PresenceCounts>>;
  close(): Promise<void>;
}
