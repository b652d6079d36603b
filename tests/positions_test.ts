/**
 * Task and list positions stay dense (0..n-1 in every list) and consistent with the event log
 * while many moves, creates and deletes race each other over real HTTP.
 */
import assert from "node:assert/strict";
import { expectStatus, startTestServer, type TestServer } from "./helpers.ts";

interface Task {
  id: string;
  listId: string;
  position: number;
}

const LISTS = ["list-todo", "list-in-progress", "list-done"];

/** A small deterministic PRNG, so a failure can be replayed. */
function random(seed: number): () => number {
  return () => {
    seed = (seed * 1103515245 + 12345) & 0x7fffffff;
    return seed / 0x80000000;
  };
}

/** Checks every list of board-1 is dense and returns the board's tasks by list. */
async function assertDense(server: TestServer): Promise<Map<string, string[]>> {
  const tasks: Task[] = await expectStatus(await server.request("/boards/board-1/tasks"), 200);
  const byList = new Map<string, string[]>(LISTS.map((id) => [id, []]));
  for (const listId of LISTS) {
    const mine = tasks.filter((t) => t.listId === listId).sort((a, b) => a.position - b.position);
    assert.deepEqual(mine.map((t) => t.position), mine.map((_, i) => i), `${listId} is dense`);
    byList.set(listId, mine.map((t) => t.id));
  }
  return byList;
}

Deno.test("50 parallel moves keep every list's positions dense 0..n-1", async () => {
  await using server = await startTestServer();
  for (let i = 0; i < 12; i++) {
    await expectStatus(
      await server.request("/tasks", {
        method: "POST",
        json: { title: `Task ${i}`, listId: LISTS[i % 3] },
      }),
      201,
    );
  }
  const tasks: Task[] = await expectStatus(await server.request("/boards/board-1/tasks"), 200);
  const next = random(42);
  const before = await server.services.store.cursor();

  const moves = Array.from({ length: 50 }, () => {
    const task = tasks[Math.floor(next() * tasks.length)];
    const listId = LISTS[Math.floor(next() * LISTS.length)];
    const position = Math.floor(next() * 8);
    return server.request(`/tasks/${task.id}/move`, {
      method: "PATCH",
      json: { listId, position },
    }).then((response) => expectStatus(response, 200));
  });
  const results: Task[] = await Promise.all(moves);
  assert.equal(results.length, 50);

  const byList = await assertDense(server);
  assert.equal([...byList.values()].flat().length, tasks.length, "no task lost or duplicated");

  // Replaying the 50 task_moved events from the log reproduces the final order.
  const { events } = await server.services.store.eventsAfter(["board-1"], before, 1000);
  assert.equal(events.length, 50);
  assert.ok(events.every((e) => e.type === "task_moved"));
  const replayed = new Map<string, string[]>(
    LISTS.map((id) => [id, tasks.filter((t) => t.listId === id).map((t) => t.id)]),
  );
  for (const event of events) {
    const task = event.task as Task;
    const from = replayed.get(event.fromListId as string)!;
    from.splice(from.indexOf(task.id), 1);
    replayed.get(task.listId)!.splice(task.position, 0, task.id);
  }
  assert.deepEqual(replayed, byList);
});

Deno.test("racing creates, moves and deletes leave positions dense and versions counted", async () => {
  await using server = await startTestServer();
  const next = random(7);
  const work: Promise<unknown>[] = [];
  for (let i = 0; i < 20; i++) {
    work.push(
      server.request("/tasks", {
        method: "POST",
        json: { title: `New ${i}`, listId: LISTS[i % 3], position: Math.floor(next() * 4) },
      }).then((r) => expectStatus(r, 201)),
    );
  }
  for (let i = 0; i < 20; i++) {
    const id = i % 2 === 0 ? "task-1" : "task-3";
    work.push(
      server.request(`/tasks/${id}/move`, {
        method: "PATCH",
        json: { listId: LISTS[Math.floor(next() * 3)], position: Math.floor(next() * 5) },
      }).then((r) => expectStatus(r, 200)),
    );
  }
  work.push(server.request("/tasks/task-2", { method: "DELETE" }).then((r) => r.text()));
  work.push(server.request("/tasks/task-4", { method: "DELETE" }).then((r) => r.text()));
  await Promise.all(work);

  const byList = await assertDense(server);
  const ids = [...byList.values()].flat();
  assert.equal(ids.length, 4 + 20 - 2);
  assert.ok(!ids.includes("task-2") && !ids.includes("task-4"));
  // task-1 and task-3 were each moved ten times: version 1 + 10.
  for (const id of ["task-1", "task-3"]) {
    const task = await expectStatus(await server.request(`/tasks/${id}`), 200);
    assert.equal(task.version, 11, id);
  }
});

Deno.test("parallel moves with the same version let exactly one win", async () => {
  await using server = await startTestServer();
  const responses = await Promise.all(
    LISTS.concat(LISTS).map((listId) =>
      server.request("/tasks/task-3/move", {
        method: "PATCH",
        json: { listId, position: 0, version: 1 },
      })
    ),
  );
  const statuses = await Promise.all(
    responses.map(async (r) => (await r.body?.cancel(), r.status)),
  );
  assert.deepEqual(statuses.sort(), [200, 409, 409, 409, 409, 409]);
  await assertDense(server);
});
