import assert from "node:assert/strict";
import { openSse, startTestServer } from "./helpers.ts";

Deno.test("the README walkthrough works as written in demo mode", async () => {
  await using server = await startTestServer();
  const tasks = await (await server.request("/boards/board-1/tasks")).json();
  assert.deepEqual(tasks.map((t: { id: string }) => t.id), [
    "task-1",
    "task-2",
    "task-3",
    "task-4",
  ]);

  const sse = await openSse(server, "/boards/board-1/events");
  const connected = await sse.nextData();
  assert.equal(connected.event, undefined);
  assert.equal(connected.json.type, "connected");
  assert.equal(typeof connected.json.cursor, "number");

  const created = await server.request("/tasks", {
    method: "POST",
    json: { title: "Live from the capstone!", listId: "list-todo" },
  });
  assert.equal(created.status, 201);
  const task = await created.json();
  const createdEvent = await sse.nextData();
  assert.equal(createdEvent.event, "task_created");
  assert.equal(createdEvent.json.type, "task_created");
  assert.deepEqual(createdEvent.json.task, task);

  const moved = await server.request("/tasks/task-1/move", {
    method: "PATCH",
    json: { listId: "list-done", position: 0 },
  });
  assert.equal(moved.status, 200);
  assert.equal((await moved.json()).listId, "list-done");
  const movedEvent = await sse.nextData();
  assert.equal(movedEvent.event, "task_moved");
  assert.equal((movedEvent.json.task as { listId: string }).listId, "list-done");
  assert.equal(movedEvent.json.fromListId, "list-todo");
  await sse.close();
});
