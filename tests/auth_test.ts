/**
 * Accounts and sessions: sign-up (and switching it off), login, logout, `GET /me`, the session
 * cookie's attributes, Bearer tokens, tokens stored only as hashes, 401 for anonymous callers in
 * normal mode on every door, 401 for a bad token even in demo mode, who may see /admin, and the
 * session cache (trusted for SESSION_CACHE_MS, left at once on logout and expiry).
 */
import assert from "node:assert/strict";
import { hashToken } from "../src/auth.ts";
import {
  execDb,
  expectError,
  expectStatus,
  openSse,
  queryDb,
  startTestServer,
  TEST_STORE,
  type TestServer,
} from "./helpers.ts";
import { WsClient } from "./ws_helpers.ts";
import { CLOSE_REASONS } from "../src/realtime/close_reasons.ts";

const NORMAL = { demo: false, seed: true } as const;

function cookieOf(response: Response): { value: string; attributes: string[] } {
  const header = response.headers.get("set-cookie");
  assert.ok(header, "a Set-Cookie header");
  const [pair, ...attributes] = header.split(";").map((part) => part.trim());
  assert.ok(pair.startsWith("session="), header);
  return { value: pair.slice("session=".length), attributes };
}

async function signup(server: TestServer, email: string, password = "correct horse") {
  return await server.request("/signup", {
    method: "POST",
    json: { email, name: "Dave", password },
  });
}

Deno.test("sign-up creates an account and a session; the email is then taken", async () => {
  await using server = await startTestServer(NORMAL);
  const response = await signup(server, "dave@example.com");
  const cookie = cookieOf(response);
  const body = await expectStatus(response, 201);
  assert.equal(body.user.email, "dave@example.com");
  assert.equal(body.user.name, "Dave");
  assert.match(body.user.id, /^user-/);
  assert.equal(body.user.passwordHash, undefined);
  assert.equal(body.token, cookie.value);

  const me = await expectStatus(await server.request("/me", { token: body.token }), 200);
  assert.deepEqual(me, {
    user: body.user,
    isAdmin: false,
    demo: false,
    transports: ["websocket", "sse", "longpoll", "poll"],
  });
  assert.deepEqual(
    await expectStatus(await server.request("/boards", { token: body.token }), 200),
    [],
  );

  await expectError(await signup(server, "DAVE@example.com"), 409, "email_taken");
  const short = await expectError(
    await signup(server, "erin@example.com", "short"),
    400,
    "validation_failed",
  );
  assert.match(short.error.message, /"password": must be at least 8/);
  await expectError(
    await server.request("/signup", { method: "POST", json: { email: "x@example.com" } }),
    400,
    "validation_failed",
  );

  // The new user signs in with the password they chose.
  const login = await server.request("/login", {
    method: "POST",
    json: { email: "dave@example.com", password: "correct horse" },
  });
  assert.equal((await expectStatus(login, 200)).user.id, body.user.id);
});

Deno.test("sign-up switched off (SIGNUP=false) answers 403", async () => {
  await using server = await startTestServer({ ...NORMAL, signup: false });
  await expectError(await signup(server, "dave@example.com"), 403, "signup_disabled");
  assert.deepEqual(
    await queryDb(server, "SELECT id FROM users WHERE email = 'dave@example.com'"),
    [],
  );
  // Existing accounts still sign in.
  assert.ok(await server.login("alice@example.com"));
});

