/**
 * REST API: CRUD for boards, members, lists and tasks against a real server and SQLite file,
 * exactly one event per mutation with its type and payload, and every validation error with its
 * status and code (never a 500).
 */
import assert from "node:assert/strict";
import {
  expectError,
  expectStatus,
  startTestServer,
  type TestServer,
  withEvents,
} from "./helpers.ts";

const ISO_MS = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/;
const TASK_KEYS = [
  "assigneeId",
  "boardId",
  "createdAt",
  "createdBy",
  "description",
  "id",
  "listId",
  "position",
  "title",
  "updatedAt",
  "version",
];

type Json = Record<string, unknown>;

/** Task ids of one list, in position order, after checking the positions are exactly 0..n-1. */
async function listOrder(server: TestServer, listId: string, token?: string): Promise<string[]> {
  const tasks: { id: string; listId: string; position: number }[] = await expectStatus(
    await server.request("/boards/board-1/tasks", { token }),
    200,
  );
  const mine = tasks.filter((t) => t.listId === listId).sort((a, b) => a.position - b.position);
  assert.deepEqual(mine.map((t) => t.position), mine.map((_, i) => i), `dense ${listId}`);
  return mine.map((t) => t.id);
}

/** Sends `init` and expects exactly one event of `type`; returns the body and the event. */
async function mutate(
  server: TestServer,
  path: string,
  init: RequestInit & { json?: unknown; token?: string },
  status: number,
  type: string,
): Promise<{ body: Json; event: Json }> {
  const { result, events } = await withEvents(
    server,
    async () => expectStatus(await server.request(path, init), status),
  );
  assert.deepEqual(events.map((e) => e.type), [type], `one ${type} event for ${path}`);
  return { body: result, event: events[0] };
}

/** Sends `init`, expects the error and checks that nothing was written to the log. */
async function refused(
  server: TestServer,
  path: string,
  init: RequestInit & { json?: unknown; token?: string },
  status: number,
  code: string,
) {
  const { result, events } = await withEvents(
    server,
    async () => expectError(await server.request(path, init), status, code),
  );
  assert.deepEqual(events, [], `a refused ${path} writes no event`);
  return result;
}

Deno.test("boards are listed per user with their role and read as one snapshot", async () => {
  await using server = await startTestServer();
  const alice = await server.login("alice@example.com");
  const carol = await server.login("carol@example.com");

  const alices = await expectStatus(await server.request("/boards", { token: alice }), 200);
  assert.deepEqual(alices.map((b: Json) => [b.id, b.role]), [["board-1", "owner"]]);
  const carols = await expectStatus(await server.request("/boards", { token: carol }), 200);
  assert.deepEqual(carols.map((b: Json) => [b.id, b.role]), [
    ["board-1", "member"],
    ["board-2", "owner"],
  ]);

  const snapshot = await expectStatus(
    await server.request("/boards/board-1", { token: alice }),
    200,
  );
  assert.deepEqual(Object.keys(snapshot).sort(), [
    "board",
    "conflicts",
    "cursor",
    "lists",
    "members",
    "tasks",
  ]);
  assert.equal(snapshot.board.title, "Product Board");
  assert.deepEqual(snapshot.lists.map((l: Json) => [l.id, l.position]), [
    ["list-todo", 0],
    ["list-in-progress", 1],
    ["list-done", 2],
  ]);
  assert.deepEqual(snapshot.tasks.map((t: Json) => t.id), ["task-1", "task-2", "task-3", "task-4"]);
  assert.equal(snapshot.cursor, await server.services.store.cursor());
  assert.ok(snapshot.members.some((m: Json) => m.email === "bob@example.com"));
});

