/**
 * The Deno edge of the WebSocket transport: refuses a cross-site upgrade (403) before anything
 * else, identifies the caller from the session cookie, `Authorization: Bearer` or `?token=`,
 * calls `Deno.upgradeWebSocket` with the protocol-level heartbeat, and forwards the socket's
 * events to a `WsConnection`. A caller without a valid session, or with too many sockets, still
 * gets the upgrade so that a browser can read why: an `error` message, then close 4001 / 4029.
 */
import { authenticate, type AuthOptions, originAllowed, type SessionLookup } from "../auth.ts";
import { AppError } from "../errors.ts";
import { CLOSE_REASONS } from "./close_reasons.ts";
import { refuse, type WebSocketTransport } from "./ws.ts";

export interface UpgradeOptions extends AuthOptions {
  /** False when the deployment switched the websocket transport off. */
  enabled: boolean;
  /** Origins allowed besides the server's own host. */
  allowedOrigins: string[];
  /** Where the caller's session is looked up. */
  sessions: SessionLookup;
}

/** True for a request that asks for a WebSocket (`Upgrade: websocket`). */
export function isWebSocketRequest(request: Request): boolean {
  return request.headers.get("upgrade")?.toLowerCase() === "websocket";
}

/** The request with `?token=` turned into a Bearer header (unless it already has one). */
function withQueryToken(request: Request): Request {
  const token = new URL(request.url).searchParams.get("token");
  if (!token || request.headers.has("authorization")) return request;
  const headers = new Headers(request.headers);
  headers.set("authorization", `Bearer ${token}`);
  return new Request(request.url, { headers });
}

export async function upgradeWebSocket(
  transport: WebSocketTransport,
  request: Request,
  options: UpgradeOptions,
): Promise<Response> {
  if (!options.enabled) {
    const message = "The websocket transport is switched off on this server";
    throw new AppError("transport_disabled", message);
  }
  if (!isWebSocketRequest(request)) {
    const message = "Connect with a WebSocket client (the request needs Upgrade: websocket)";
    throw new AppError("upgrade_required", message);
  }
  if (!originAllowed(request, options.allowedOrigins)) {
    const origin = request.headers.get("origin");
    const message = `Origin "${origin}" may not open WebSockets on this server`;
    throw new AppError("forbidden_origin", message);
  }
  // Read everything from the request first: its headers are gone once it is upgraded.
  const caller = await authenticate(withQueryToken(request), options.sessions, options).catch(
    (error) => {
      if (error instanceof AppError && error.status === 401) return error;
      throw error;
    },
  );
  let upgrade: Deno.WebSocketUpgrade;
  try {
    // The runtime pings after half the idle time and closes a peer that has not answered by the
    // end of it; every WebSocket client answers pings by itself (browsers, wscat, Deno).
    upgrade = Deno.upgradeWebSocket(request, { idleTimeout: transport.options.heartbeatMs / 1000 });
  } catch (error) {
    if (!(error instanceof TypeError)) throw error;
    throw new AppError("bad_upgrade", `Invalid WebSocket upgrade: ${error.message}`);
  }
  const { socket, response } = upgrade;
  socket.binaryType = "arraybuffer";
  if (caller instanceof AppError) {
    socket.onopen = () => refuse(socket, CLOSE_REASONS.unauthorized, caller.message);
    return response;
  }
  if (!transport.hasRoomFor(caller.user.id)) {
    const limit = transport.options.maxConnectionsPerUser;
    const message = `At most ${limit} WebSocket connections per user; close one first`;
    socket.onopen = () => refuse(socket, CLOSE_REASONS.tooManyConnections, message);
    return response;
  }
  const connection = transport.accept(socket, caller);
  socket.onopen = () => connection.onOpen();
  socket.onmessage = (event) => connection.onMessage(event.data);
  socket.onclose = (event) => connection.onClosed(event.code, event.reason);
  // An error is always followed by a close event, which does the cleanup.
  socket.onerror = () => {};
  return response;
}
