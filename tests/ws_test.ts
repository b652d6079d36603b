import assert from "node:assert/strict";
import {
  connectionCounts,
  expectStatus,
  rawGet,
  startTestServer,
  waitForConnections,
} from "./helpers.ts";
import { type Message, roomCounts, WsClient, wsUrl } from "./ws_helpers.ts";

const CAROL = "carol@example.com";
const BOB = "bob@example.com";

const upgradeHeaders = {
  "Upgrade": "websocket",
  "Connection": "Upgrade",
  "Sec-WebSocket-Key": "dGhlIHNhbXBsZSBub25jZQ==",
  "Sec-WebSocket-Version": "13",
};

/** Sends a raw upgrade request and returns the status line and the body of the answer. */
async function rawUpgrade(
  server: Awaited<ReturnType<typeof startTestServer>>,
  path: string,
  headers: Record<string, string>,
) {
  const conn = await rawGet(server, path, { ...upgradeHeaders, ...headers });
  const buffer = new Uint8Array(8192);
  const n = await conn.read(buffer);
  conn.close();
  const text = new TextDecoder().decode(buffer.subarray(0, n ?? 0));
  const [head, body] = text.split("\r\n\r\n");
  return { status: Number(head.split(" ")[1]), head, body };
}

Deno.test("the README WebSocket walkthrough works as written in demo mode", async () => {
  await using server = await startTestServer();
  for (const path of ["/ws", "/"]) {
    await using viewer = await WsClient.open(server, { path });
    await using other = await WsClient.open(server, { path });
    const connected = viewer.received[0];
    assert.equal(connected.type, "connected");
    assert.equal(connected.userId, "user-guest");
    assert.equal(connected.name, "Demo Guest");
    assert.equal(typeof connected.connectionId, "string");

    viewer.send({ type: "join", boardId: "board-1" });
    assert.deepEqual(await viewer.next("presence"), {
      type: "presence",
      boardId: "board-1",
      users: [{ userId: "user-guest", name: "Demo Guest", connections: 1 }],
    });
    other.send({ type: "join", boardId: "board-1" });
    await other.next("presence");

    const response = await server.request("/tasks", {
      method: "POST",
      json: { title: "Live from the capstone!", listId: "list-todo" },
    });
    const task = await expectStatus(response, 201);
    const event = await viewer.next("task_created");
    assert.deepEqual(event.task, task);
    assert.equal(event.boardId, "board-1");
    assert.equal(typeof event.id, "number");

    viewer.send({ type: "typing", boardId: "board-1" });
    assert.deepEqual(await other.next("user_typing"), {
      type: "user_typing",
      boardId: "board-1",
      userId: "user-guest",
      name: "Demo Guest",
      taskId: null,
      typing: true,
    });
    assert.equal((await viewer.drain()).filter((m) => m.type === "user_typing").length, 0);
  }
});

Deno.test("a plain GET / still serves the page and GET /ws without an upgrade is 426", async () => {
  await using server = await startTestServer();
  const page = await server.request("/");
  assert.equal(page.status, 200);
  assert.match(page.headers.get("content-type") ?? "", /text\/html/);
  await page.body?.cancel();
  const body = await expectStatus(await server.request("/ws"), 426);
  assert.equal(body.error.code, "upgrade_required");
});

Deno.test("a socket without a session gets an error, then close 4001 saying not to retry", async () => {
  await using server = await startTestServer({ demo: false, seed: true, adminEmails: [BOB] });
  const client = new WsClient(wsUrl(server));
  const closed = await client.closed;
  assert.equal(closed.code, 4001);
  assert.match(closed.reason, /do not reconnect/);
  assert.equal(client.received.length, 1);
  assert.equal(client.received[0].type, "error");
  assert.equal(client.received[0].code, "unauthorized");
  assert.equal(client.received[0].reconnect, false);
  const counts = await connectionCounts(server, await server.login(BOB));
  assert.equal(counts.byTransport.websocket, 0);
});

