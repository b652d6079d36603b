/** What every route handler can reach: the services, and the caller once authenticated. */
import type { Context, MiddlewareHandler } from "hono";
import type { Actions } from "../actions.ts";
import { authenticate, type Caller } from "../auth.ts";
import type { Config } from "../config.ts";
import type { Bus } from "../realtime/bus.ts";
import type { ConnectionRegistry } from "../realtime/connections.ts";
import type { LongPolling } from "../realtime/polling.ts";
import type { SseTransport } from "../realtime/sse.ts";
import type { WebSocketTransport } from "../realtime/ws.ts";
import type { Store } from "../store/store.ts";
import { readJson } from "./body.ts";

export interface Services {
  config: Config;
  store: Store;
  bus: Bus;
  registry: ConnectionRegistry;
  actions: Actions;
  sse: SseTransport;
  longPolling: LongPolling;
  websockets: WebSocketTransport;
}

export type AppEnv = { Variables: { caller: Caller } };
export type AppContext = Context<AppEnv>;

/** Middleware: resolves the caller (401 when there is none) and stores it on the context. */
export function requireCaller(services: Services): MiddlewareHandler<AppEnv> {
  return async (c, next) => {
    c.set("caller", await authenticate(c.req.raw, services.store, services.config));
    await next();
  };
}

/** The request's JSON body, within the configured size limit. */
export const jsonBody = (c: AppContext, services: Services) =>
  readJson(c.req.raw, services.config.maxBodyBytes);