Deno.test("a board is created with three lists, renamed by its owner and deleted", async () => {
  await using server = await startTestServer();
  const alice = await server.login("alice@example.com");

  const created = await mutate(
    server,
    "/boards",
    { method: "POST", json: { title: "  Launch  " }, token: alice },
    201,
    "board_created",
  );
  const snapshot = created.body as {
    board: Json & { id: string };
    lists: Json[];
    tasks: Json[];
    cursor: number;
  };
  const boardId = snapshot.board.id;
  assert.equal(snapshot.board.title, "Launch");
  assert.equal(snapshot.board.ownerId, "user-1");
  assert.match(snapshot.board.createdAt as string, ISO_MS);
  assert.deepEqual(snapshot.lists.map((l) => [l.title, l.position]), [
    ["To do", 0],
    ["In progress", 1],
    ["Done", 2],
  ]);
  assert.deepEqual(snapshot.tasks, []);
  assert.equal(snapshot.cursor, created.event.id);
  assert.deepEqual(created.event.board, snapshot.board);
  assert.equal(created.event.boardId, boardId);
  assert.equal(created.event.actorId, "user-1");

  const mine = await expectStatus(await server.request("/boards", { token: alice }), 200);
  assert.deepEqual(mine.map((b: Json) => b.id), ["board-1", boardId]);

  const renamed = await mutate(
    server,
    `/boards/${boardId}`,
    { method: "PATCH", json: { title: "Launch v2" }, token: alice },
    200,
    "board_updated",
  );
  assert.equal(renamed.body.title, "Launch v2");
  assert.deepEqual(renamed.event.board, renamed.body);

  const deleted = await mutate(
    server,
    `/boards/${boardId}`,
    { method: "DELETE", token: alice },
    200,
    "board_deleted",
  );
  assert.deepEqual(deleted.body, { boardId });
  assert.equal(deleted.event.boardId, boardId);
  await expectError(await server.request(`/boards/${boardId}`, { token: alice }), 404, "not_found");
  await expectError(
    await server.request(`/boards/${boardId}/tasks`, { token: alice }),
    404,
    "not_found",
  );
});

Deno.test("only the owner renames or deletes a board; members get 403", async () => {
  await using server = await startTestServer();
  const bob = await server.login("bob@example.com");
  await refused(
    server,
    "/boards/board-1",
    { method: "PATCH", json: { title: "Mine now" }, token: bob },
    403,
    "forbidden",
  );
  await refused(server, "/boards/board-1", { method: "DELETE", token: bob }, 403, "forbidden");
  const board = await expectStatus(await server.request("/boards/board-1", { token: bob }), 200);
  assert.equal(board.board.title, "Product Board");
});

Deno.test("the owner adds and removes members by email; others get 403", async () => {
  await using server = await startTestServer();
  const carol = await server.login("carol@example.com");
  const bob = await server.login("bob@example.com");
  const alice = await server.login("alice@example.com");

  await expectError(await server.request("/boards/board-2", { token: bob }), 404, "not_found");
  // Alice is a member of nothing here: she is not even told board-2 exists.
  await refused(
    server,
    "/boards/board-2/members",
    { method: "POST", json: { email: "alice@example.com" }, token: alice },
    404,
    "not_found",
  );

  const added = await mutate(
    server,
    "/boards/board-2/members",
    { method: "POST", json: { email: "BOB@example.com" }, token: carol },
    201,
    "member_added",
  );
  assert.equal(added.body.userId, "user-2");
  assert.equal(added.body.role, "member");
  assert.equal(added.body.boardId, "board-2");
  assert.deepEqual(added.event.member, added.body);
  const members = await expectStatus(
    await server.request("/boards/board-2/members", { token: bob }),
    200,
  );
  assert.deepEqual(members.map((m: Json) => [m.userId, m.role]), [
    ["user-3", "owner"],
    ["user-2", "member"],
  ]);

  // A member who is not the owner may neither add nor remove others.
  await refused(
    server,
    "/boards/board-2/members",
    { method: "POST", json: { email: "alice@example.com" }, token: bob },
    403,
    "forbidden",
  );
  await refused(
    server,
    "/boards/board-2/members/user-3",
    { method: "DELETE", token: bob },
    403,
    "forbidden",
  );
  await refused(
    server,
    "/boards/board-2/members",
    { method: "POST", json: { email: "bob@example.com" }, token: carol },
    409,
    "already_member",
  );
  await refused(
    server,
    "/boards/board-2/members",
    { method: "POST", json: { email: "nobody@example.com" }, token: carol },
    404,
    "user_not_found",
  );
  await refused(
    server,
    "/boards/board-2/members/user-3",
    { method: "DELETE", token: carol },
    400,
    "owner_cannot_leave",
  );
  await refused(
    server,
    "/boards/board-2/members/user-1",
    { method: "DELETE", token: carol },
    404,
    "not_found",
  );

  const removed = await mutate(
    server,
    "/boards/board-2/members/user-2",
    { method: "DELETE", token: carol },
    200,
    "member_removed",
  );
  assert.equal(removed.body.userId, "user-2");
  assert.deepEqual(removed.event.member, removed.body);
  await expectError(await server.request("/boards/board-2", { token: bob }), 404, "not_found");
});

