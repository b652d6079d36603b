/**
 * The cross-instance bus: local fan-out by a `MemoryBus`, fed by the `EventRelay` with every
 * committed event of every instance, in seq order, exactly once. `publish` (the store's commit
 * listener) offers the event to this instance's relay first — local delivery never waits on
 * Redis — then publishes its wire JSON on the `events` channel for the other instances. A failed
 * publish is counted, never retried: the other relays fill the gap from the log.
 */
import type { BoardEvent, Store } from "../store/store.ts";
import type { Bus, EventListener } from "./bus.ts";
import { MemoryBus } from "./bus_memory.ts";
import type { RedisLink } from "./redis.ts";
import { EventRelay, type RelayOptions } from "./relay.ts";

export interface RedisBusOptions extends RelayOptions {
  /** Test-only fault: drop every other publish to Redis. */
  dropPublishes?: boolean;
}

export class RedisBus implements Bus {
  readonly local = new MemoryBus();
  readonly relay: EventRelay;
  #unsubscribe: () => void = () => {};
  #publishes = 0;

  constructor(
    readonly store: Store,
    readonly link: RedisLink,
    /** Called when the relay cannot make the local feeds whole (see EventRelay.onGap). */
    onGap: () => void,
    readonly options: RedisBusOptions,
  ) {
    this.relay = new EventRelay(store, (e) => this.local.publish(e), () => link.up, onGap, options);
  }

  /** Subscribes to the other instances' events, then starts the relay at the log's head. */
  async start(): Promise<void> {
    this.#unsubscribe = this.link.subscribe("events", (message) => {
      this.relay.offer(JSON.parse(message) as BoardEvent);
    });
    this.link.onUp(() => void this.relay.catchUp());
    await this.relay.start();
  }

  publish(event: BoardEvent): void {
    this.relay.offer(event);
    if (this.options.dropPublishes && this.#publishes++ % 2 === 0) return;
    this.link.publish("events", JSON.stringify(event));
  }

  subscribe(boardId: string, listener: EventListener): () => void {
    return this.local.subscribe(boardId, listener);
  }

  subscriberCount(boardId?: string): number {
    return this.local.subscriberCount(boardId);
  }

  async close(): Promise<void> {
    this.#unsubscribe();
    await this.relay.stop();
    await this.local.close();
  }
}