Deno.test("an invalid token is refused with 4001 even in demo mode", async () => {
  await using server = await startTestServer();
  for (const url of [wsUrl(server, "/ws?token=nope")]) {
    const client = new WsClient(url);
    assert.equal((await client.closed).code, 4001);
    assert.match(client.received[0].message, /expired or is invalid/);
  }
  const bearer = new WsClient(wsUrl(server), { authorization: "Bearer nope" });
  assert.equal((await bearer.closed).code, 4001);
});

Deno.test("a session cookie, a Bearer header or ?token= identify the user", async () => {
  await using server = await startTestServer({ demo: false, seed: true });
  const token = await server.login(BOB);
  const ways = [
    new WsClient(wsUrl(server), { cookie: `session=${token}` }),
    new WsClient(wsUrl(server), { authorization: `Bearer ${token}` }),
    new WsClient(wsUrl(server, `/ws?token=${encodeURIComponent(token)}`)),
  ];
  for (const client of ways) {
    const connected = await client.next("connected");
    assert.equal(connected.userId, "user-2");
    assert.equal(connected.name, "Bob");
    await client.close();
  }
});

Deno.test("an upgrade from a foreign Origin is refused with 403 before any socket opens", async () => {
  await using server = await startTestServer({ allowedOrigins: ["http://app.example"] });
  const refused = await rawUpgrade(server, "/ws", { Origin: "http://evil.example" });
  assert.equal(refused.status, 403);
  assert.deepEqual(JSON.parse(refused.body).error.code, "forbidden_origin");
  const nullOrigin = await rawUpgrade(server, "/", { Origin: "null" });
  assert.equal(nullOrigin.status, 403);

  const browser = new WsClient(wsUrl(server), { origin: "http://evil.example" });
  await browser.closed;
  assert.equal(browser.opened, false);
  assert.equal(browser.received.length, 0);

  for (const origin of [server.url, "http://app.example"]) {
    await using client = await WsClient.open(server, { headers: { origin } });
    assert.equal(client.received[0].type, "connected");
  }
  assert.equal((await connectionCounts(server)).byTransport.websocket, 0);
});

Deno.test("the websocket transport can be switched off", async () => {
  await using server = await startTestServer({ transports: ["sse", "poll", "longpoll"] });
  const refused = await rawUpgrade(server, "/ws", {});
  assert.equal(refused.status, 503);
  assert.equal(JSON.parse(refused.body).error.code, "transport_disabled");
});

Deno.test("a join to another user's board is refused and the socket stays open", async () => {
  await using server = await startTestServer();
  await using guest = await WsClient.open(server);
  guest.send({ type: "join", boardId: "board-2" });
  const error = await guest.next("error");
  assert.equal(error.code, "not_found");
  assert.equal(error.boardId, "board-2");
  assert.equal(error.message, 'Board "board-2" does not exist');
  guest.send({ type: "join", boardId: "board-1" });
  assert.equal((await guest.next("presence")).boardId, "board-1");
  const counts = await connectionCounts(server);
  assert.equal(counts.byBoard["board-2"], undefined);

  const bobToken = await server.login(BOB);
  await using bob = await WsClient.open(server, { token: bobToken });
  bob.send({ type: "join", boardId: "board-2" });
  assert.equal((await bob.next("error")).code, "not_found");
  bob.send({ type: "join", boardId: "board-404" });
  assert.equal((await bob.next("error")).message, 'Board "board-404" does not exist');
});