Deno.test("a member may leave a board by removing themselves", async () => {
  await using server = await startTestServer();
  const bob = await server.login("bob@example.com");
  const { body } = await mutate(
    server,
    "/boards/board-1/members/user-2",
    { method: "DELETE", token: bob },
    200,
    "member_removed",
  );
  assert.equal(body.userId, "user-2");
  await expectError(await server.request("/boards/board-1", { token: bob }), 404, "not_found");
});

Deno.test("lists are created, renamed, reordered densely and deleted with their tasks", async () => {
  await using server = await startTestServer();
  const positions = async () => {
    const snapshot = await expectStatus(await server.request("/boards/board-1"), 200);
    return snapshot.lists.map((l: Json) => [l.id, l.position]);
  };

  const appended = await mutate(
    server,
    "/boards/board-1/lists",
    { method: "POST", json: { title: "Review" } },
    201,
    "list_created",
  );
  assert.equal(appended.body.position, 3);
  assert.equal(appended.body.boardId, "board-1");
  assert.deepEqual(appended.event.list, appended.body);
  const reviewId = appended.body.id as string;

  const first = await mutate(
    server,
    "/boards/board-1/lists",
    { method: "POST", json: { title: "Backlog", position: 0 } },
    201,
    "list_created",
  );
  const backlogId = first.body.id as string;
  assert.deepEqual(await positions(), [
    [backlogId, 0],
    ["list-todo", 1],
    ["list-in-progress", 2],
    ["list-done", 3],
    [reviewId, 4],
  ]);

  const renamed = await mutate(
    server,
    `/lists/${reviewId}`,
    { method: "PATCH", json: { title: "Code review" } },
    200,
    "list_updated",
  );
  assert.equal(renamed.body.title, "Code review");
  assert.deepEqual(renamed.event.list, renamed.body);

  const moved = await mutate(
    server,
    `/lists/${reviewId}`,
    { method: "PATCH", json: { position: 1 } },
    200,
    "list_moved",
  );
  assert.equal(moved.body.position, 1);
  assert.equal(moved.event.fromPosition, 4);
  assert.deepEqual(await positions(), [
    [backlogId, 0],
    [reviewId, 1],
    ["list-todo", 2],
    ["list-in-progress", 3],
    ["list-done", 4],
  ]);
  // A position past the end lands at the end.
  await mutate(
    server,
    `/lists/${backlogId}`,
    {
      method: "PATCH",
      json: { position: 99 },
    },
    200,
    "list_moved",
  );
  assert.deepEqual((await positions()).map((p: unknown[]) => p[1]), [0, 1, 2, 3, 4]);

  const deleted = await mutate(
    server,
    "/lists/list-todo",
    { method: "DELETE" },
    200,
    "list_deleted",
  );
  assert.equal(deleted.body.id, "list-todo");
  assert.equal(deleted.event.listId, "list-todo");
  assert.deepEqual((await positions()).map((p: unknown[]) => p[1]), [0, 1, 2, 3]);
  // Its tasks went with it.
  await expectError(await server.request("/tasks/task-1"), 404, "not_found");
  await expectError(
    await server.request("/lists/list-todo", { method: "PATCH", json: { title: "x" } }),
    404,
    "not_found",
  );
});

