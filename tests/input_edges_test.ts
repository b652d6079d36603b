/**
 * Inputs at the edges the fuzz suite (tests/fuzz_test.ts) found refused differently by the two
 * stores or the two doors; each is pinned here on both stores (`deno task test:postgres`).
 */
import assert from "node:assert/strict";
import { expectError, expectStatus, startTestServer, withEvents } from "./helpers.ts";
import { WsClient } from "./ws_helpers.ts";

Deno.test("a short poll's since time outside the database's range answers, as all tasks or none", async () => {
  await using server = await startTestServer();
  const all = await expectStatus(await server.request("/boards/board-1/updates"), 200);
  for (const since of ["0000-01-01", "0001-01-01T00:00:00%2B01:00"]) {
    const answer = await expectStatus(
      await server.request(`/boards/board-1/updates?since=${since}`),
      200,
    );
    assert.equal(answer.tasks.length, all.tasks.length, since);
  }
  const later = await expectStatus(
    await server.request("/boards/board-1/updates?since=9999-12-31T23:59:59-23:59"),
    200,
  );
  assert.deepEqual(later.tasks, []);
});

Deno.test("a version past 32 bits is a 400 naming the field, on both doors, and writes nothing", async () => {
  await using server = await startTestServer();
  const { events } = await withEvents(server, async () => {
    await expectError(
      await server.request("/tasks/task-1", {
        method: "PATCH",
        json: { title: "x", version: 2_147_483_648 },
      }),
      400,
      "validation_failed",
    );
    const ws = await WsClient.open(server);
    ws.send({
      type: "move_task",
      requestId: 1,
      taskId: "task-1",
      listId: "list-done",
      position: 0,
      version: 2 ** 40,
    });
    const error = await ws.next("error", (m) => m.requestId === 1);
    assert.equal(error.code, "validation_failed");
    await ws.close();
  });
  assert.deepEqual(events, []);
});

Deno.test("a socket mutation with a __proto__ field is refused like the same REST body", async () => {
  await using server = await startTestServer();
  const { events } = await withEvents(server, async () => {
    await expectError(
      await server.request("/tasks/task-1", {
        method: "PATCH",
        body: '{"title":"x","__proto__":{}}',
        headers: { "content-type": "application/json" },
      }),
      400,
      "validation_failed",
    );
    const ws = await WsClient.open(server);
    ws.send(
      '{"type":"update_task","requestId":10,"taskId":"task-1","title":"x","__proto__":{}}',
    );
    const error = await ws.next(
      "error",
      (m) => m.requestId === 10 || m.code === "validation_failed",
    );
    assert.equal(error.code, "validation_failed");
    assert.match(error.message, /__proto__/);
    await ws.close();
  });
  assert.deepEqual(events, []);
});
