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
  #handlers = new Map<string, Set<MessageHandler>>();
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
      if (!this.#wasDown || this.#closed) return;
      this.#wasDown = false;
      log.info("redis is back");
      this.#upListeners.forEach((listener) => listener());
    });
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
   * Subscribes a handler to a prefixed channel (the subscription is made once per channel and
   * renewed by node-redis after a reconnect). Returns the unsubscribe function.
   */
  subscribe(channel: string, handler: MessageHandler): () => void {
    let handlers = this.#handlers.get(channel);
    if (!handlers) {
      this.#handlers.set(channel, handlers = new Set());
      const all = handlers;
      this.#subscriber.subscribe(this.key(channel), (message: string) => {
        for (const fn of all) {
          try {
            fn(message);
          } catch (error) {
            log.warn(`redis message on ${channel} failed: ${error}`);
          }
        }
      }).catch((error: Error) => log.debug(`redis subscribe ${channel}: ${error.message}`));
    }
    handlers.add(handler);
    return () => {
      if (!handlers.delete(handler) || handlers.size > 0) return;
      this.#handlers.delete(channel);
      if (this.#subscriber.isReady) {
        this.#subscriber.unsubscribe(this.key(channel)).catch(() => {});
      }
    };
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