Deno.test("login sets an HttpOnly SameSite=Lax session cookie that authenticates", async () => {
  await using server = await startTestServer(NORMAL);
  const response = await server.request("/login", {
    method: "POST",
    json: { email: "Alice@Example.com", password: "liveboard" },
  });
  const cookie = cookieOf(response);
  const body = await expectStatus(response, 200);
  assert.equal(body.user.id, "user-1");
  assert.ok(cookie.attributes.includes("HttpOnly"), cookie.attributes.join("; "));
  assert.ok(cookie.attributes.includes("SameSite=Lax"));
  assert.ok(cookie.attributes.includes("Path=/"));
  assert.ok(cookie.attributes.includes(`Max-Age=${720 * 3600}`));
  assert.ok(!cookie.attributes.includes("Secure"), "not Secure unless COOKIE_SECURE");

  const me = await expectStatus(
    await server.request("/me", { headers: { cookie: `theme=dark; session=${cookie.value}` } }),
    200,
  );
  assert.equal(me.user.email, "alice@example.com");
  const tasks = await server.request("/boards/board-1/tasks", {
    headers: { cookie: `session=${cookie.value}` },
  });
  assert.equal((await expectStatus(tasks, 200)).length, 4);
});

Deno.test("COOKIE_SECURE marks the session cookie Secure", async () => {
  await using server = await startTestServer({ ...NORMAL, cookieSecure: true });
  const response = await server.request("/login", {
    method: "POST",
    json: { email: "alice@example.com", password: "liveboard" },
  });
  assert.ok(cookieOf(response).attributes.includes("Secure"));
  await response.body?.cancel();
});

Deno.test("a wrong password, an unknown email and the password-less guest all get the same 401", async () => {
  await using server = await startTestServer({ ...NORMAL, demo: true });
  const attempts = [
    { email: "alice@example.com", password: "wrong" },
    { email: "nobody@example.com", password: "liveboard" },
    { email: "guest@example.com", password: "liveboard" },
  ];
  for (const json of attempts) {
    const response = await server.request("/login", { method: "POST", json });
    assert.equal(response.headers.get("set-cookie"), null);
    const error = await expectError(response, 401, "unauthorized");
    assert.equal(error.error.message, "Wrong email or password");
  }
});

Deno.test("a Bearer token authenticates and wins over a cookie", async () => {
  await using server = await startTestServer(NORMAL);
  const alice = await server.login("alice@example.com");
  const bob = await server.login("bob@example.com");
  const me = await expectStatus(
    await server.request("/me", { token: bob, headers: { cookie: `session=${alice}` } }),
    200,
  );
  assert.equal(me.user.id, "user-2");
  const lower = await server.request("/me", { headers: { authorization: `bearer ${alice}` } });
  assert.equal((await expectStatus(lower, 200)).user.id, "user-1");
});

Deno.test("sessions and passwords are stored only as hashes", async () => {
  await using server = await startTestServer(NORMAL);
  const token = await server.login("alice@example.com");
  const rows = await queryDb(server, "SELECT token_hash, user_id FROM sessions");
  assert.equal(rows.length, 1);
  assert.notEqual(rows[0].token_hash, token);
  assert.equal(rows[0].token_hash, await hashToken(token));
  assert.equal(rows[0].user_id, "user-1");
  const [user] = await queryDb(server, "SELECT password_hash FROM users WHERE id = 'user-1'");
  assert.match(user.password_hash as string, /^pbkdf2-sha256\$1000\$[\w+/=]+\$[\w+/=]+$/);
  // Nothing in the database file or its WAL holds the raw token or password (SQLite; on
  // PostgreSQL the rows above are all there is to read).
  for (const suffix of TEST_STORE === "sqlite" ? ["", "-wal"] : []) {
    const bytes = await Deno.readFile(server.config.databaseUrl + suffix).catch(() => null);
    const text = new TextDecoder("latin1").decode(bytes ?? new Uint8Array());
    assert.ok(!text.includes(token), `token in ${suffix || "db"}`);
    assert.ok(!text.includes("liveboard\u0000") && !text.includes('"liveboard"'));
  }
});