Deno.test("rooms are isolated: board-1 and board-2 see only their own events and relays", async () => {
  await using server = await startTestServer();
  const carolToken = await server.login(CAROL);
  await using guest = await WsClient.open(server);
  await using carol = await WsClient.open(server, { token: carolToken });
  await using carolOnBoard1 = await WsClient.open(server, { token: carolToken });
  guest.send({ type: "join", boardId: "board-1" });
  carol.send({ type: "join", boardId: "board-2" });
  carolOnBoard1.send({ type: "join", boardId: "board-1" });
  await guest.next("presence");
  await carol.next("presence");
  await carolOnBoard1.next("presence");

  await expectStatus(
    await server.request("/tasks", { method: "POST", json: { title: "B1", listId: "list-todo" } }),
    201,
  );
  await expectStatus(
    await server.request("/tasks", {
      method: "POST",
      token: carolToken,
      json: { title: "B2", listId: "list-b2-ideas" },
    }),
    201,
  );
  guest.send({ type: "typing", boardId: "board-1", taskId: "task-1" });
  guest.send({ type: "cursor", boardId: "board-1", x: 1, y: 2 });
  carol.send({ type: "typing", boardId: "board-2" });
  carol.send({ type: "cursor", boardId: "board-2", x: 3, y: 4 });

  const onBoard2 = [...carol.received, ...await carol.drain()];
  const onBoard1 = [...guest.received, ...await guest.drain()];
  const carolOn1 = [...carolOnBoard1.received, ...await carolOnBoard1.drain()];
  const boards = (messages: Message[]) =>
    new Set(messages.filter((m) => m.boardId).map((m) => m.boardId));
  assert.deepEqual(boards(onBoard2), new Set(["board-2"]));
  assert.deepEqual(boards(onBoard1), new Set(["board-1"]));
  assert.deepEqual(boards(carolOn1), new Set(["board-1"]));
  assert.equal(onBoard2.find((m) => m.type === "task_created")?.task.title, "B2");
  assert.equal(onBoard1.find((m) => m.type === "task_created")?.task.title, "B1");
  // Carol's board-1 tab gets the guest's relays; the guest gets none of Carol's board-2 ones.
  assert.ok(carolOn1.some((m) => m.type === "cursor_moved" && m.x === 1));
  assert.ok(!onBoard1.some((m) => m.type === "cursor_moved" || m.type === "user_typing"));
});

Deno.test("task mutations over the socket are acked and emit the same events as REST", async () => {
  await using server = await startTestServer();
  await using actor = await WsClient.open(server);
  await using watcher = await WsClient.open(server);
  actor.send({ type: "join", boardId: "board-1" });
  watcher.send({ type: "join", boardId: "board-1" });
  await actor.next("presence");
  await watcher.next("presence");

  actor.send({ type: "create_task", requestId: "r1", listId: "list-todo", title: "Over WS" });
  const created = await actor.next("ack", (m) => m.requestId === "r1");
  assert.equal(created.task.title, "Over WS");
  assert.equal(created.task.listId, "list-todo");
  const stored = await expectStatus(await server.request(`/tasks/${created.task.id}`), 200);
  assert.deepEqual(created.task, stored);
  const createdEvent = await watcher.next("task_created");
  assert.deepEqual(createdEvent.task, stored);
  // The actor's own socket gets the event too.
  assert.deepEqual((await actor.next("task_created")).task, stored);

  // The same REST mutation produces an event of the same shape.
  const viaRest = await expectStatus(
    await server.request("/tasks", {
      method: "POST",
      json: { title: "Via REST", listId: "list-todo" },
    }),
    201,
  );
  const restEvent = await watcher.next("task_created", (m) => m.task.id === viaRest.id);
  assert.deepEqual(Object.keys(restEvent).sort(), Object.keys(createdEvent).sort());
  assert.equal(restEvent.actorId, createdEvent.actorId);
  assert.ok(restEvent.id > createdEvent.id);

  actor.send({
    type: "update_task",
    requestId: 2,
    taskId: created.task.id,
    title: "Renamed",
    version: created.task.version,
  });
  const updated = await actor.next("ack", (m) => m.requestId === 2);
  assert.equal(updated.task.title, "Renamed");
  assert.deepEqual((await watcher.next("task_updated")).task, updated.task);

  actor.send({
    type: "move_task",
    requestId: "r3",
    taskId: created.task.id,
    listId: "list-done",
    position: 0,
  });
  const moved = await actor.next("ack", (m) => m.requestId === "r3");
  assert.equal(moved.task.listId, "list-done");
  const movedEvent = await watcher.next("task_moved");
  assert.equal(movedEvent.fromListId, "list-todo");
  assert.deepEqual(movedEvent.task, moved.task);

  actor.send({ type: "delete_task", requestId: "r4", taskId: created.task.id });
  const deleted = await actor.next("ack", (m) => m.requestId === "r4");
  assert.deepEqual(deleted, {
    type: "ack",
    requestId: "r4",
    taskId: created.task.id,
    listId: "list-done",
  });
  const deletedEvent = await watcher.next("task_deleted");
  assert.equal(deletedEvent.taskId, created.task.id);
  assert.equal(deletedEvent.listId, "list-done");
  await expectStatus(await server.request(`/tasks/${created.task.id}`), 404);
});