Deno.test("POST /tasks answers 201 with the one task shape, readable by id", async () => {
  await using server = await startTestServer();
  const alice = await server.login("alice@example.com");
  const { body: task, event } = await mutate(
    server,
    "/tasks",
    {
      method: "POST",
      json: { title: "  Ship it ", listId: "list-todo", description: "Soon", assigneeId: "user-2" },
      token: alice,
    },
    201,
    "task_created",
  );
  assert.deepEqual(Object.keys(task).sort(), TASK_KEYS);
  assert.equal(task.title, "Ship it");
  assert.equal(task.boardId, "board-1");
  assert.equal(task.listId, "list-todo");
  assert.equal(task.position, 2);
  assert.equal(task.version, 1);
  assert.equal(task.assigneeId, "user-2");
  assert.equal(task.createdBy, "user-1");
  assert.match(task.createdAt as string, ISO_MS);
  assert.equal(task.updatedAt, task.createdAt);
  assert.deepEqual(event.task, task);
  assert.equal(event.actorId, "user-1");

  assert.deepEqual(await expectStatus(await server.request(`/tasks/${task.id}`), 200), task);
  const all = await expectStatus(await server.request("/boards/board-1/tasks"), 200);
  assert.deepEqual(all.find((t: Json) => t.id === task.id), task);
  for (const t of all) assert.deepEqual(Object.keys(t).sort(), TASK_KEYS);

  // At a position: the others make room.
  const top = await expectStatus(
    await server.request("/tasks", {
      method: "POST",
      json: { title: "Top", listId: "list-todo", position: 0 },
    }),
    201,
  );
  assert.deepEqual(await listOrder(server, "list-todo"), [top.id, "task-1", "task-2", task.id]);
});

Deno.test("PATCH /tasks/:id updates fields, bumps the version and refuses a stale one with 409", async () => {
  await using server = await startTestServer();
  const updated = await mutate(
    server,
    "/tasks/task-2",
    {
      method: "PATCH",
      json: {
        title: "Write the guide",
        description: "Two pages",
        assigneeId: "user-3",
        version: 1,
      },
    },
    200,
    "task_updated",
  );
  assert.equal(updated.body.title, "Write the guide");
  assert.equal(updated.body.description, "Two pages");
  assert.equal(updated.body.assigneeId, "user-3");
  assert.equal(updated.body.version, 2);
  assert.ok((updated.body.updatedAt as string) > (updated.body.createdAt as string));
  assert.deepEqual(updated.event.task, updated.body);

  const conflict = await refused(
    server,
    "/tasks/task-2",
    { method: "PATCH", json: { title: "Lost update", version: 1 } },
    409,
    "version_conflict",
  );
  assert.deepEqual(conflict.task, updated.body);

  // Without a version the change applies (last writer wins); null unassigns.
  const unassigned = await mutate(
    server,
    "/tasks/task-2",
    { method: "PATCH", json: { assigneeId: null } },
    200,
    "task_updated",
  );
  assert.equal(unassigned.body.assigneeId, null);
  assert.equal(unassigned.body.title, "Write the guide");
  assert.equal(unassigned.body.version, 3);

  await refused(
    server,
    "/tasks/task-2",
    { method: "PATCH", json: { assigneeId: "user-404" } },
    400,
    "invalid_assignee",
  );
});