Deno.test("logout ends the session, clears the cookie and closes that session's streams", async () => {
  await using server = await startTestServer(NORMAL);
  const token = await server.login("alice@example.com");
  const other = await server.login("alice@example.com");
  const mine = await openSse(server, "/boards/board-1/events", {
    authorization: `Bearer ${token}`,
  });
  const theirs = await openSse(server, "/boards/board-1/events", {
    authorization: `Bearer ${other}`,
  });
  await mine.nextData();
  await theirs.nextData();

  const response = await server.request("/logout", { method: "POST", token });
  const cookie = cookieOf(response);
  assert.equal(cookie.value, "");
  assert.ok(cookie.attributes.includes("Max-Age=0"));
  assert.deepEqual(await expectStatus(response, 200), { ok: true });

  const goodbye = await mine.nextData();
  assert.equal(goodbye.event, "disconnect");
  assert.deepEqual(goodbye.json, { type: "disconnect", reason: "unauthorized", reconnect: false });
  assert.equal(await mine.next(), null, "the stream ends");

  await expectError(await server.request("/me", { token }), 401, "unauthorized");
  await expectError(
    await server.request("/logout", { method: "POST", token }),
    401,
    "unauthorized",
  );
  // The user's other session is untouched.
  assert.equal(
    (await expectStatus(await server.request("/me", { token: other }), 200)).user.id,
    "user-1",
  );
  const created = await server.request("/tasks", {
    method: "POST",
    json: { title: "Still here", listId: "list-todo" },
    token: other,
  });
  await expectStatus(created, 201);
  assert.equal((await theirs.nextData()).event, "task_created");
  await theirs.close();
});

Deno.test("an expired session is refused with 401", async () => {
  await using server = await startTestServer(NORMAL);
  const token = await server.login("alice@example.com");
  await execDb(server, "UPDATE sessions SET expires_at = ?", "2020-01-01T00:00:00.000Z");
  const error = await expectError(await server.request("/me", { token }), 401, "unauthorized");
  assert.match(error.error.message, /expired or is invalid/);
});

Deno.test("in normal mode an anonymous caller gets 401 on REST, SSE and both polls", async () => {
  await using server = await startTestServer(NORMAL);
  const doors: [string, string, unknown?][] = [
    ["GET", "/me"],
    ["POST", "/logout"],
    ["GET", "/boards"],
    ["POST", "/boards", { title: "x" }],
    ["GET", "/boards/board-1"],
    ["GET", "/boards/board-1/tasks"],
    ["GET", "/boards/board-1/members"],
    ["POST", "/tasks", { title: "x", listId: "list-todo" }],
    ["GET", "/tasks/task-1"],
    ["PATCH", "/tasks/task-1", { title: "x" }],
    ["PATCH", "/tasks/task-1/move", { listId: "list-done", position: 0 }],
    ["DELETE", "/tasks/task-1"],
    ["PATCH", "/lists/list-todo", { title: "x" }],
    ["GET", "/boards/board-1/events"],
    ["HEAD", "/boards/board-1/events"],
    ["GET", "/events?boards=board-1"],
    ["GET", "/boards/board-1/updates"],
    ["GET", "/boards/board-1/updates?since=0"],
    ["GET", "/boards/board-1/poll?cursor=0"],
    ["GET", "/admin/connections"],
  ];
  for (const [method, path, json] of doors) {
    const response = await server.request(path, { method, json });
    if (method === "HEAD") {
      assert.equal(response.status, 401, `${method} ${path}`);
      continue;
    }
    await expectError(response, 401, "unauthorized");
  }
  assert.equal(server.services.registry.size, 0);
  assert.equal((await server.services.store.getTask("task-1"))?.title, "Design the board layout");
  // The open routes stay open.
  await expectStatus(await server.request("/healthz"), 200);
  const page = await server.request("/");
  assert.equal(page.status, 200);
  assert.match(await page.text(), /<html/i);
});

Deno.test("in demo mode a forged token is 401 on REST, SSE and both polls, not the guest", async () => {
  await using server = await startTestServer();
  for (
    const path of [
      "/boards/board-1/tasks",
      "/boards/board-1/events",
      "/events?boards=board-1",
      "/boards/board-1/updates?since=0",
      "/boards/board-1/poll?cursor=0",
      "/me",
    ]
  ) {
    await expectError(await server.request(path, { token: "forged" }), 401, "unauthorized");
    const viaCookie = await server.request(path, { headers: { cookie: "session=forged" } });
    await expectError(viaCookie, 401, "unauthorized");
  }
  // Without any token, the same requests act as the demo guest.
  const me = await expectStatus(await server.request("/me"), 200);
  assert.deepEqual([me.user.id, me.demo], ["user-guest", true]);
  assert.equal(server.services.registry.size, 0);
});

