/**
 * The composition root: builds every service of one instance from the configuration — the store
 * (chosen by the DATABASE_URL scheme), the bus, presence and room channel (in memory, or over
 * Redis when REDIS_URL is set: relay, cluster presence, cross-instance rooms and control), the
 * actions and the transports — and wires store → bus → transports, without listening. server.ts
 * listens; tests may build services alone. `closeServices` takes them down in reverse order.
 */
import { Actions } from "./actions.ts";
import { SessionCache } from "./auth.ts";
import { Metrics } from "./metrics.ts";
import { type Config, ConfigError, storeKind } from "./config.ts";
import type { Services } from "./http/context.ts";
import type { Bus } from "./realtime/bus.ts";
import { MemoryBus } from "./realtime/bus_memory.ts";
import { RelayBus } from "./realtime/bus_relay.ts";
import { CLOSE_REASONS } from "./realtime/close_reasons.ts";
import { ConnectionRegistry } from "./realtime/connections.ts";
import { Control } from "./realtime/control.ts";
import { LongPolling } from "./realtime/polling.ts";
import type { Presence } from "./realtime/presence.ts";
import { MemoryPresence } from "./realtime/presence_memory.ts";
import { RedisPresence } from "./realtime/presence_redis.ts";
import { RedisLink } from "./realtime/redis.ts";
import { RedisRoomChannel } from "./realtime/rooms_redis.ts";
import { SseTransport } from "./realtime/sse.ts";
import { WebSocketTransport } from "./realtime/ws.ts";
import { handleMessage } from "./realtime/ws_handlers.ts";
import { seedDemoData } from "./store/seed.ts";
import { SqliteStore } from "./store/sqlite/store.ts";
import type { Store, StoreLimits } from "./store/store.ts";

function errorText(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

const limitsOf = (config: Config): StoreLimits => ({
  cardsPerBoard: config.maxCardsPerBoard,
  listsPerBoard: config.maxListsPerBoard,
  boardsPerUser: config.maxBoardsPerUser,
});

/** Opens the store DATABASE_URL names; a failure is a ConfigError naming the setting. */
export async function openStore(config: Config): Promise<Store> {
  try {
    if (storeKind(config.databaseUrl) === "postgres") {
      const { PostgresStore } = await import("./store/postgres/store.ts");
      return await PostgresStore.open(config.databaseUrl, {
        schema: config.databaseSchema,
        lockTimeoutMs: config.databaseLockTimeoutMs,
      }, limitsOf(config));
    }
    return new SqliteStore(config.databaseUrl, limitsOf(config));
  } catch (error) {
    throw new ConfigError(
      `Cannot open DATABASE_URL "${redactUrl(config.databaseUrl)}": ${errorText(error)}`,
    );
  }
}

/** The URL with its password masked, for messages and logs. */
export function redactUrl(url: string): string {
  return url.replace(/\/\/([^:@/]+):([^@/]+)@/, "//$1:***@");
}

/** Builds the services of one instance: store, bus, presence, actions, transports. */
export async function createServices(config: Config): Promise<Services> {
  const store = await openStore(config);
  try {
    if (config.demo || config.seed) await seedDemoData(store, config.pbkdf2Iterations);
  } catch (error) {
    await store.close();
    throw error;
  }
  const registry = new ConnectionRegistry();
  const { instanceId } = config;
  const redis = config.redisUrl
    ? await RedisLink.open(config.redisUrl, config.redisPrefix)
    : undefined;
  // On a shared store the bus is fed by the relay (with Redis: every instance's events; without:
  // events whose COMMIT was not reported here are still read from the log).
  const relayBus = storeKind(config.databaseUrl) === "postgres"
    ? new RelayBus(store, redis, () => registry.closeAll(CLOSE_REASONS.relayGap), {
      checkMs: config.relayCheckMs,
      dropPublishes: config.testFaults.includes("drop_publishes"),
    })
    : undefined;
  await relayBus?.start();
  const memoryBus = relayBus ? relayBus.local : new MemoryBus();
  const bus: Bus = relayBus ?? memoryBus;
  const redisPresence = redis
    ? new RedisPresence(redis, { instanceId, ttlMs: config.presenceTtlMs })
    : undefined;
  const presence: Presence = redisPresence ?? new MemoryPresence();
  const roomChannel = redis ? new RedisRoomChannel(redis, instanceId) : undefined;
  const exitAfterCommit = config.testFaults.includes("exit_after_commit");
  const metrics = new Metrics({ registry, store, redis, relay: relayBus?.relay });
  memoryBus.onFannedOut = (event) => metrics.fannedOut(event);
  store.onCommit((event) => {
    metrics.committed();
    // Test-only: die between COMMIT and publish, as a killed instance would.
    if (exitAfterCommit) Deno.exit(86);
    bus.publish(event);
  });
  const sessions = new SessionCache(store, config.sessionCacheMs);
  const control = new Control(
    registry,
    store,
    instanceId,
    redis,
    (ended) => sessions.forget(ended),
  );
  control.start();
  const actions = new Actions(store);
  const services: Services = {
    config,
    store,
    sessions,
    bus,
    presence,
    registry,
    control,
    redis,
    relay: relayBus?.relay,
    metrics,
    actions,
    sse: new SseTransport(store, bus, registry, {
      heartbeatMs: config.sseHeartbeatMs,
      retryMs: config.sseRetryMs,
      queueBytes: config.sseQueueBytes,
      maxStreamsPerUser: config.sseMaxStreamsPerUser,
    }),
    longPolling: new LongPolling(store, bus, registry, {
      timeoutMs: config.longPollTimeoutMs,
      maxPerUser: config.longPollMaxPerUser,
    }),
    websockets: new WebSocketTransport(store, bus, registry, actions, presence, roomChannel, {
      heartbeatMs: config.wsHeartbeatMs,
      maxMessageBytes: config.wsMaxMessageBytes,
      maxConnectionsPerUser: config.wsMaxConnectionsPerUser,
      bufferBytes: config.wsBufferBytes,
      ephemeralRate: config.wsEphemeralRate,
      typingTimeoutMs: config.typingTimeoutMs,
    }, handleMessage),
  };
  // After the rooms listen to it: starting reaps what a previous process with this
  // INSTANCE_ID left behind, and the rooms announce those viewers as left.
  await redisPresence?.start();
  return services;
}

/**
 * Stops the transports' timers, removes this instance's presence at once (announcing who left),
 * then closes the bus, Redis and the store — after the connections were closed.
 */
export async function closeServices(services: Services): Promise<void> {
  services.sse.stop();
  services.longPolling.stop();
  await services.websockets.stop();
  await services.control.close();
  await services.bus.close();
  await services.redis?.close();
  await services.store.close();
}
