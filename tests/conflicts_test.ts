/**
 * Conflict records (issue 11, "no lost text"): a value that lost a concurrent edit is kept whole on
 * its card — in the snapshot, for everyone, on every device — as one `conflict_recorded` event,
 * until a member resolves it (one `conflict_resolved` event); the number per card is bounded, bad
 * input is refused, and it works over the socket. Runs on both stores.
 */
import assert from "node:assert/strict";
import { expectError, expectStatus, startTestServer } from "./helpers.ts";
import {
  ALICE,
  BOB,
  getTask,
  joinedSocket,
  type Json,
  NORMAL,
  one,
  onlyEvent,
  refused,
  revertPath,
} from "./history_helpers.ts";

const LONG = "A description typed offline, long enough to matter. ".repeat(20);

Deno.test("a losing value is kept whole on its card as one conflict_recorded event, in the snapshot, until resolved", async () => {
  await using server = await startTestServer(NORMAL);
  const alice = await server.login(ALICE);
  const bob = await server.login(BOB);
  await using watcher = await joinedSocket(server, bob);
  const card = await getTask(server, alice, "task-1");
  // Bob changed the description first; Alice's edit from the old version lost (409)...
  await one(
    server,
    "/tasks/task-1",
    { method: "PATCH", token: bob, json: { description: "Bob's", version: card.version } },
    200,
    "task_updated",
  );
  await watcher.next("task_updated");
  await refused(
    server,
    "/tasks/task-1",
    { method: "PATCH", token: alice, json: { description: LONG, version: card.version } },
    409,
    "version_conflict",
  );
  // ...so her client keeps her text on the card.
  const { body: conflict, event } = await one(
    server,
    "/tasks/task-1/conflicts",
    {
      method: "POST",
      token: alice,
      json: { field: "description", value: LONG, baseVersion: card.version },
    },
    201,
    "conflict_recorded",
  );
  assert.equal(conflict.value, LONG, "kept whole");
  assert.equal(conflict.authorId, "user-1");
  assert.equal(conflict.taskId, "task-1");
  assert.deepEqual(event.conflict, conflict);
  assert.deepEqual(await onlyEvent(watcher, "conflict_recorded"), event);
  const seen = await expectStatus(await server.request("/boards/board-1", { token: bob }), 200);
  assert.deepEqual(seen.conflicts, [conflict], "every member sees it in the snapshot");

  const { event: resolved } = await one(
    server,
    `/conflicts/${conflict.id}`,
    { method: "DELETE", token: bob },
    200,
    "conflict_resolved",
  );
  assert.deepEqual(resolved.conflict, conflict);
  const after = await expectStatus(await server.request("/boards/board-1", { token: bob }), 200);
  assert.deepEqual(after.conflicts, []);
  await refused(
    server,
    `/conflicts/${conflict.id}`,
    { method: "DELETE", token: bob },
    404,
    "not_found",
  );

  // Dismissed by mistake: the revert puts it back.
  const { body: undone } = await one(
    server,
    revertPath("board-1", resolved.id),
    { method: "POST", token: bob },
    200,
    "conflict_recorded",
  );
  assert.equal(undone.event.conflict.value, LONG);
});

Deno.test("conflicts are refused for bad input, non-members and past the per-card limit, and go with their card", async () => {
  await using server = await startTestServer(NORMAL);
  const alice = await server.login(ALICE);
  const carol = await server.login("carol@example.com");
  const record = (token: string, json: unknown, taskId = "task-1") =>
    server.request(`/tasks/${taskId}/conflicts`, { method: "POST", token, json });
  for (
    const json of [
      {},
      { field: "assigneeId", value: "x", baseVersion: 1 },
      { field: "title", value: "x", baseVersion: 0 },
      { field: "title", value: "x".repeat(10_001), baseVersion: 1 },
      { field: "title", value: "nul\u0000", baseVersion: 1 },
      { field: "title", value: "x", baseVersion: 1, extra: true },
    ]
  ) {
    await expectError(await record(alice, json), 400, "validation_failed");
  }
  await expectError(
    await record(carol, { field: "title", value: "x", baseVersion: 1 }, "task-nope"),
    404,
    "not_found",
  );
  const ok = { field: "title", value: "Mine", baseVersion: 1 };
  for (let i = 0; i < 20; i++) await expectStatus(await record(alice, ok), 201);
  const over = await expectError(await record(alice, ok), 409, "limit_reached");
  assert.equal((over as Json).limit, "conflictsPerCard");

  // Deleting the card removes its conflicts.
  await one(server, "/tasks/task-1", { method: "DELETE", token: alice }, 200, "task_deleted");
  const snapshot = await expectStatus(
    await server.request("/boards/board-1", { token: alice }),
    200,
  );
  assert.deepEqual(snapshot.conflicts, []);
});

Deno.test("record_conflict and resolve_conflict over a socket are acked with the conflict, one event each", async () => {
  await using server = await startTestServer(NORMAL);
  const alice = await server.login(ALICE);
  await using socket = await joinedSocket(server, alice);
  socket.send({
    type: "record_conflict",
    requestId: 1,
    taskId: "task-2",
    field: "title",
    value: "Lost title",
    baseVersion: 1,
  });
  const ack = await socket.next("ack", (m) => m.requestId === 1);
  const conflict = ack.conflict as Json;
  assert.equal(conflict.value, "Lost title");
  await onlyEvent(socket, "conflict_recorded");
  socket.send({ type: "resolve_conflict", requestId: 2, conflictId: conflict.id });
  const resolved = await socket.next("ack", (m) => m.requestId === 2);
  assert.deepEqual(resolved.conflict, conflict);
  await onlyEvent(socket, "conflict_resolved");
  socket.send({ type: "record_conflict", requestId: 3, taskId: "task-2", field: "nope" });
  const error = await socket.next("error", (m) => m.requestId === 3);
  assert.equal(error.code, "validation_failed");
});