Deno.test("in normal mode /admin/connections is for ADMIN_EMAILS only", async () => {
  await using server = await startTestServer({ ...NORMAL, adminEmails: ["Carol@Example.com"] });
  const alice = await server.login("alice@example.com");
  const carol = await server.login("carol@example.com");
  await expectError(await server.request("/admin/connections"), 401, "unauthorized");
  await expectError(await server.request("/admin/connections", { token: alice }), 403, "forbidden");
  const counts = await expectStatus(
    await server.request("/admin/connections", { token: carol }),
    200,
  );
  const { cluster, instanceId, ...local } = counts;
  assert.deepEqual(local, {
    total: 0,
    byTransport: { sse: 0, websocket: 0, longpoll: 0 },
    byBoard: {},
    rooms: {},
    busSubscribers: 0,
  });
  assert.equal(cluster.total, 0);
  assert.deepEqual(cluster.instances.map((i: { instanceId: string }) => i.instanceId), [
    instanceId,
  ]);
  const me = await expectStatus(await server.request("/me", { token: carol }), 200);
  assert.equal(me.isAdmin, true);
});

Deno.test("in demo mode /admin/connections is open", async () => {
  await using server = await startTestServer();
  const counts = await expectStatus(await server.request("/admin/connections"), 200);
  assert.equal(counts.total, 0);
});

Deno.test("a refused session cookie is cleared so the browser can fall back to the demo guest", async () => {
  await using server = await startTestServer();
  const refused = await server.request("/me", { headers: { cookie: "session=not-a-real-token" } });
  const cookie = cookieOf(refused);
  assert.equal(cookie.value, "");
  assert.ok(cookie.attributes.includes("Max-Age=0"));
  await expectError(refused, 401, "unauthorized");
  // Without the cookie, the next request is the demo guest again.
  const me = await expectStatus(await server.request("/me"), 200);
  assert.equal(me.user.id, "user-guest");
});

Deno.test("a malformed Authorization header is 401 even in demo mode, never the guest", async () => {
  await using server = await startTestServer();
  for (const header of ["Basic dXNlcjpwYXNz", "Bearer ", "Bearer", "Token abc"]) {
    await expectError(
      await server.request("/me", { headers: { authorization: header } }),
      401,
      "unauthorized",
    );
  }
});

Deno.test("GET /me says the same isAdmin at the top and in the user", async () => {
  await using server = await startTestServer({ ...NORMAL, adminEmails: ["carol@example.com"] });
  const carol = await server.login("carol@example.com");
  const me = await expectStatus(await server.request("/me", { token: carol }), 200);
  assert.equal(me.isAdmin, true);
  assert.equal(me.user.isAdmin, true);
});

Deno.test("when a session expires, the streams and sockets opened with it are closed", async () => {
  await using server = await startTestServer({ ...NORMAL, pruneIntervalMs: 20 });
  const token = await server.login("alice@example.com");
  const other = await server.login("alice@example.com");
  const expiring = await openSse(server, "/boards/board-1/events", {
    authorization: `Bearer ${token}`,
  });
  const staying = await openSse(server, "/boards/board-1/events", {
    authorization: `Bearer ${other}`,
  });
  await expiring.nextData();
  await staying.nextData();
  await execDb(
    server,
    "UPDATE sessions SET expires_at = ? WHERE token_hash = ?",
    "2020-01-01T00:00:00.000Z",
    await hashToken(token),
  );
  const goodbye = await expiring.nextData();
  assert.deepEqual(goodbye.json, { type: "disconnect", reason: "unauthorized", reconnect: false });
  assert.equal(await expiring.next(), null, "the stream ends");
  await expectError(await server.request("/me", { token }), 401, "unauthorized");
  // The other session's stream is untouched.
  const created = await server.request("/tasks", {
    method: "POST",
    json: { title: "Still live", listId: "list-todo" },
    token: other,
  });
  await expectStatus(created, 201);
  assert.equal((await staying.nextData()).event, "task_created");
  await staying.close();
});

