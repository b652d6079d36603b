import assert from "node:assert/strict";
import { expectStatus, startTestServer, waitFor } from "./helpers.ts";
import { type Message, WsClient } from "./ws_helpers.ts";

const createTask = (server: Awaited<ReturnType<typeof startTestServer>>, title: string) =>
  server.request("/tasks", { method: "POST", json: { title, listId: "list-todo" } })
    .then((response) => expectStatus(response, 201));

/** Board events among `messages` (they carry a numeric `id`, the seq). */
const count = (messages: Message[]) => messages.filter((m) => typeof m.id === "number").length;

Deno.test("join with a cursor replays the events after it exactly once, in order, then live", async () => {
  await using server = await startTestServer();
  const { store } = server.services;
  const start = await store.cursor();
  // More than one replay page (500 events).
  for (let i = 0; i < 700; i++) {
    await store.createTask("user-1", { title: `before ${i}`, listId: "list-in-progress" });
  }

  // Writes keep landing while the socket joins and replays.
  let writing = true;
  const writer = (async () => {
    let i = 0;
    while (writing || i < 20) await createTask(server, `during ${i++}`);
  })();
  await using client = await WsClient.open(server);
  client.send({ type: "join", boardId: "board-1", cursor: start });
  await client.next("presence");
  await waitFor(() => client.received.filter((m) => m.type === "task_created").length >= 710);
  writing = false;
  await writer;
  await createTask(server, "after");
  const end = await store.cursor();
  await waitFor(() => client.received.some((m) => m.id === end), { what: "the last event" });

  const ids = client.received.filter((m) => typeof m.id === "number").map((m) => m.id);
  const expected = (await store.eventsAfter(["board-1"], start, 10_000)).events.map((e) => e.id);
  assert.deepEqual(ids, expected);
  // The presence snapshot comes before any replayed event.
  const types = client.received.map((m) => m.type);
  assert.ok(types.indexOf("presence") < types.indexOf("task_created"));
  // Nothing else arrives later.
  await client.drain();
  assert.equal(count(client.received), ids.length);
});

Deno.test("a join without a cursor (or a null one) starts live; with the current cursor it replays nothing", async () => {
  await using server = await startTestServer();
  await createTask(server, "old");
  const now = await server.services.store.cursor();
  await using live = await WsClient.open(server);
  await using resumed = await WsClient.open(server);
  live.send({ type: "join", boardId: "board-1", cursor: null });
  resumed.send({ type: "join", boardId: "board-1", cursor: now });
  await live.next("presence");
  await resumed.next("presence");
  assert.equal(count(await live.drain()), 0);
  assert.equal(count(await resumed.drain()), 0);
  const task = await createTask(server, "new");
  assert.equal((await live.next("task_created")).task.id, task.id);
  assert.equal((await resumed.next("task_created")).task.id, task.id);
});

Deno.test("a cursor older than the retained log, or from the future, gets resync", async () => {
  await using server = await startTestServer();
  const { store } = server.services;
  for (let i = 0; i < 5; i++) await createTask(server, `t${i}`);
  await store.prune({ maxCount: 2, maxAgeMs: 3600_000 });
  const current = await store.cursor();

  await using stale = await WsClient.open(server);
  stale.send({ type: "join", boardId: "board-1", cursor: 1 });
  await stale.next("presence");
  assert.deepEqual(await stale.next("resync"), {
    type: "resync",
    boardId: "board-1",
    cursor: current,
  });
  assert.equal(count(await stale.drain()), 0);

  await using future = await WsClient.open(server);
  future.send({ type: "join", boardId: "board-1", cursor: current + 1000 });
  assert.equal((await future.next("resync")).cursor, current);

  // After a resync, live events follow.
  const task = await createTask(server, "live");
  assert.equal((await stale.next("task_created")).task.id, task.id);
  assert.equal((await future.next("task_created")).task.id, task.id);
});

Deno.test("a socket can follow two boards and resume each from the same cursor", async () => {
  await using server = await startTestServer();
  const carolToken = await server.login("carol@example.com");
  const start = await server.services.store.cursor();
  await expectStatus(
    await server.request("/tasks", {
      method: "POST",
      token: carolToken,
      json: { title: "b1", listId: "list-todo" },
    }),
    201,
  );
  await expectStatus(
    await server.request("/tasks", {
      method: "POST",
      token: carolToken,
      json: { title: "b2", listId: "list-b2-ideas" },
    }),
    201,
  );
  await using carol = await WsClient.open(server, { token: carolToken });
  carol.send({ type: "join", boardId: "board-1", cursor: start });
  carol.send({ type: "join", boardId: "board-2", cursor: start });
  const b1 = await carol.next("task_created", (m) => m.boardId === "board-1");
  const b2 = await carol.next("task_created", (m) => m.boardId === "board-2");
  assert.equal(b1.task.title, "b1");
  assert.equal(b2.task.title, "b2");
  assert.equal(count(await carol.drain()), 0);
});

Deno.test("a re-added member joining from before the removal gets resync and stays in the room", async () => {
  await using server = await startTestServer({ demo: false, seed: true });
  const { store } = server.services;
  const before = await store.cursor();
  // Bob is removed and re-added: he is a member now.
  await store.removeMember("user-1", "board-1", "user-2");
  await store.addMember("user-1", "board-1", "user-2");
  await using bob = await WsClient.open(server, { token: await server.login("bob@example.com") });
  bob.send({ type: "join", boardId: "board-1", cursor: before });
  await bob.next("presence");
  // What happened while he was away is not his to replay (Store.replayFloor): a snapshot is.
  await bob.next("resync");
  assert.ok(!bob.received.some((m) => m.type === "member_removed"), "no replay from before");
  await createTaskAs(server, "alice@example.com", "After the re-add");
  const created = await bob.next("task_created");
  assert.equal(created.task.title, "After the re-add");
  assert.ok(!bob.received.some((m) => m.type === "error"), JSON.stringify(bob.received));
});

async function createTaskAs(
  server: Awaited<ReturnType<typeof startTestServer>>,
  email: string,
  title: string,
) {
  const token = await server.login(email);
  const response = await server.request("/tasks", {
    method: "POST",
    json: { title, listId: "list-todo" },
    token,
  });
  return expectStatus(response, 201);
}
