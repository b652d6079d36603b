/**
 * Operations: `GET /healthz` (open: store and Redis reachable, relay lag; 503 when the store is
 * not, so a balancer stops routing here), `GET /admin/connections` (admins; open in demo mode:
 * this instance's connections, and every instance's in cross-instance mode), and the account
 * operations an operator needs (admins, and never in demo mode): reset a password, deactivate
 * and reactivate an account. Both end the account's sessions, and so its streams and sockets,
 * on every instance.
 */
import { Hono } from "hono";
import { authenticate, hashPassword, sameBytes } from "../auth.ts";
import { DomainError, forbidden } from "../errors.ts";
import { parseInput, resetPasswordSchema } from "../schemas.ts";
import { type AppContext, type AppEnv, jsonBody, requireCaller, type Services } from "./context.ts";

const encoder = new TextEncoder();

export function adminRoutes(services: Services): Hono<AppEnv> {
  const app = new Hono<AppEnv>();
  const { config, store, redis, relay } = services;

  app.get("/healthz", async (c) => {
    let cursor: number | null = null;
    try {
      await store.ping();
      cursor = await store.cursor();
    } catch {
      // reported below
    }
    const healthy = cursor !== null;
    // Reads work but the last write failed (disk full, read-only): still 200, so a balancer keeps
    // sending reads here; monitoring alerts on "degraded".
    const writeFailure = healthy ? store.writeFailure() : null;
    return c.json({
      status: !healthy ? "unavailable" : writeFailure ? "degraded" : "ok",
      instanceId: config.instanceId,
      cursor,
      store: !healthy ? "unreachable" : writeFailure ? "read_only" : "ok",
      ...(writeFailure && { storeError: writeFailure }),
      redis: redis ? (redis.up ? "ok" : "down") : "off",
      ...(relay && {
        relay: {
          delivered: relay.lastSeq,
          lag: relay.lag,
          waiting: relay.waiting,
          filled: relay.filled,
        },
      }),
      transports: config.transports,
    }, healthy ? 200 : 503);
  });

  // For a Prometheus scraper: its Bearer METRICS_TOKEN, or an admin's session.
  app.get("/metrics", async (c) => {
    const token = config.metricsToken;
    const bearer = /^bearer\s+(\S+)\s*$/i.exec(c.req.header("authorization") ?? "")?.[1];
    if (!token || !bearer || !sameBytes(encoder.encode(bearer), encoder.encode(token))) {
      const caller = await authenticate(c.req.raw, services.sessions, config);
      if (!caller.isAdmin) {
        throw forbidden("Only administrators (or METRICS_TOKEN) can read metrics");
      }
    }
    const { text, contentType } = await services.metrics.scrape();
    return c.body(text, 200, { "content-type": contentType });
  });

  app.get("/admin/connections", requireCaller(services), async (c) => {
    if (!c.get("caller").isAdmin) throw forbidden("Only administrators can see connections");
    const instances = await services.control.clusterCounts();
    return c.json({
      ...services.registry.counts(),
      busSubscribers: services.bus.subscriberCount(),
      rooms: services.websockets.rooms.counts(),
      instanceId: config.instanceId,
      cluster: {
        total: instances.reduce((sum, counts) => sum + counts.total, 0),
        instances,
      },
    });
  });

  /** The caller may change accounts: an admin, and not in demo mode (where everyone is one). */
  const requireOperator = (c: AppContext) => {
    if (!c.get("caller").isAdmin || config.demo) {
      throw forbidden("Only administrators can change accounts (and never in demo mode)");
    }
  };
  const userNotFound = (id: string) =>
    new DomainError("user_not_found", `No account has the id "${id}"`);
  /** Ends every session of the account: its requests get 401, its streams and sockets close. */
  const endSessionsOf = async (userId: string) => {
    const ended = await store.deleteUserSessions(userId);
    services.control.endSessions(ended);
    return ended.length;
  };

  app.post("/admin/users/:id/password", requireCaller(services), async (c) => {
    requireOperator(c);
    const { password } = parseInput(resetPasswordSchema, await jsonBody(c, services));
    const userId = c.req.param("id");
    const hash = await hashPassword(password, config.pbkdf2Iterations);
    if (!await store.setPassword(userId, hash)) throw userNotFound(userId);
    return c.json({ ok: true, sessionsEnded: await endSessionsOf(userId) });
  });

  app.post("/admin/users/:id/deactivate", requireCaller(services), async (c) => {
    requireOperator(c);
    const userId = c.req.param("id");
    if (userId === c.get("caller").user.id) {
      throw new DomainError("forbidden", "You cannot deactivate your own account");
    }
    if (!await store.setDeactivated(userId, true)) throw userNotFound(userId);
    return c.json({ ok: true, sessionsEnded: await endSessionsOf(userId) });
  });

  app.post("/admin/users/:id/activate", requireCaller(services), async (c) => {
    requireOperator(c);
    const userId = c.req.param("id");
    if (!await store.setDeactivated(userId, false)) throw userNotFound(userId);
    return c.json({ ok: true });
  });

  return app;
}