Deno.test("PATCH /tasks/:id/move reorders within a list and moves between lists densely", async () => {
  await using server = await startTestServer();
  const within = await mutate(
    server,
    "/tasks/task-1/move",
    { method: "PATCH", json: { listId: "list-todo", position: 1 } },
    200,
    "task_moved",
  );
  assert.equal(within.body.position, 1);
  assert.equal(within.body.version, 2);
  assert.equal(within.event.fromListId, "list-todo");
  assert.deepEqual(within.event.task, within.body);
  assert.deepEqual(await listOrder(server, "list-todo"), ["task-2", "task-1"]);

  const between = await mutate(
    server,
    "/tasks/task-2/move",
    { method: "PATCH", json: { listId: "list-done", position: 0, version: 1 } },
    200,
    "task_moved",
  );
  assert.equal(between.body.listId, "list-done");
  assert.equal(between.event.fromListId, "list-todo");
  assert.deepEqual(between.event.task, between.body);
  assert.deepEqual(await listOrder(server, "list-todo"), ["task-1"]);
  assert.deepEqual(await listOrder(server, "list-done"), ["task-2", "task-4"]);

  // Past the end: the task goes last.
  await mutate(
    server,
    "/tasks/task-3/move",
    {
      method: "PATCH",
      json: { listId: "list-done", position: 50 },
    },
    200,
    "task_moved",
  );
  assert.deepEqual(await listOrder(server, "list-done"), ["task-2", "task-4", "task-3"]);
  assert.deepEqual(await listOrder(server, "list-in-progress"), []);

  const stale = await refused(
    server,
    "/tasks/task-2/move",
    { method: "PATCH", json: { listId: "list-todo", position: 0, version: 1 } },
    409,
    "version_conflict",
  );
  assert.equal((stale.task as Json).listId, "list-done");
  // A list on another board (visible or not) is refused the same way.
  for (const listId of ["list-b2-ideas", "list-nowhere"]) {
    const error = await refused(
      server,
      "/tasks/task-1/move",
      { method: "PATCH", json: { listId, position: 0 } },
      400,
      "invalid_list",
    );
    assert.match(error.error.message, new RegExp(`list "${listId}" is not on its board`));
  }
});

Deno.test("DELETE /tasks/:id answers {taskId, listId}, emits task_deleted and closes the gap", async () => {
  await using server = await startTestServer();
  const { body, event } = await mutate(
    server,
    "/tasks/task-1",
    { method: "DELETE" },
    200,
    "task_deleted",
  );
  assert.deepEqual(body, { taskId: "task-1", listId: "list-todo" });
  assert.equal(event.taskId, "task-1");
  assert.equal(event.listId, "list-todo");
  // Format 2: the card as it was, so the delete can be undone (src/revert.ts).
  assert.equal((event.task as { id: string }).id, "task-1");
  assert.equal((event.task as { title: string }).title, "Design the board layout");
  assert.deepEqual(await listOrder(server, "list-todo"), ["task-2"]);
  await refused(server, "/tasks/task-1", { method: "DELETE" }, 404, "not_found");
  await expectError(await server.request("/tasks/task-1"), 404, "not_found");
});

