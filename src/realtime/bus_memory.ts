/** The in-process bus: a set of listeners per board, called synchronously in publish order. */
import { log } from "../log.ts";
import type { BoardEvent } from "../store/store.ts";
import { type Bus, type EventListener, PublishedEvent } from "./bus.ts";

export class MemoryBus implements Bus {
  #listeners = new Map<string, Set<EventListener>>();

  publish(event: BoardEvent): void {
    const listeners = this.#listeners.get(event.boardId);
    if (!listeners) return;
    const published = new PublishedEvent(event);
    // Iterate over a copy: a listener may unsubscribe itself or others while being called.
    for (const listener of [...listeners]) {
      try {
        listener(published);
      } catch (error) {
        log.warn(`bus listener failed on event ${event.id}: ${error}`);
      }
    }
  }

  subscribe(boardId: string, listener: EventListener): () => void {
    let listeners = this.#listeners.get(boardId);
    if (!listeners) this.#listeners.set(boardId, listeners = new Set());
    listeners.add(listener);
    return () => {
      const current = this.#listeners.get(boardId);
      if (!current?.delete(listener)) return;
      if (current.size === 0) this.#listeners.delete(boardId);
    };
  }

  subscriberCount(boardId?: string): number {
    if (boardId !== undefined) return this.#listeners.get(boardId)?.size ?? 0;
    let total = 0;
    for (const listeners of this.#listeners.values()) total += listeners.size;
    return total;
  }

  close(): Promise<void> {
    this.#listeners.clear();
    return Promise.resolve();
  }
}
