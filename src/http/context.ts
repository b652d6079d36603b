/** What every route handler can reach: the services, and the caller once authenticated. */
import type { Context, MiddlewareHandler } from "hono";
import type { Actions } from "../actions.ts";
import { authenticate, type Caller, originAllowed, type SessionCache } from "../auth.ts";
import type { Config } from "../config.ts";
import type { Bus } from "../realtime/bus.ts";
import type { ConnectionRegistry } from "../realtime/connections.ts";
import type { Control } from "../realtime/control.ts";
import type { Presence } from "../realtime/presence.ts";
import type { RedisLink } from "../realtime/redis.ts";
import type { EventRelay } from "../realtime/relay.ts";
import type { Metrics } from "../metrics.ts";
import type { LongPolling } from "../realtime/polling.ts";
import type { SseTransport } from "../realtime/sse.ts";
import type { WebSocketTransport } from "../realtime/ws.ts";
import type { Store } from "../store/store.ts";
import { AppError } from "../errors.ts";
import { readJson } from "./body.ts";

export interface Services {
  config: Config;
  store: Store;
  /** Sessions the store confirmed a moment ago (auth.ts). */
  sessions: SessionCache;
  bus: Bus;
  presence: Presence;
  registry: ConnectionRegistry;
  /** Ending sessions and the connection counts, across instances. */
  control: Control;
  /** Cross-instance mode only: the Redis link and the event relay. */
  redis?: RedisLink;
  relay?: EventRelay;
  metrics: Metrics;
  actions: Actions;
  sse: SseTransport;
  longPolling: LongPolling;
  websockets: WebSocketTransport;
}

export type AppEnv = { Variables: { caller: Caller } };
export type AppContext = Context<AppEnv>;

/**
 * Middleware: resolves the caller (401 when there is none) and stores it on the context. A change
 * made with the session cookie must come from the server's own origin (403 `forbidden_origin`):
 * the JSON body the other changes require already stops a cross-site form, but `POST /logout`
 * has no body.
 */
export function requireCaller(services: Services): MiddlewareHandler<AppEnv> {
  return async (c, next) => {
    const request = c.req.raw;
    if (
      !["GET", "HEAD", "OPTIONS"].includes(request.method) &&
      !request.headers.has("authorization") &&
      !originAllowed(request, services.config.allowedOrigins)
    ) {
      const origin = request.headers.get("origin");
      throw new AppError("forbidden_origin", `Origin "${origin}" may not make changes here`);
    }
    c.set("caller", await authenticate(c.req.raw, services.sessions, services.config));
    await next();
  };
}

/** The request's JSON body, within the configured size limit. */
export const jsonBody = (c: AppContext, services: Services) =>
  readJson(c.req.raw, services.config.maxBodyBytes, services.config.bodyTimeoutMs);

/** The address of the peer that sent the request (server.ts passes Deno's connection info). */
export function peerAddress(c: AppContext): string | undefined {
  const info = (c.env as { info?: Deno.ServeHandlerInfo } | undefined)?.info;
  const address = info?.remoteAddr as Deno.NetAddr | undefined;
  return address?.hostname;
}
