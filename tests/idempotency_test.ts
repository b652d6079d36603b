/**
 * Idempotency keys: a mutation sent again with the same `Idempotency-Key` (REST) or
 * `idempotencyKey` (WebSocket) answers the original result and writes no second event — the
 * retry of a client whose answer was lost (connection reset after COMMIT). A key is per user;
 * reused for a different request it is 409 `idempotency_key_reused`; a malformed one is 400.
 * Runs on both stores (`deno task test:postgres`).
 */
import assert from "node:assert/strict";
import { expectError, expectStatus, startTestServer, withEvents } from "./helpers.ts";
import { WsClient } from "./ws_helpers.ts";

const NORMAL = { demo: false, seed: true } as const;

Deno.test("a create sent twice with one Idempotency-Key makes one task and answers the same twice", async () => {
  await using server = await startTestServer(NORMAL);
  const token = await server.login("alice@example.com");
  const send = () =>
    server.request("/tasks", {
      method: "POST",
      headers: { "idempotency-key": "create-1" },
      json: { listId: "list-todo", title: "Only once" },
      token,
    });
  const { result, events } = await withEvents(server, async () => {
    const first = await expectStatus(await send(), 201);
    const again = await expectStatus(await send(), 201);
    return { first, again };
  });
  assert.deepEqual(result.again, result.first, "the original answer, again");
  assert.deepEqual(events.map((event) => event.type), ["task_created"], "one event");
  const tasks = await expectStatus(await server.request("/boards/board-1/tasks", { token }), 200);
  assert.equal(tasks.filter((task: { title: string }) => task.title === "Only once").length, 1);
});

Deno.test("retries racing each other still make one change", async () => {
  await using server = await startTestServer(NORMAL);
  const token = await server.login("alice@example.com");
  const { result, events } = await withEvents(
    server,
    () =>
      Promise.all(Array.from({ length: 8 }, async () =>
        await expectStatus(
          await server.request("/tasks", {
            method: "POST",
            headers: { "idempotency-key": "racing" },
            json: { listId: "list-todo", title: "Raced" },
            token,
          }),
          201,
        ))),
  );
  assert.equal(new Set(result.map((task: { id: string }) => task.id)).size, 1, "one task id");
  assert.equal(events.length, 1, "one event");
});

Deno.test("every mutating route honours the key: a move, an edit and a delete are each done once", async () => {
  await using server = await startTestServer(NORMAL);
  const token = await server.login("alice@example.com");
  const twice = async (path: string, method: string, key: string, json?: unknown) => {
    const send = () =>
      server.request(path, { method, headers: { "idempotency-key": key }, json, token });
    const { result, events } = await withEvents(server, async () => {
      const first = await expectStatus(await send(), 200);
      return [first, await expectStatus(await send(), 200)];
    });
    assert.deepEqual(result[1], result[0], `${method} ${path}: the same answer`);
    assert.equal(events.length, 1, `${method} ${path}: one event`);
    return result[0];
  };
  await twice("/tasks/task-1/move", "PATCH", "move-1", { listId: "list-done", position: 0 });
  const edited = await twice("/tasks/task-2", "PATCH", "edit-1", { title: "Edited once" });
  assert.equal(edited.version, 2, "the retry did not bump the version again");
  // Without the key the second delete would be 404; with it, the first answer.
  await twice("/tasks/task-3", "DELETE", "delete-1");
  await twice("/lists/list-todo", "PATCH", "list-1", { title: "To do (once)" });
});

Deno.test("a key reused for another request is 409 and changes nothing; keys are per user", async () => {
  await using server = await startTestServer(NORMAL);
  const alice = await server.login("alice@example.com");
  const bob = await server.login("bob@example.com");
  const create = (token: string, title: string) =>
    server.request("/tasks", {
      method: "POST",
      headers: { "idempotency-key": "shared-key" },
      json: { listId: "list-todo", title },
      token,
    });
  await expectStatus(await create(alice, "Alice's"), 201);
  const { events } = await withEvents(server, async () => {
    await expectError(await create(alice, "Something else"), 409, "idempotency_key_reused");
  });
  assert.deepEqual(events, [], "nothing written");
  // Bob's key of the same name is his own.
  const bobs = await expectStatus(await create(bob, "Bob's"), 201);
  assert.equal(bobs.title, "Bob's");
});

Deno.test("a malformed Idempotency-Key is 400 and writes nothing", async () => {
  await using server = await startTestServer(NORMAL);
  const token = await server.login("alice@example.com");
  for (const key of ["", "x".repeat(201), "has space", "ünïcode"]) {
    const { events } = await withEvents(server, async () => {
      await expectError(
        await server.request("/tasks", {
          method: "POST",
          headers: { "idempotency-key": key },
          json: { listId: "list-todo", title: "x" },
          token,
        }),
        400,
        "invalid_idempotency_key",
      );
    });
    assert.deepEqual(events, [], `nothing written for ${JSON.stringify(key)}`);
  }
});

Deno.test("a refused mutation records no key: the same key works once the request is fixed", async () => {
  await using server = await startTestServer(NORMAL);
  const token = await server.login("alice@example.com");
  const send = (listId: string) =>
    server.request("/tasks", {
      method: "POST",
      headers: { "idempotency-key": "fix-me" },
      json: { listId, title: "Second try" },
      token,
    });
  await expectError(await send("list-nowhere"), 404, "not_found");
  // A different body under the same key: allowed, since the first attempt did nothing.
  await expectStatus(await send("list-todo"), 201);
});

Deno.test("a WebSocket mutation sent twice with one idempotencyKey is acked twice with one task", async () => {
  await using server = await startTestServer(NORMAL);
  const token = await server.login("alice@example.com");
  const ws = await WsClient.open(server, { token });
  const message = (requestId: string) => ({
    type: "create_task",
    requestId,
    idempotencyKey: "ws-create-1",
    listId: "list-todo",
    title: "Over the socket, once",
  });
  const { result, events } = await withEvents(server, async () => {
    ws.send(message("r1"));
    const first = await ws.next("ack", (m) => m.requestId === "r1");
    ws.send(message("r2"));
    const again = await ws.next("ack", (m) => m.requestId === "r2");
    return { first, again };
  });
  assert.deepEqual(result.again.task, result.first.task);
  assert.deepEqual(events.map((event) => event.type), ["task_created"]);
  await ws.close();
});

Deno.test("a retry whose body lists the same fields in another order is the same request", async () => {
  await using server = await startTestServer(NORMAL);
  const token = await server.login("alice@example.com");
  const send = (json: unknown) =>
    server.request("/tasks", {
      method: "POST",
      headers: { "idempotency-key": "reordered-1" },
      json,
      token,
    });
  const { result, events } = await withEvents(server, async () => {
    const first = await expectStatus(await send({ listId: "list-todo", title: "Same" }), 201);
    const again = await expectStatus(await send({ title: "Same", listId: "list-todo" }), 201);
    return { first, again };
  });
  assert.deepEqual(result.again, result.first);
  assert.deepEqual(events.map((event) => event.type), ["task_created"]);
});