Deno.test("bad JSON is 400 invalid_json and bad fields are 400 validation_failed naming the field", async () => {
  await using server = await startTestServer();
  const send = (path: string, method: string, body: BodyInit) =>
    server.request(path, { method, body, headers: { "content-type": "application/json" } });

  for (const body of ["{nope", "", '{"title":"x",}', "\u00ff"]) {
    await expectError(await send("/tasks", "POST", body), 400, "invalid_json");
  }
  await expectError(
    await send("/tasks", "POST", new Uint8Array([0x7b, 0xff, 0xfe, 0x7d])),
    400,
    "invalid_json",
  );

  const cases: [string, string, unknown, RegExp][] = [
    [
      "/tasks",
      "POST",
      { title: "x", listId: "list-todo", colour: "red" },
      /Unknown field "colour"/,
    ],
    ["/tasks", "POST", { title: "   ", listId: "list-todo" }, /"title": must not be empty/],
    ["/tasks", "POST", { title: "", listId: "list-todo" }, /"title"/],
    ["/tasks", "POST", { title: 5, listId: "list-todo" }, /"title"/],
    ["/tasks", "POST", { title: "x" }, /"listId"/],
    ["/tasks", "POST", { title: "x", listId: 7 }, /"listId"/],
    ["/tasks", "POST", { title: "x", listId: "list-todo", position: -1 }, /"position": must be 0/],
    ["/tasks", "POST", { title: "x", listId: "list-todo", position: 1.5 }, /"position"/],
    ["/tasks", "POST", { title: "x", listId: "list-todo", position: "1" }, /"position"/],
    ["/tasks", "POST", { title: "x".repeat(201), listId: "list-todo" }, /"title"/],
    ["/tasks", "POST", { title: "x", listId: "list-todo", assigneeId: 3 }, /"assigneeId"/],
    ["/tasks", "POST", null, /Invalid input/],
    ["/tasks", "POST", [], /Invalid input/],
    ["/tasks", "POST", "a task", /Invalid input/],
    ["/tasks/task-1", "PATCH", {}, /at least one of title/],
    ["/tasks/task-1", "PATCH", { title: "x", version: 0 }, /"version"/],
    ["/tasks/task-1", "PATCH", { title: "x", version: "1" }, /"version"/],
    ["/tasks/task-1", "PATCH", { description: null }, /"description"/],
    ["/tasks/task-1", "PATCH", { listId: "list-done" }, /Unknown field "listId"/],
    ["/tasks/task-1/move", "PATCH", { listId: "list-done" }, /"position"/],
    ["/tasks/task-1/move", "PATCH", { listId: "list-done", position: -3 }, /"position"/],
    ["/tasks/task-1/move", "PATCH", { position: 0 }, /"listId"/],
    ["/boards", "POST", {}, /"title"/],
    ["/boards", "POST", { title: "x", owner: "me" }, /Unknown field "owner"/],
    ["/boards/board-1", "PATCH", { title: " " }, /"title"/],
    ["/boards/board-1/lists", "POST", { title: "x", position: -1 }, /"position"/],
    ["/lists/list-todo", "PATCH", {}, /give a title or a position/],
    ["/boards/board-1/members", "POST", { email: "not-an-email" }, /"email"/],
  ];
  for (const [path, method, json, message] of cases) {
    const { result: error, events } = await withEvents(
      server,
      async () =>
        expectError(await server.request(path, { method, json }), 400, "validation_failed"),
    );
    assert.match(error.error.message, message, `${method} ${path} ${JSON.stringify(json)}`);
    assert.deepEqual(events, []);
  }
});

Deno.test("a body that is not JSON is 415 and one past the size limit is 413", async () => {
  await using server = await startTestServer({ maxBodyBytes: 1024 });
  const json = JSON.stringify({ title: "x", listId: "list-todo" });
  for (const type of ["text/plain", "application/x-www-form-urlencoded", "multipart/form-data"]) {
    const error = await refused(
      server,
      "/tasks",
      { method: "POST", body: json, headers: { "content-type": type } },
      415,
      "unsupported_media_type",
    );
    assert.match(error.error.message, /application\/json/);
  }
  await refused(server, "/tasks", { method: "POST", body: json }, 415, "unsupported_media_type");
  // A JSON type with parameters or a +json suffix is JSON.
  for (const type of ["application/json; charset=utf-8", "application/merge-patch+json"]) {
    await expectStatus(
      await server.request("/tasks", {
        method: "POST",
        body: json,
        headers: { "content-type": type },
      }),
      201,
    );
  }

  const big = JSON.stringify({ title: "x", listId: "list-todo", description: "d".repeat(2000) });
  const error = await refused(
    server,
    "/tasks",
    { method: "POST", body: big, headers: { "content-type": "application/json" } },
    413,
    "body_too_large",
  );
  assert.match(error.error.message, /1024 bytes/);

  // Streamed without a Content-Length, the limit still holds.
  const bytes = new TextEncoder().encode(big);
  const stream = new ReadableStream<Uint8Array>({
    start(controller) {
      for (let i = 0; i < bytes.length; i += 256) controller.enqueue(bytes.slice(i, i + 256));
      controller.close();
    },
  });
  await refused(
    server,
    "/tasks",
    { method: "POST", body: stream, headers: { "content-type": "application/json" } },
    413,
    "body_too_large",
  );
});

