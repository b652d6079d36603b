/**
 * The HTTP application: Hono routes for accounts, boards, realtime transports, operations and
 * static files, one error handler that turns `AppError` into `{"error":{"code","message"}}`
 * (and anything else into a logged 500), security headers, and one log line per request.
 */
import { Hono } from "hono";
import { sessionCookie } from "../auth.ts";
import { AppError } from "../errors.ts";
import { log } from "../log.ts";
import { isWebSocketRequest, upgradeWebSocket } from "../realtime/ws_upgrade.ts";
import { type AppEnv, requireCaller, type Services } from "./context.ts";
import { adminRoutes } from "./routes_admin.ts";
import { authRoutes } from "./routes_auth.ts";
import { boardRoutes } from "./routes_boards.ts";
import { realtimeRoutes } from "./routes_realtime.ts";
import { serveStatic } from "./static.ts";

const SECURITY_HEADERS: Record<string, string> = {
  "content-security-policy": "default-src 'self'; script-src 'self'; style-src 'self'; " +
    "img-src 'self' data:; connect-src 'self'; object-src 'none'; base-uri 'none'; " +
    "form-action 'self'; frame-ancestors 'none'",
  "x-content-type-options": "nosniff",
  "x-frame-options": "DENY",
  "referrer-policy": "no-referrer",
  "cross-origin-opener-policy": "same-origin",
};
const SECURITY_HEADER_ENTRIES = Object.entries(SECURITY_HEADERS);

/** A request id a client may choose: up to 100 letters, digits or `_-.:`. */
const REQUEST_ID = /^[\w.:-]{1,100}$/;

export function createApp(services: Services): Hono<AppEnv> {
  const app = new Hono<AppEnv>();

  app.use(async (c, next) => {
    // The client's request id when it sent a usable one (a proxy's, say), else a new one; echoed
    // in the answer and written in the request's log line, so the two can be matched.
    const sent = c.req.header("x-request-id");
    const requestId = sent && REQUEST_ID.test(sent) ? sent : crypto.randomUUID();
    // The request line is built only when info lines are written at all: it is per-request
    // work on the hot path.
    const logging = log.enabled("info");
    const started = performance.now();
    await next();
    // Hono answers HEAD with the GET handler's headers and drops the body; say how long that
    // body is rather than letting the runtime announce 0. (Streams answer HEAD without one.)
    if (c.req.raw.method === "HEAD" && c.res.body && !c.res.headers.has("content-length")) {
      const length = (await c.res.arrayBuffer()).byteLength;
      c.res = new Response(null, c.res);
      c.res.headers.set("content-length", String(length));
    }
    for (const [name, value] of SECURITY_HEADER_ENTRIES) c.res.headers.set(name, value);
    c.res.headers.set("x-request-id", requestId);
    const elapsed = performance.now() - started;
    // The server's own time for the answer (for a stream: until its headers), as browsers'
    // developer tools and the bench read it.
    c.res.headers.set("server-timing", `app;dur=${elapsed.toFixed(1)}`);
    services.metrics.request(c.req.routePath, c.req.raw.method, c.res.status, elapsed / 1000);
    if (logging) {
      const ms = Math.round(elapsed * 10) / 10;
      log.info(`${c.req.raw.method} ${c.req.path} ${c.res.status} ${ms}ms`, {
        requestId,
        method: c.req.raw.method,
        route: c.req.routePath,
        status: c.res.status,
        durationMs: ms,
        userId: c.get("caller")?.user.id,
      });
    }
  });

  const authenticated = requireCaller(services);
  // Every prefix the board routes use: a route outside these would run without a caller (500).
  const signedIn = ["/boards", "/boards/*", "/tasks", "/tasks/*", "/lists/*", "/conflicts/*"];
  for (const path of [...signedIn, "/events"]) {
    app.use(path, authenticated);
  }

  app.route("/", adminRoutes(services));
  app.route("/", authRoutes(services));
  app.route("/", boardRoutes(services));
  app.route("/", realtimeRoutes(services));

  // WebSockets: /ws, and the bare root when it asks for an upgrade (the reference walkthrough
  // connects to ws://localhost:3000); a plain GET / still serves the page.
  const { config } = services;
  const websocket = (c: { req: { raw: Request } }) =>
    upgradeWebSocket(services.websockets, c.req.raw, {
      enabled: config.transports.includes("websocket"),
      allowedOrigins: config.allowedOrigins,
      demo: config.demo,
      adminEmails: config.adminEmails,
      sessions: services.sessions,
    });
  app.get("/ws", websocket);
  app.get("/", (c, next) => isWebSocketRequest(c.req.raw) ? websocket(c) : next());

  app.get("*", async (c) => {
    const response = await serveStatic(c, c.req.path);
    if (!response) throw new AppError("not_found", `Nothing at ${c.req.path}`);
    return response;
  });

  app.notFound((c) =>
    c.json(
      { error: { code: "not_found", message: `No route for ${c.req.method} ${c.req.path}` } },
      404,
    )
  );

  app.onError((error, c) => {
    if (error instanceof AppError) {
      // A refused session cookie is cleared, so a browser (which cannot touch an HttpOnly
      // cookie) falls back to signing in, or to the demo guest, instead of staying stuck.
      if (error.status === 401 && /(^|;\s*)session=/.test(c.req.header("cookie") ?? "")) {
        c.header("set-cookie", sessionCookie("", 0, services.config.cookieSecure));
      }
      return c.json(error.toJSON(), error.status as 400);
    }
    log.warn(`${c.req.method} ${c.req.path} failed: ${error.stack ?? error}`);
    return c.json({ error: { code: "internal", message: "Internal server error" } }, 500);
  });

  return app;
}