Deno.test("socket mutations are refused with the same errors as REST, with the requestId", async () => {
  await using server = await startTestServer();
  await using client = await WsClient.open(server);
  const cases: { body: Record<string, unknown>; message: Message }[] = [
    { body: { listId: "list-todo", title: "" }, message: { type: "create_task" } },
    { body: { listId: "list-todo", title: "x", colour: "red" }, message: { type: "create_task" } },
    { body: { listId: "list-b2-ideas", title: "Not mine" }, message: { type: "create_task" } },
  ];
  let n = 0;
  for (const { body, message } of cases) {
    const rest = await server.request("/tasks", { method: "POST", json: body });
    const restError = (await rest.json()).error;
    assert.ok(rest.status >= 400 && rest.status < 500);
    const requestId = `bad-${++n}`;
    client.send({ ...message, requestId, ...body });
    const error = await client.next("error", (m) => m.requestId === requestId);
    assert.equal(error.code, restError.code);
    assert.equal(error.message, restError.message);
  }

  // A stale version is a conflict that carries the current task, as REST's 409 does.
  client.send({ type: "update_task", requestId: "v", taskId: "task-1", title: "x", version: 99 });
  const conflict = await client.next("error", (m) => m.requestId === "v");
  assert.equal(conflict.code, "version_conflict");
  assert.equal(conflict.task.id, "task-1");

  // The guest may not touch board-2's task.
  client.send({ type: "delete_task", requestId: "d", taskId: "task-5" });
  assert.equal((await client.next("error", (m) => m.requestId === "d")).code, "not_found");
  await expectStatus(
    await server.request("/tasks/task-5", { token: await server.login(CAROL) }),
    200,
  );
});

Deno.test("a REST mutation arrives on every socket in the room with its seq and board", async () => {
  await using server = await startTestServer();
  const sockets = await Promise.all([1, 2, 3].map(() => WsClient.open(server)));
  for (const socket of sockets) socket.send({ type: "join", boardId: "board-1" });
  for (const socket of sockets) await socket.next("presence");
  const moved = await expectStatus(
    await server.request("/tasks/task-1/move", {
      method: "PATCH",
      json: { listId: "list-done", position: 0 },
    }),
    200,
  );
  const cursor = (await expectStatus(await server.request("/healthz"), 200)).cursor;
  for (const socket of sockets) {
    const event = await socket.next("task_moved");
    assert.equal(event.id, cursor);
    assert.equal(event.boardId, "board-1");
    assert.deepEqual(event.task, moved);
    await socket.close();
  }
});

Deno.test("logging out closes that session's sockets with 4001 and leaves others open", async () => {
  await using server = await startTestServer({ demo: false, seed: true, adminEmails: [BOB] });
  const first = await server.login(BOB);
  const second = await server.login(BOB);
  const doomed = await WsClient.open(server, { token: first });
  await using survivor = await WsClient.open(server, { token: second });
  doomed.send({ type: "join", boardId: "board-1" });
  survivor.send({ type: "join", boardId: "board-1" });
  await doomed.next("presence");
  await survivor.next("presence");

  await expectStatus(await server.request("/logout", { method: "POST", token: first }), 200);
  const closed = await doomed.closed;
  assert.equal(closed.code, 4001);
  const last = doomed.received.at(-1)!;
  assert.equal(last.type, "error");
  assert.equal(last.code, "unauthorized");
  // Bob still has a tab there, so nobody hears that he left.
  const after = await survivor.drain();
  assert.ok(!after.some((m) => m.type === "user_left"));
  assert.equal((await roomCounts(server, second))["board-1"].sockets, 1);
});

