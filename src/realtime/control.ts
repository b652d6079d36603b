/**
 * Control across instances: ending sessions everywhere and the cluster's connection counts.
 * Logout and expired sessions close that session's streams and sockets on this instance and,
 * through the Redis `control` channel, on every other; a periodic check (`sweepSessions`, run by
 * housekeeping) closes what a lost control message left open. Each instance publishes its
 * counts under `stats:{instance}` (expiring) and its name in the set `stats`, so
 * `/admin/connections` can show the whole cluster without scanning the keyspace. On one
 * instance (no Redis) all of it is local.
 */
import { log } from "../log.ts";
import type { Store } from "../store/store.ts";
import { CLOSE_REASONS } from "./close_reasons.ts";
import type { ConnectionCounts, ConnectionRegistry } from "./connections.ts";
import type { RedisLink } from "./redis.ts";

interface ControlMessage {
  type: "end_sessions";
  from: string;
  sessionHashes: string[];
}

export interface InstanceCounts extends ConnectionCounts {
  instanceId: string;
  at: string;
}

export class Control {
  #unsubscribe: () => void = () => {};
  #statsTimer?: ReturnType<typeof setInterval>;

  constructor(
    readonly registry: ConnectionRegistry,
    readonly store: Store,
    readonly instanceId: string,
    readonly link?: RedisLink,
    /** Told of every ended session, here or elsewhere (the session cache forgets it). */
    readonly onEnded: (sessionHashes: string[]) => void = () => {},
    /** How often counts are published (they expire after three periods). */
    readonly statsMs = 2000,
  ) {}

  start(): void {
    if (!this.link) return;
    this.#unsubscribe = this.link.subscribe("control", (text) => {
      const message = JSON.parse(text) as ControlMessage;
      if (message.from === this.instanceId || message.type !== "end_sessions") return;
      this.onEnded(message.sessionHashes);
      this.registry.closeSessions(CLOSE_REASONS.unauthorized, new Set(message.sessionHashes));
    });
    const publish = () => void this.#publishStats();
    publish();
    this.#statsTimer = setInterval(publish, this.statsMs);
  }

  /** Ends the connections opened with these sessions, here and on every other instance. */
  endSessions(sessionHashes: string[]): void {
    if (sessionHashes.length === 0) return;
    this.onEnded(sessionHashes);
    this.registry.closeSessions(CLOSE_REASONS.unauthorized, new Set(sessionHashes));
    const message: ControlMessage = { type: "end_sessions", from: this.instanceId, sessionHashes };
    this.link?.publish("control", JSON.stringify(message));
  }

  /**
   * The fallback for a lost control message: closes this instance's connections whose session
   * no longer exists (logged out or expired elsewhere).
   */
  async sweepSessions(): Promise<void> {
    const hashes = this.registry.sessionHashes();
    if (hashes.length === 0) return;
    const live = await this.store.existingSessions(hashes);
    const gone = hashes.filter((hash) => !live.has(hash));
    this.onEnded(gone);
    this.registry.closeSessions(CLOSE_REASONS.unauthorized, new Set(gone));
  }

  async #publishStats(): Promise<void> {
    if (!this.link?.up) return;
    const counts: InstanceCounts = {
      instanceId: this.instanceId,
      at: new Date().toISOString(),
      ...this.registry.counts(),
    };
    const { commands } = this.link;
    // Each instance's counts expire on their own (Redis's clock, not ours); the set of names
    // spares readers a scan of the keyspace.
    await Promise.all([
      commands.set(this.link.key(`stats:${this.instanceId}`), JSON.stringify(counts), {
        PX: 3 * this.statsMs,
      }),
      commands.sAdd(this.link.key("stats"), this.instanceId),
    ]).catch((error: Error) => log.debug(`stats publish failed: ${error.message}`));
  }

  /** Every live instance's counts (this one's fresh), or just this one's without Redis. */
  async clusterCounts(): Promise<InstanceCounts[]> {
    const mine: InstanceCounts = {
      instanceId: this.instanceId,
      at: new Date().toISOString(),
      ...this.registry.counts(),
    };
    if (!this.link?.up) return [mine];
    const { commands } = this.link;
    try {
      const ids = (await commands.sMembers(this.link.key("stats")))
        .filter((id) => id !== this.instanceId);
      const values = ids.length
        ? await commands.mGet(ids.map((id) => this.link!.key(`stats:${id}`)))
        : [];
      const gone = ids.filter((_, i) => typeof values[i] !== "string");
      if (gone.length) await commands.sRem(this.link.key("stats"), gone);
      const others = values.filter((v): v is string => typeof v === "string")
        .map((v) => JSON.parse(v) as InstanceCounts);
      return [mine, ...others].sort((a, b) => a.instanceId.localeCompare(b.instanceId));
    } catch (error) {
      log.debug(`cluster counts failed: ${error}`);
      return [mine];
    }
  }

  stop(): void {
    clearInterval(this.#statsTimer);
    this.#unsubscribe();
  }

  /** Removes this instance's counts at once (a clean shutdown). */
  async close(): Promise<void> {
    this.stop();
    if (this.link?.up) {
      const { commands } = this.link;
      await Promise.all([
        commands.del(this.link.key(`stats:${this.instanceId}`)),
        commands.sRem(this.link.key("stats"), this.instanceId),
      ]).catch(() => {});
    }
  }
}
