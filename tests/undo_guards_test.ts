/**
 * Guards found in review of the history work (issue 11): a revert names its seq as a number
 * (400 otherwise); undoing a deletion brings back only the deletion that event made, not a later
 * one of the same card; a member added later does not see what was deleted before they joined.
 * Runs on both stores.
 */
import assert from "node:assert/strict";
import { expectError, expectStatus, startTestServer } from "./helpers.ts";
import { ALICE, BOB, getTask, NORMAL, one, refused, revertPath } from "./history_helpers.ts";

Deno.test("a revert whose seq is not a whole number is 400 validation_failed", async () => {
  await using server = await startTestServer(NORMAL);
  const alice = await server.login(ALICE);
  for (const seq of ["abc", "-1", "1.5", "9".repeat(16)]) {
    await expectError(
      await server.request(`/boards/board-1/events/${seq}/revert`, {
        method: "POST",
        token: alice,
      }),
      400,
      "validation_failed",
    );
  }
});

Deno.test("undoing a deletion after the card was restored, edited and deleted again is 409 version_conflict", async () => {
  await using server = await startTestServer(NORMAL);
  const alice = await server.login(ALICE);
  const { event: first } = await one(
    server,
    "/tasks/task-1",
    { method: "DELETE", token: alice },
    200,
    "task_deleted",
  );
  await one(
    server,
    "/tasks/task-1/restore",
    { method: "POST", token: alice },
    200,
    "task_restored",
  );
  const restored = await getTask(server, alice, "task-1");
  await one(
    server,
    "/tasks/task-1",
    { method: "PATCH", token: alice, json: { title: "Edited since", version: restored.version } },
    200,
    "task_updated",
  );
  await one(server, "/tasks/task-1", { method: "DELETE", token: alice }, 200, "task_deleted");
  const refusal = await refused(
    server,
    revertPath("board-1", first.id),
    { method: "POST", token: alice },
    409,
    "version_conflict",
  );
  assert.equal((refusal.task as { title: string }).title, "Edited since");
});

Deno.test("a member added later does not see in the trash what was deleted before they joined", async () => {
  await using server = await startTestServer(NORMAL);
  const carol = await server.login("carol@example.com"); // owner of board-2
  const bob = await server.login(BOB);
  const snapshot = await expectStatus(
    await server.request("/boards/board-2", { token: carol }),
    200,
  );
  const [card] = snapshot.tasks;
  await one(server, `/tasks/${card.id}`, { method: "DELETE", token: carol }, 200, "task_deleted");
  await new Promise((resolve) => setTimeout(resolve, 5)); // A later millisecond.
  await one(
    server,
    "/boards/board-2/members",
    { method: "POST", token: carol, json: { email: BOB } },
    201,
    "member_added",
  );
  const seenByBob = await expectStatus(
    await server.request("/boards/board-2/trash", { token: bob }),
    200,
  );
  assert.deepEqual(seenByBob.items, []);
  const seenByCarol = await expectStatus(
    await server.request("/boards/board-2/trash", { token: carol }),
    200,
  );
  assert.deepEqual(seenByCarol.items.map((i: { id: string }) => i.id), [card.id]);
});
