/** Operations: `GET /healthz` (open) and `GET /admin/connections` (admins; open in demo mode). */
import { Hono } from "hono";
import { forbidden } from "../errors.ts";
import { type AppEnv, requireCaller, type Services } from "./context.ts";

export function adminRoutes(services: Services): Hono<AppEnv> {
  const app = new Hono<AppEnv>();

  app.get("/healthz", async (c) =>
    c.json({
      status: "ok",
      cursor: await services.store.cursor(),
      transports: services.config.transports,
    }));

  app.get("/admin/connections", requireCaller(services), (c) => {
    if (!c.get("caller").isAdmin) throw forbidden("Only administrators can see connections");
    return c.json({
      ...services.registry.counts(),
      busSubscribers: services.bus.subscriberCount(),
      rooms: services.websockets.rooms.counts(),
    });
  });

  return app;
}