Deno.test("a non-member gets the same 404 as for something that does not exist", async () => {
  await using server = await startTestServer();
  const bob = await server.login("bob@example.com");
  const pairs: [string, string, string, unknown?][] = [
    ["GET", "/boards/board-2", "/boards/board-404"],
    ["GET", "/boards/board-2/tasks", "/boards/board-404/tasks"],
    ["GET", "/boards/board-2/members", "/boards/board-404/members"],
    ["PATCH", "/boards/board-2", "/boards/board-404", { title: "x" }],
    ["DELETE", "/boards/board-2", "/boards/board-404"],
    ["POST", "/boards/board-2/lists", "/boards/board-404/lists", { title: "x" }],
    ["GET", "/tasks/task-5", "/tasks/task-404"],
    ["PATCH", "/tasks/task-5", "/tasks/task-404", { title: "x" }],
    ["PATCH", "/tasks/task-5/move", "/tasks/task-404/move", {
      listId: "list-b2-ideas",
      position: 0,
    }],
    ["DELETE", "/tasks/task-5", "/tasks/task-404"],
    ["PATCH", "/lists/list-b2-ideas", "/lists/list-404", { title: "x" }],
    ["DELETE", "/lists/list-b2-ideas", "/lists/list-404"],
  ];
  const idOf = (path: string) => path.split("/")[2];
  for (const [method, hidden, missing, json] of pairs) {
    const a = await refused(server, hidden, { method, json, token: bob }, 404, "not_found");
    const b = await refused(server, missing, { method, json, token: bob }, 404, "not_found");
    assert.equal(
      a.error.message.replace(idOf(hidden), "ID"),
      b.error.message.replace(idOf(missing), "ID"),
      `${method} ${hidden}`,
    );
  }
  // Creating a task in a list of a board one cannot see is the same 404 as for no list.
  const a = await refused(
    server,
    "/tasks",
    { method: "POST", json: { title: "x", listId: "list-b2-ideas" }, token: bob },
    404,
    "not_found",
  );
  const b = await refused(
    server,
    "/tasks",
    { method: "POST", json: { title: "x", listId: "list-404" }, token: bob },
    404,
    "not_found",
  );
  assert.equal(
    a.error.message.replace("list-b2-ideas", "ID"),
    b.error.message.replace("list-404", "ID"),
  );
});

Deno.test("an invalid session token is 401 even in demo mode", async () => {
  await using server = await startTestServer();
  await refused(server, "/boards/board-1/tasks", { token: "forged" }, 401, "unauthorized");
  await refused(
    server,
    "/tasks",
    { method: "POST", json: { title: "x", listId: "list-todo" }, token: "forged" },
    401,
    "unauthorized",
  );
});