Deno.test("a confirmed session is trusted for SESSION_CACHE_MS without asking the store", async () => {
  await using server = await startTestServer({ ...NORMAL, sessionCacheMs: 60_000 });
  const token = await server.login("alice@example.com");
  await expectStatus(await server.request("/me", { token }), 200);
  // Removed behind the server's back (not by logout or expiry, which tell the cache): the
  // cached session still answers — the documented window.
  await execDb(server, "DELETE FROM sessions WHERE token_hash = ?", await hashToken(token));
  await expectStatus(await server.request("/me", { token }), 200);
});

Deno.test("with SESSION_CACHE_MS=0 every request asks the store", async () => {
  await using server = await startTestServer({ ...NORMAL, sessionCacheMs: 0 });
  const token = await server.login("alice@example.com");
  await expectStatus(await server.request("/me", { token }), 200);
  await execDb(server, "DELETE FROM sessions WHERE token_hash = ?", await hashToken(token));
  await expectError(await server.request("/me", { token }), 401, "unauthorized");
});

Deno.test("logout takes a cached session out at once", async () => {
  await using server = await startTestServer({ ...NORMAL, sessionCacheMs: 60_000 });
  const token = await server.login("alice@example.com");
  await expectStatus(await server.request("/me", { token }), 200);
  await expectStatus(await server.request("/logout", { method: "POST", token }), 200);
  await expectError(await server.request("/me", { token }), 401, "unauthorized");
});

Deno.test("an expired session leaves the cache when housekeeping ends it", async () => {
  await using server = await startTestServer({
    ...NORMAL,
    sessionCacheMs: 60_000,
    pruneIntervalMs: 20,
  });
  const token = await server.login("alice@example.com");
  await expectStatus(await server.request("/me", { token }), 200);
  await execDb(
    server,
    "UPDATE sessions SET expires_at = ? WHERE token_hash = ?",
    "2020-01-01T00:00:00.000Z",
    await hashToken(token),
  );
  const deadline = Date.now() + 5000;
  let status = 200;
  while (status === 200 && Date.now() < deadline) {
    const response = await server.request("/me", { token });
    status = response.status;
    await response.body?.cancel();
    if (status === 200) await new Promise((resolve) => setTimeout(resolve, 20));
  }
  assert.equal(status, 401, "refused once housekeeping deleted the expired session");
});

Deno.test("a change made with the session cookie from another origin is refused with 403", async () => {
  await using server = await startTestServer(NORMAL);
  const token = await server.login("alice@example.com");
  const own = new URL(server.url).origin;
  const withCookie = (origin: string) => ({ cookie: `session=${token}`, origin });
  // Another site, another port of the same host, a sandboxed frame: the cookie rides along
  // (SameSite=Lax lets a same-site page send it), so the origin decides.
  for (const origin of ["https://evil.example", "http://127.0.0.1:1", "null"]) {
    const logout = await server.request("/logout", { method: "POST", headers: withCookie(origin) });
    await expectError(logout, 403, "forbidden_origin");
    const edit = await server.request("/tasks/task-1", {
      method: "PATCH",
      headers: withCookie(origin),
      json: { title: "forged" },
    });
    await expectError(edit, 403, "forbidden_origin");
  }
  // Nothing happened: the session still works and the task kept its title.
  const task = await expectStatus(await server.request("/tasks/task-1", { token }), 200);
  assert.notEqual(task.title, "forged");
  // A Bearer token is not ambient: any origin may use it. The page's own origin may use the cookie.
  const viaBearer = await server.request("/tasks/task-1", {
    method: "PATCH",
    headers: { origin: "https://elsewhere.example" },
    json: { title: "by token" },
    token,
  });
  await expectStatus(viaBearer, 200);
  await expectStatus(
    await server.request("/logout", { method: "POST", headers: withCookie(own) }),
    200,
  );
  await expectError(await server.request("/me", { token }), 401, "unauthorized");
});

