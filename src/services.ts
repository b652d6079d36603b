/**
 * The composition root: builds every service of one instance from the configuration — the store
 * (chosen by the DATABASE_URL scheme), the bus and presence, the actions and the transports —
 * and wires store → bus → transports, without listening. server.ts listens; tests may build
 * services alone. `closeServices` takes them down in the reverse order.
 */
import { Actions } from "./actions.ts";
import { type Config, ConfigError, storeKind } from "./config.ts";
import type { Services } from "./http/context.ts";
import { MemoryBus } from "./realtime/bus_memory.ts";
import { ConnectionRegistry } from "./realtime/connections.ts";
import { LongPolling } from "./realtime/polling.ts";
import { MemoryPresence } from "./realtime/presence_memory.ts";
import { SseTransport } from "./realtime/sse.ts";
import { WebSocketTransport } from "./realtime/ws.ts";
import { handleMessage } from "./realtime/ws_handlers.ts";
import { seedDemoData } from "./store/seed.ts";
import { SqliteStore } from "./store/sqlite/store.ts";
import type { Store } from "./store/store.ts";

function errorText(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/** Opens the store DATABASE_URL names; a failure is a ConfigError naming the setting. */
export async function openStore(config: Config): Promise<Store> {
  try {
    if (storeKind(config.databaseUrl) === "postgres") {
      const { PostgresStore } = await import("./store/postgres/store.ts");
      return await PostgresStore.open(config.databaseUrl, {
        schema: config.databaseSchema,
        lockTimeoutMs: config.databaseLockTimeoutMs,
      });
    }
    return new SqliteStore(config.databaseUrl);
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
  const bus = new MemoryBus();
  store.onCommit((event) => bus.publish(event));
  const registry = new ConnectionRegistry();
  const actions = new Actions(store);
  return {
    config,
    store,
    bus,
    registry,
    actions,
    sse: new SseTransport(store, bus, registry, {
      heartbeatMs: config.sseHeartbeatMs,
      retryMs: config.sseRetryMs,
      queueBytes: config.sseQueueBytes,
    }),
    longPolling: new LongPolling(store, bus, registry, {
      timeoutMs: config.longPollTimeoutMs,
      maxPerUser: config.longPollMaxPerUser,
    }),
    websockets: new WebSocketTransport(store, bus, registry, actions, new MemoryPresence(), {
      heartbeatMs: config.wsHeartbeatMs,
      maxMessageBytes: config.wsMaxMessageBytes,
      maxConnectionsPerUser: config.wsMaxConnectionsPerUser,
      bufferBytes: config.wsBufferBytes,
      ephemeralRate: config.wsEphemeralRate,
      typingTimeoutMs: config.typingTimeoutMs,
    }, handleMessage),
  };
}

/** Stops the transports' timers, then closes the bus and the store (after the connections). */
export async function closeServices(services: Services): Promise<void> {
  services.sse.stop();
  services.longPolling.stop();
  services.websockets.stop();
  await services.bus.close();
  await services.store.close();
}
