/**
 * One event larger than a client's whole send budget — a deleted list carries its cards — reaches
 * a client that keeps up, live, without dropping it as slow (which would only make it resume into
 * the same event, again and again). What waits besides such an event is still judged.
 */
import assert from "node:assert/strict";
import { expectStatus, openSse, startTestServer } from "./helpers.ts";

Deno.test("a deleted list's event larger than the SSE queue reaches a reading client live", async () => {
  const queue = 16 * 1024;
  await using server = await startTestServer({ sseQueueBytes: queue });
  const list = await expectStatus(
    await server.request("/boards/board-1/lists", { method: "POST", json: { title: "Big" } }),
    201,
  );
  for (let i = 0; i < 12; i++) {
    await expectStatus(
      await server.request("/tasks", {
        method: "POST",
        json: { listId: list.id, title: `Card ${i}`, description: "x".repeat(5000) },
      }),
      201,
    );
  }
  const stream = await openSse(server, "/boards/board-1/events");
  try {
    await expectStatus(await server.request(`/lists/${list.id}`, { method: "DELETE" }), 200);
    while (true) {
      const frame = await stream.nextData(5000);
      assert.notEqual(frame.event, "disconnect", "not dropped as slow");
      if (frame.json.type !== "list_deleted") continue;
      assert.ok(
        frame.data!.length > queue * 3,
        `the event is larger than the queue (${frame.data!.length})`,
      );
      assert.equal((frame.json.tasks as unknown[]).length, 12);
      break;
    }
  } finally {
    await stream.close();
  }
});
