/**
 * Runs one Liveboard server: takes the services from the composition root (services.ts), serves
 * HTTP with `Deno.serve`, runs housekeeping on a timer, and shuts down gracefully: stop
 * accepting, close every live connection with a reconnect hint, answer parked polls, wait up to
 * the deadline, then close the services.
 */
import { type Config, ConfigError } from "./config.ts";
import { createApp } from "./http/app.ts";
import type { Services } from "./http/context.ts";
import { log, setLogFormat, setLogLevel } from "./log.ts";
import { CLOSE_REASONS } from "./realtime/close_reasons.ts";
import { closeServices, createServices } from "./services.ts";

export interface RunningServer {
  /** Base URL, e.g. http://127.0.0.1:41234 */
  url: string;
  port: number;
  services: Services;
  /** Graceful shutdown; resolves when the database is closed. Safe to call twice. */
  shutdown(): Promise<void>;
  [Symbol.asyncDispose](): Promise<void>;
}

function errorText(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/** Why the server could not listen, naming the setting to change. */
function listenError(config: Config, error: unknown): string {
  if (error instanceof Deno.errors.AddrInUse) {
    return `Cannot listen on port ${config.port}: it is already in use (set PORT or --port)`;
  }
  if (error instanceof Deno.errors.PermissionDenied) {
    return `Cannot listen on port ${config.port}: permission denied (set PORT or --port)`;
  }
  return `Cannot listen on HOST "${config.host}" port ${config.port}: ${errorText(error)}`;
}

export async function startServer(config: Config): Promise<RunningServer> {
  setLogLevel(config.logLevel);
  setLogFormat(config.logFormat);
  const services = await createServices(config);
  const { store, registry } = services;
  const app = createApp(services);

  const retention = {
    maxCount: config.eventRetentionCount,
    maxAgeMs: config.eventRetentionHours * 3600_000,
    keepPerBoard: config.eventRetentionPerBoard,
  };
  /**
   * Housekeeping on one timer: prune the event log, and end the live connections of sessions that
   * expired (a stream or socket outlives the request that checked its session).
   */
  const housekeeping = async () => {
    await store.prune(retention);
    services.control.endSessions(await store.deleteExpiredSessions());
    // Sessions ended on another instance whose control message was lost.
    if (services.redis) await services.control.sweepSessions();
  };
  await housekeeping();
  const pruneTimer = setInterval(() => {
    housekeeping().catch((error) => log.warn(`housekeeping failed: ${error}`));
  }, config.pruneIntervalMs);

  const { promise: listening, resolve: onListen } = Promise.withResolvers<Deno.NetAddr>();
  let server: Deno.HttpServer<Deno.NetAddr>;
  try {
    server = Deno.serve({
      hostname: config.host,
      port: config.port,
      onListen: onListen,
      // Deno reports here a response body that errored after the headers went out: an SSE stream
      // dropped on purpose (slow client; the registry logged why) or a bug worth a warning.
      onError: (error) => {
        if (error instanceof DOMException && error.name === "AbortError") log.debug(error.message);
        else log.warn(`response failed: ${(error as Error)?.stack ?? error}`);
        return new Response(null, { status: 500 });
      },
    }, (request, info) => app.fetch(request, { info }));
  } catch (error) {
    clearInterval(pruneTimer);
    await closeServices(services);
    throw new ConfigError(listenError(config, error));
  }
  const address = await listening;
  const host = address.hostname.includes(":") ? `[${address.hostname}]` : address.hostname;
  const url = `http://${host}:${address.port}`;

  let stopping: Promise<void> | undefined;
  const shutdown = () =>
    stopping ??= (async () => {
      log.info(`shutting down: ${registry.size} live connections`);
      clearInterval(pruneTimer);
      const drained = server.shutdown();
      registry.stop(CLOSE_REASONS.shutdown);
      let timer: ReturnType<typeof setTimeout> | undefined;
      const deadline = new Promise<"timeout">((resolve) => {
        timer = setTimeout(() => resolve("timeout"), config.shutdownTimeoutMs);
      });
      if (await Promise.race([drained, deadline]) === "timeout") {
        // A client that stopped reading keeps its response stuck in Deno's socket write. Aborting
        // the serve signal after shutdown() cannot reach it and throws an uncaught BadResource
        // (Deno 2.9.6), so such connections are left to the process exit.
        log.warn("shutdown deadline passed; connections still open are left to the process exit");
      }
      clearTimeout(timer);
      // Closing waits on PostgreSQL and Redis (pending commits, presence removal); a database
      // that stopped answering must not keep the process from exiting.
      let closeTimer: ReturnType<typeof setTimeout> | undefined;
      const closed = await Promise.race([
        closeServices(services).then(() => true),
        new Promise<false>((resolve) => {
          closeTimer = setTimeout(() => resolve(false), config.shutdownTimeoutMs);
        }),
      ]);
      clearTimeout(closeTimer);
      if (!closed) log.warn("closing the store and Redis took too long; exiting anyway");
      log.info("stopped");
    })();

  return {
    url,
    port: address.port,
    services,
    shutdown,
    [Symbol.asyncDispose]: shutdown,
  };
}