Deno.test("a removed member's socket leaves the room; a deleted board empties its room", async () => {
  await using server = await startTestServer();
  const carolToken = await server.login(CAROL);
  const bobToken = await server.login(BOB);
  await expectStatus(
    await server.request("/boards/board-2/members", {
      method: "POST",
      token: carolToken,
      json: { email: BOB },
    }),
    201,
  );
  await using carol = await WsClient.open(server, { token: carolToken });
  await using bob = await WsClient.open(server, { token: bobToken });
  carol.send({ type: "join", boardId: "board-2" });
  await carol.next("presence");
  bob.send({ type: "join", boardId: "board-2" });
  bob.send({ type: "join", boardId: "board-1" });
  await bob.next("presence", (m) => m.boardId === "board-2");
  await bob.next("presence", (m) => m.boardId === "board-1");
  await carol.next("user_joined");

  await expectStatus(
    await server.request("/boards/board-2/members/user-2", { method: "DELETE", token: carolToken }),
    200,
  );
  assert.equal((await bob.next("member_removed")).member.userId, "user-2");
  const removed = await bob.next("error");
  assert.equal(removed.code, "forbidden");
  assert.equal(removed.boardId, "board-2");
  assert.equal((await carol.next("user_left")).userId, "user-2");
  await expectStatus(
    await server.request("/tasks", {
      method: "POST",
      token: carolToken,
      json: { title: "Secret", listId: "list-b2-ideas" },
    }),
    201,
  );
  assert.ok(!(await bob.drain()).some((m) => m.boardId === "board-2"));
  assert.equal(bob.readyState, WebSocket.OPEN);

  await expectStatus(
    await server.request("/boards/board-2", { method: "DELETE", token: carolToken }),
    200,
  );
  assert.equal((await carol.next("board_deleted")).boardId, "board-2");
  assert.equal((await carol.next("error")).code, "board_deleted");
  const rooms = await roomCounts(server);
  assert.equal(rooms["board-2"], undefined);
  assert.equal(rooms["board-1"].sockets, 1);
  assert.equal(carol.readyState, WebSocket.OPEN);
});

Deno.test("/admin/connections counts WebSocket connections, boards and rooms", async () => {
  await using server = await startTestServer();
  const bobToken = await server.login(BOB);
  await using a = await WsClient.open(server);
  await using b = await WsClient.open(server);
  await using c = await WsClient.open(server, { token: bobToken });
  for (const socket of [a, b, c]) socket.send({ type: "join", boardId: "board-1" });
  for (const socket of [a, b, c]) await socket.next("presence");
  const counts = await connectionCounts(server);
  assert.equal(counts.byTransport.websocket, 3);
  assert.equal(counts.byBoard["board-1"].websocket, 3);
  assert.deepEqual(await roomCounts(server), { "board-1": { sockets: 3, users: 2 } });
  await a.close();
  await b.close();
  await c.close();
  await waitForConnections(server, 0);
  assert.deepEqual(await roomCounts(server), {});
});

Deno.test("an upgrade request without a key is a 400, not a crash", async () => {
  await using server = await startTestServer();
  const conn = await rawGet(server, "/ws", { Upgrade: "websocket", Connection: "Upgrade" });
  const buffer = new Uint8Array(8192);
  const n = await conn.read(buffer);
  conn.close();
  const [head, body] = new TextDecoder().decode(buffer.subarray(0, n ?? 0)).split("\r\n\r\n");
  assert.match(head, /^HTTP\/1.1 400/);
  assert.equal(JSON.parse(body).error.code, "bad_upgrade");
});