Deno.test("malformed requests of every kind get a 4xx JSON error, never a 500", async () => {
  await using server = await startTestServer();
  const requests: [string, string, BodyInit | null, string?][] = [
    ["GET", "/boards/%ZZ", null],
    ["GET", "/tasks/%00", null],
    ["GET", "/boards/" + "b".repeat(5000), null],
    ["PATCH", "/tasks/%E2%82", '{"title":"x"}', "application/json"],
    ["POST", "/tasks", '{"title":"x","listId":{"$gt":""}}', "application/json"],
    ["POST", "/tasks", '{"title":"x","listId":"list-todo","position":1e308}', "application/json"],
    ["POST", "/tasks", '{"__proto__":{"admin":true},"title":"x"}', "application/json"],
    ["POST", "/tasks", "9".repeat(400), "application/json"],
    ["POST", "/tasks", "[".repeat(500), "application/json"],
    ["PUT", "/tasks/task-1", '{"title":"x"}', "application/json"],
    ["POST", "/boards/board-1/members", '{"email":"a@b"}', "application/json"],
    ["DELETE", "/boards/board-1/members/%ZZ", null],
    ["GET", "/boards/board-1/updates?since=%ZZ", null],
    ["GET", "/boards/board-1/poll?cursor=-1", null],
    ["GET", "/boards/board-1/events?lastEventId=abc", null],
    ["GET", "/events?boards=", null],
    ["GET", "/events?boards=a%20b", null],
    ["GET", "/nope.js", null],
    ["GET", "/../deno.json", null],
    ["POST", "/login", "{", "application/json"],
    ["POST", "/login", '{"email":"alice@example.com"}', "application/json"],
  ];
  for (const [method, path, body, type] of requests) {
    const headers: Record<string, string> = type ? { "content-type": type } : {};
    const response = await server.request(path, { method, body, headers });
    const text = await response.text();
    assert.ok(
      response.status >= 400 && response.status < 500,
      `${method} ${path}: ${response.status} ${text}`,
    );
    const error = JSON.parse(text).error;
    assert.equal(typeof error.code, "string", `${method} ${path}: ${text}`);
    assert.equal(typeof error.message, "string");
  }
});

Deno.test("text with control characters or lone surrogates is refused, not cut short", async () => {
  await using server = await startTestServer();
  const refused: [string, string, unknown][] = [
    ["POST", "/tasks", { title: "a\u0000b", listId: "list-todo" }],
    ["POST", "/tasks", { title: "\u0000", listId: "list-todo" }],
    ["POST", "/tasks", { title: "x\ud800y", listId: "list-todo" }],
    ["POST", "/tasks", { title: "ok", description: "x\u0000y", listId: "list-todo" }],
    ["POST", "/boards", { title: "\u0000" }],
    ["PATCH", "/tasks/task-1", { title: "bell\u0007" }],
    ["POST", "/boards", { title: "c1 \u0085 control" }],
    ["POST", "/tasks", { title: "line\u2028separator", listId: "list-todo" }],
    ["PATCH", "/tasks/task-1", { description: "c1\u009f" }],
  ];
  for (const [method, path, json] of refused) {
    const error = await expectError(
      await server.request(path, { method, json }),
      400,
      "validation_failed",
    );
    assert.match(error.error.message, /control characters|well-formed/);
  }
  const multiLine = await server.request("/tasks", {
    method: "POST",
    json: { title: "Fine", description: "line one\nline two\tindented", listId: "list-todo" },
  });
  assert.equal((await expectStatus(multiLine, 201)).description, "line one\nline two\tindented");
});

Deno.test("titles and names follow the client's text rules: visible, no bidi overrides, UTF-16 length", async () => {
  await using server = await startTestServer();
  const create = (title: string) =>
    server.request("/tasks", { method: "POST", json: { listId: "list-todo", title } });
  for (
    const [title, message] of [
      ["\u200b\u200b", /visible/],
      ["\u3164 \u115f", /visible/],
      ["invoice\u202egnp.exe", /bidirectional/],
      ["😀".repeat(101), /at most 200/], // 101 code points, 202 UTF-16 units
    ] as const
  ) {
    const error = await refused(
      server,
      "/tasks",
      { method: "POST", json: { listId: "list-todo", title } },
      400,
      "validation_failed",
    );
    assert.match(error.error.message, message, JSON.stringify(title));
  }
  // What the browser's maxlength allows is allowed: 100 emoji are 200 units.
  await expectStatus(await create("😀".repeat(100)), 201);
  // Isolates and right-to-left text are fine.
  await expectStatus(await create("\u2067שלום\u2069 world"), 201);
  const signup = await server.request("/signup", {
    method: "POST",
    json: { email: "ghost@example.com", name: "\u200d", password: "correct horse" },
  });
  await expectError(signup, 400, "validation_failed");
});
