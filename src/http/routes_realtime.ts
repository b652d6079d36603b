/**
 * The read-side transports over HTTP: SSE for one board or several, short polling and long
 * polling. Every one checks membership first and resumes from the same event cursor. HEAD is
 * answered here without opening a stream or parking a waiter (Hono runs the GET handler for
 * HEAD and would otherwise leak the stream it discards).
 */
import { Hono } from "hono";
import type { Transport } from "../config.ts";
import { AppError } from "../errors.ts";
import { shortPoll } from "../realtime/polling.ts";
import { SSE_HEADERS } from "../realtime/sse.ts";
import { parseBoardList, parseCursor, parseSince } from "./body.ts";
import type { AppContext, AppEnv, Services } from "./context.ts";

export function realtimeRoutes(services: Services): Hono<AppEnv> {
  const { actions, config } = services;
  const app = new Hono<AppEnv>();

  const requireTransport = (transport: Transport) => {
    if (!config.transports.includes(transport)) {
      throw new AppError(
        "transport_disabled",
        `The ${transport} transport is switched off on this server`,
      );
    }
  };
  const isHead = (c: AppContext) => c.req.raw.method === "HEAD";

  const openStream = async (c: AppContext, boardIds: string[]) => {
    requireTransport("sse");
    const caller = c.get("caller");
    for (const boardId of boardIds) await actions.requireMember(caller, boardId);
    const lastEventId = parseCursor("Last-Event-ID", c.req.header("last-event-id")) ??
      parseCursor("lastEventId", c.req.query("lastEventId"));
    if (isHead(c)) return new Response(null, { headers: SSE_HEADERS });
    return services.sse.open(caller, boardIds, lastEventId);
  };

  app.get("/boards/:id/events", (c) => openStream(c, [c.req.param("id")]));
  app.get(
    "/events",
    (c) => openStream(c, parseBoardList(c.req.query("boards"), config.sseMaxBoards)),
  );

  app.get("/boards/:id/updates", async (c) => {
    requireTransport("poll");
    const boardId = c.req.param("id");
    await actions.requireMember(c.get("caller"), boardId);
    const since = parseSince(c.req.query("since"));
    return c.json(await shortPoll(services.store, boardId, since, c.get("caller").user.id));
  });

  app.get("/boards/:id/poll", async (c) => {
    requireTransport("longpoll");
    const boardId = c.req.param("id");
    const caller = c.get("caller");
    await actions.requireMember(caller, boardId);
    const cursor = parseCursor("cursor", c.req.query("cursor")) ?? await services.store.cursor();
    if (isHead(c)) return c.body(null);
    const answer = await services.longPolling.poll(caller, boardId, cursor, c.req.raw.signal);
    return c.body(answer, 200, { "content-type": "application/json" });
  });

  return app;
}
