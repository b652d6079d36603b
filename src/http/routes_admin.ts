/**
 * Operations: `GET /healthz` (open: store and Redis reachable, relay lag; 503 when the store is
 * not, so a balancer stops routing here) and `GET /admin/connections` (admins; open in demo
 * mode: this instance's connections, and every instance's in cross-instance mode).
 */
import { Hono } from "hono";
import { forbidden } from "../errors.ts";
import { type AppEnv, requireCaller, type Services } from "./context.ts";

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
    return c.json({
      status: healthy ? "ok" : "unavailable",
      instanceId: config.instanceId,
      cursor,
      store: healthy ? "ok" : "unreachable",
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

  return app;
}