Deno.test("an address listed in ADMIN_EMAILS cannot be claimed by signing up, in any letter case", async () => {
  await using server = await startTestServer({
    ...NORMAL,
    adminEmails: ["boss@example.com", "alice@example.com"],
  });
  for (const email of ["boss@example.com", "Boss@Example.COM"]) {
    await expectError(await signup(server, email), 403, "email_reserved");
  }
  const rows = await queryDb(
    server,
    "SELECT id FROM users WHERE lower(email) = ?",
    "boss@example.com",
  );
  assert.equal(rows.length, 0, "no account was made");
  // An account that exists before its address is listed keeps the right.
  const token = await server.login("alice@example.com");
  const me = await expectStatus(await server.request("/me", { token }), 200);
  assert.equal(me.isAdmin, true);
  // Other addresses sign up as before.
  await expectStatus(await signup(server, "carol.new@example.com"), 201);
});

Deno.test("an admin resets a password: the old one and every session of the account stop working at once", async () => {
  await using server = await startTestServer({ ...NORMAL, adminEmails: ["alice@example.com"] });
  const admin = await server.login("alice@example.com");
  const bob = await server.login("bob@example.com");
  const stream = await openSse(server, "/boards/board-1/events", {
    authorization: `Bearer ${bob}`,
  });
  await stream.nextData();
  const reset = await expectStatus(
    await server.request("/admin/users/user-2/password", {
      method: "POST",
      json: { password: "a new long password" },
      token: admin,
    }),
    200,
  );
  assert.equal(reset.sessionsEnded, 1);
  assert.equal((await stream.nextData()).json.reason, "unauthorized", "his stream is closed");
  assert.equal(await stream.next(), null);
  await expectError(await server.request("/me", { token: bob }), 401, "unauthorized");
  const login = (password: string) =>
    server.request("/login", { method: "POST", json: { email: "bob@example.com", password } });
  await expectError(await login("liveboard"), 401, "unauthorized");
  await expectStatus(await login("a new long password"), 200);
  await expectError(
    await server.request("/admin/users/user-nobody/password", {
      method: "POST",
      json: { password: "a new long password" },
      token: admin,
    }),
    404,
    "user_not_found",
  );
});

Deno.test("a deactivated account cannot sign in and its sockets close; reactivated, it can again", async () => {
  await using server = await startTestServer({ ...NORMAL, adminEmails: ["alice@example.com"] });
  const admin = await server.login("alice@example.com");
  const carol = await server.login("carol@example.com");
  const ws = await WsClient.open(server, { token: carol });
  const post = (path: string, token = admin) => server.request(path, { method: "POST", token });
  const done = await expectStatus(await post("/admin/users/user-3/deactivate"), 200);
  assert.equal(done.sessionsEnded, 1);
  const closed = await ws.closed;
  assert.equal(closed.code, CLOSE_REASONS.unauthorized.code);
  const login = () =>
    server.request("/login", {
      method: "POST",
      json: { email: "carol@example.com", password: "liveboard" },
    });
  await expectError(await login(), 403, "account_deactivated");
  // A wrong password is the usual 401: a guesser learns nothing about the account.
  const wrong = await server.request("/login", {
    method: "POST",
    json: { email: "carol@example.com", password: "not hers" },
  });
  await expectError(wrong, 401, "unauthorized");
  await expectStatus(await post("/admin/users/user-3/activate"), 200);
  await expectStatus(await login(), 200);
  // Only admins may, and not on themselves.
  const bob = await server.login("bob@example.com");
  await expectError(await post("/admin/users/user-3/deactivate", bob), 403, "forbidden");
  await expectError(await post("/admin/users/user-1/deactivate"), 403, "forbidden");
});
