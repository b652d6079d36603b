/**
 * In-process presence: per board, a map from user to that user's connections. Every method
 * does its work synchronously before returning its Promise, so "first" and "last" answers are
 * atomic with respect to each other.
 */
import type { Presence, PresenceEntry, PresenceUser } from "./presence.ts";

interface UserPresence {
  name: string;
  connections: Set<string>;
}

export class MemoryPresence implements Presence {
  /** boardId → userId → connections; Map iteration order is first-join order. */
  #boards = new Map<string, Map<string, UserPresence>>();

  add(boardId: string, entry: PresenceEntry): Promise<boolean> {
    let users = this.#boards.get(boardId);
    if (!users) this.#boards.set(boardId, users = new Map());
    const user = users.get(entry.userId);
    if (user) {
      user.connections.add(entry.connectionId);
      return Promise.resolve(false);
    }
    users.set(entry.userId, { name: entry.name, connections: new Set([entry.connectionId]) });
    return Promise.resolve(true);
  }

  remove(boardId: string, entry: PresenceEntry): Promise<boolean> {
    const users = this.#boards.get(boardId);
    const user = users?.get(entry.userId);
    if (!users || !user?.connections.delete(entry.connectionId)) return Promise.resolve(false);
    if (user.connections.size > 0) return Promise.resolve(false);
    users.delete(entry.userId);
    if (users.size === 0) this.#boards.delete(boardId);
    return Promise.resolve(true);
  }

  list(boardId: string): Promise<PresenceUser[]> {
    const users = this.#boards.get(boardId) ?? new Map<string, UserPresence>();
    return Promise.resolve(
      [...users].map(([userId, user]) => ({
        userId,
        name: user.name,
        connections: user.connections.size,
      })),
    );
  }

  /** One process: no instance can go silent, so nothing expires. */
  onExpire(): void {}

  /** One process: presence is never lost while it runs. */
  onRestore(): void {}

  close(): Promise<void> {
    this.#boards.clear();
    return Promise.resolve();
  }
}
