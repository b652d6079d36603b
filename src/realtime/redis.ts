/**
 * The Redis link of one instance: a command client and a subscriber client (pub/sub needs its
 * own connection), every key and channel under one prefix, and whether Redis is up right now.
 * Both clients reconnect by themselves with backoff; the link tells its listeners when Redis
 * comes back, so they can repair what they missed (the relay backfills, presence re-adds).
 * Commands fail at once while Redis is down (`disableOfflineQueue`: node-redis would otherwise
 * queue them without bound); callers treat Redis as an accelerator that may fail.
 */
import { createClient } from "redis";
import { log } from "../log.ts";

type Client = ReturnType<typeof createClient>;

/** How long start-up waits for Redis before going on without it. */
const CONNECT_WAIT_MS = 2000;
type MessageHandler = (message: string) => void;

export class RedisLink {
  readonly commands: Client;
  readonly #subscriber: Client;
  /** The channels wanted, with their handlers. */
  #handlers = new Map<string, Set<MessageHandler>>();
  /** The channels the subscriber client holds (or is subscribing to). */
  #subscribed = new Set<string>();
  #upListeners = new Set<() => void>();
  #wasDown = false;
  #closed = false;
  /** Commands that failed (publishes included) since start: shown by /healthz. */
  failures = 0;

  private constructor(url: string, readonly prefix: string) {
    const options = {
      url,
      disableOfflineQueue: true,
      socket: {
        connectTimeout: 2000,
        // Quick at first, at most 1 s apart: while Redis is down the relay polls PostgreSQL.
        reconnectStrategy: (retries: number) => Math.min(50 * 2 ** retries, 1000),
      },
    };
    this.commands = createClient(options);
    this.#subscriber = createClient(options);
    for (
      const [name, client] of [["commands", this.commands], [
        "subscriber",
        this.#subscriber,
      ]] as const
    ) {
      // An 'error' without a listener would end the process.
      client.on("error", (error: Error) => {
        if (!this.#wasDown) log.warn(`redis ${name}: ${error.message}`);
        this.#wasDown = true;
      });
    }
    this.#subscriber.on("ready", () => {
      if (!this.#closed) void this.#sync();
    });
    // Back once both clients are ready again, whichever was down.
    for (const client of [this.commands, this.#subscriber]) {
      client.on("ready", () => {
        if (this.#closed || !this.#wasDown || !this.up) return;
        this.#wasDown = false;
        log.info("redis is back");
        this.#upListeners.forEach((listener) => listener());
      });
    }
  }

  /**
   * Connects both clients. Redis being down at start is not fatal: the instance runs on
   * PostgreSQL alone (polling) and the clients keep trying.
   */
  static async open(url: string, prefix: string): Promise<RedisLink> {
    const link = new RedisLink(url, prefix);
    // With a reconnect strategy, connect() keeps trying instead of failing: wait for it a
    // moment, then go on without Redis while it goes on trying.
    const connect = (client: Client) => {
      const connected = client.connect().then(() => true, () => false);
      const timeout = new Promise<boolean>((resolve) => {
        const timer = setTimeout(() => resolve(false), CONNECT_WAIT_MS);
        connected.finally(() => clearTimeout(timer));
      });
      return Promise.race([connected, timeout]);
    };
    const [a, b] = await Promise.all([connect(link.commands), connect(link.#subscriber)]);
    if (!a || !b) {
      link.#wasDown = true;
      log.warn(
        "redis not reachable at start; running on the log alone, retrying in the background",
      );
    }
    return link;
  }

  /** The prefixed name of a key or channel. */
  key(name: string): string {
    return this.prefix + name;
  }

  /** True while both clients are connected. */
  get up(): boolean {
    return this.commands.isReady && this.#subscriber.isReady;
  }

  /** Calls `listener` each time Redis comes back after being down. */
  onUp(listener: () => void): () => void {
    this.#upListeners.add(listener);
    return () => this.#upListeners.delete(listener);
  }

  /** Publishes on a prefixed channel; a failure is counted and logged at debug, never thrown. */
  publish(channel: string, message: string): void {
    if (!this.commands.isReady) {
      this.failures++;
      return;
    }
    this.commands.publish(this.key(channel), message).catch((error: Error) => {
      this.failures++;
      log.debug(`redis publish on ${channel} failed: ${error.message}`);
    });
  }

  /**
   * Subscribes a handler to a prefixed channel. The link keeps the set of channels it wants:
   * one that could not be subscribed (Redis down) is subscribed when the subscriber is ready
   * again, and one given up while down is unsubscribed then. node-redis renews the
   * subscriptions it made itself after a reconnect.
   */
  subscribe(channel: string, handler: MessageHandler): () => void {
    let handlers = this.#handlers.get(channel);
    if (!handlers) {
      this.#handlers.set(channel, handlers = new Set());
      void this.#sync();
    }
    handlers.add(handler);
    const mine = handlers;
    return () => {
      if (!mine.delete(handler) || mine.size > 0) return;
      this.#handlers.delete(channel);
      void this.#sync();
    };
  }

  /** Brings the subscriber's channels in line with the wanted ones (when it is ready). */
  async #sync(): Promise<void> {
    if (!this.#subscriber.isReady) return;
    for (const channel of this.#handlers.keys()) {
      if (this.#subscribed.has(channel)) continue;
      this.#subscribed.add(channel);
      await this.#subscriber.subscribe(this.key(channel), (message: string) => {
        for (const fn of this.#handlers.get(channel) ?? []) {
          try {
            fn(message);
          } catch (error) {
            log.warn(`redis message on ${channel} failed: ${error}`);
          }
        }
      }).catch((error: Error) => {
        this.#subscribed.delete(channel); // tried again at the next ready
        log.debug(`redis subscribe ${channel}: ${error.message}`);
      });
    }
    for (const channel of [...this.#subscribed]) {
      if (this.#handlers.has(channel)) continue;
      this.#subscribed.delete(channel);
      await this.#subscriber.unsubscribe(this.key(channel)).catch(() => {
        this.#subscribed.add(channel);
      });
    }
  }

  /** Runs a Lua script (EVAL; scripts here are small and few). */
  eval(script: string, keys: string[], args: string[]): Promise<unknown> {
    return this.commands.eval(script, { keys, arguments: args });
  }

  async close(): Promise<void> {
    this.#closed = true;
    this.#upListeners.clear();
    for (const client of [this.#subscriber, this.commands]) {
      try {
        // A client still trying to reconnect would wait for the connection: drop it instead.
        if (client.isReady) await client.close();
        else if (client.isOpen) client.destroy();
      } catch {
        client.destroy();
      }
    }
  }
}
