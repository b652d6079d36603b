/**
 * The bus of an instance on a shared store (PostgreSQL): local fan-out by a `MemoryBus`, fed by
 * the `EventRelay` with every committed event — this instance's and, in cross-instance mode,
 * every other's — in seq order, exactly once. `publish` (the store's commit listener) offers the
 * event to the relay first, so local delivery never waits on Redis, then publishes its wire JSON
 * on the Redis `events` channel for the other instances. A failed publish is counted, never
 * retried: the other relays fill the gap from the log. Without Redis the relay still reads the
 * log (a quarter of RELAY_CHECK_MS apart), so an event whose commit was never reported here (the
 * connection broke after COMMIT) is delivered all the same.
 */
import type { BoardEvent, Store } from "../store/store.ts";
import type { Bus, EventListener } from "./bus.ts";
import { MemoryBus } from "./bus_memory.ts";
import type { RedisLink } from "./redis.ts";
import { EventRelay, type RelayOptions } from "./relay.ts";

export interface RelayBusOptions extends RelayOptions {
  /** Test-only fault: drop every other publish to Redis. */
  dropPublishes?: boolean;
}

export class RelayBus implements Bus {
  readonly local = new MemoryBus();
  readonly relay: EventRelay;
  #unsubscribe: () => void = () => {};
  #publishes = 0;

  constructor(
    readonly store: Store,
    /** Absent on one instance: then the relay only reads the log. */
    readonly link: RedisLink | undefined,
    /** Called when the relay cannot make the local feeds whole (see EventRelay.onGap). */
    onGap: () => void,
    readonly options: RelayBusOptions,
  ) {
    this.relay = new EventRelay(
      store,
      (event) => this.local.publish(event),
      () => link?.up ?? false,
      onGap,
      options,
    );
  }

  /** Subscribes to the other instances' events, then starts the relay at the log's head. */
  async start(): Promise<void> {
    if (this.link) {
      const link = this.link;
      this.#unsubscribe = link.subscribe("events", (message) => {
        this.relay.offer(JSON.parse(message) as BoardEvent);
      });
      link.onUp(() => void this.relay.catchUp());
    }
    await this.relay.start();
  }

  publish(event: BoardEvent): void {
    this.relay.offer(event);
    if (!this.link || (this.options.dropPublishes && this.#publishes++ % 2 === 0)) return;
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
