/**
 * Graceful shutdown: open SSE streams get a `disconnect` event with a retry hint and end, parked
 * long polls are answered, new connections are refused and the database is closed — well within
 * the deadline, and even a client that never reads cannot hold shutdown past it.
 */
import assert from "node:assert/strict";
import { CLOSE_REASONS } from "../src/realtime/close_reasons.ts";
import { ConnectionRegistry } from "../src/realtime/connections.ts";
import { openSse, rawGet, readToEnd, startTestServer, waitForConnections } from "./helpers.ts";

Deno.test("shutdown ends open streams with a retry hint and answers parked polls", async () => {
  await using server = await startTestServer({ shutdownTimeoutMs: 20_000, sseRetryMs: 1234 });
  const streams = [
    await openSse(server, "/boards/board-1/events"),
    await openSse(server, "/events?boards=board-1"),
  ];
  for (const stream of streams) await stream.nextData();
  const cursor = await server.services.store.cursor();
  const polls = [
    server.request(`/boards/board-1/poll?cursor=${cursor}`),
    server.request("/boards/board-1/poll"),
  ];
  await waitForConnections(server, 4);

  const started = Date.now();
  await server.shutdown();
  const elapsed = Date.now() - started;
  // Finished by itself, not by running into the 20 s deadline.
  assert.ok(elapsed < 10_000, `shutdown took ${elapsed} ms`);

  const data = JSON.stringify({ type: "disconnect", reason: "shutdown", reconnect: true });
  for (const stream of streams) {
    const mark = stream.raw.length;
    const goodbye = await stream.nextData();
    assert.equal(goodbye.event, "disconnect");
    assert.equal(goodbye.retry, 1234);
    assert.equal(stream.raw.slice(mark), `retry: 1234\nevent: disconnect\ndata: ${data}\n\n`);
    assert.equal(await stream.next(), null, "the stream ends");
  }
  for (const poll of polls) {
    const response = await poll;
    assert.equal(response.status, 200);
    assert.equal(await response.text(), `{"data":[],"timeout":true,"cursor":${cursor}}`);
  }
  await assert.rejects(fetch(server.url + "/healthz"), TypeError, "no longer accepting");
  await assert.rejects(async () => await server.services.store.cursor(), "the database is closed");
});

Deno.test("a client that never reads cannot hold shutdown past its deadline", async () => {
  await using server = await startTestServer({ shutdownTimeoutMs: 300, sseQueueBytes: 64 << 20 });
  const conn = await rawGet(server, "/boards/board-1/events");
  try {
    await waitForConnections(server, 1);
    // Fill the socket buffers so the goodbye cannot be delivered.
    const big = "x".repeat(512 * 1024);
    for (let i = 0; i < 24; i++) {
      await server.services.store.createTask("user-1", {
        listId: "list-todo",
        title: "Big",
        description: big,
      });
    }
    assert.equal(server.services.registry.size, 1, "the stuck client is still connected");
    const started = Date.now();
    await server.shutdown();
    assert.ok(Date.now() - started < 5_000, "shutdown finished after its deadline");
    assert.equal(server.services.registry.size, 0);
    await readToEnd(conn);
  } finally {
    conn.close();
  }
});

Deno.test("a connection that registers after shutdown began is closed for shutdown too", async () => {
  const registry = new ConnectionRegistry();
  registry.stop(CLOSE_REASONS.shutdown);
  const closedFor: string[] = [];
  registry.add({
    id: "late",
    transport: "sse",
    userId: "user-1",
    sessionHash: null,
    boardIds: () => ["board-1"],
    close: (reason) => closedFor.push(reason.name),
  });
  assert.equal(registry.size, 0, "never counted as live");
  await Promise.resolve();
  assert.deepEqual(closedFor, ["shutdown"]);
});
