/**
 * Board membership on every door: `board-2` belongs to Carol alone, so Bob (a member of board-1
 * only) can neither read, stream, poll nor change it — and learns nothing, not even that it
 * exists — while another board's events never leak into his streams and polls. A member added
 * later replays only from their own addition (older cursors get resync).
 */
import assert from "node:assert/strict";
import {
  expectError,
  expectStatus,
  openSse,
  startTestServer,
  type TestServer,
  withEvents,
} from "./helpers.ts";
import { WsClient } from "./ws_helpers.ts";

const NORMAL = { demo: false, seed: true } as const;

async function assertHidden(server: TestServer, token: string) {
  const doors: [string, string, unknown?][] = [
    ["GET", "/boards/board-2"],
    ["GET", "/boards/board-2/tasks"],
    ["GET", "/boards/board-2/members"],
    ["GET", "/tasks/task-5"],
    ["GET", "/boards/board-2/events"],
    ["GET", "/boards/board-2/events?lastEventId=0"],
    ["GET", "/events?boards=board-2"],
    ["GET", "/events?boards=board-1,board-2"],
    ["GET", "/boards/board-2/updates"],
    ["GET", "/boards/board-2/updates?since=0"],
    ["GET", "/boards/board-2/updates?since=2020-01-01T00:00:00Z"],
    ["GET", "/boards/board-2/poll"],
    ["GET", "/boards/board-2/poll?cursor=0"],
    ["PATCH", "/boards/board-2", { title: "Mine" }],
    ["DELETE", "/boards/board-2"],
    ["POST", "/boards/board-2/members", { email: "bob@example.com" }],
    ["DELETE", "/boards/board-2/members/user-3"],
    ["POST", "/boards/board-2/lists", { title: "Sneaky" }],
    ["PATCH", "/lists/list-b2-ideas", { title: "Sneaky" }],
    ["DELETE", "/lists/list-b2-doing"],
    ["POST", "/tasks", { title: "Sneaky", listId: "list-b2-ideas" }],
    ["PATCH", "/tasks/task-5", { title: "Sneaky" }],
    ["PATCH", "/tasks/task-5/move", { listId: "list-b2-doing", position: 0 }],
    ["DELETE", "/tasks/task-5"],
  ];
  const { events } = await withEvents(server, async () => {
    for (const [method, path, json] of doors) {
      const error = await expectError(
        await server.request(path, { method, json, token }),
        404,
        "not_found",
      );
      assert.doesNotMatch(error.error.message, /Carol|Roadmap|Quarterly/, path);
    }
    const head = await server.request("/boards/board-2/events", { method: "HEAD", token });
    assert.equal(head.status, 404);
  });
  assert.deepEqual(events, [], "nothing was written");
  assert.equal(server.services.registry.size, 0, "no stream or poll was opened");
  assert.equal(server.services.bus.subscriberCount(), 0);
  const task = await server.services.store.getTask("task-5");
  assert.deepEqual([task?.title, task?.listId], ["Quarterly planning", "list-b2-ideas"]);
}

Deno.test("a non-member cannot read, stream, poll or change another board", async () => {
  await using server = await startTestServer(NORMAL);
  const bob = await server.login("bob@example.com");
  await assertHidden(server, bob);
  const boards = await expectStatus(await server.request("/boards", { token: bob }), 200);
  assert.deepEqual(boards.map((b: { id: string }) => b.id), ["board-1"]);
});

Deno.test("the demo guest is a member of board-1 only", async () => {
  await using server = await startTestServer();
  const boards = await expectStatus(await server.request("/boards"), 200);
  assert.deepEqual(boards.map((b: { id: string }) => b.id), ["board-1"]);
  const doors = [
    "/boards/board-2",
    "/boards/board-2/events",
    "/boards/board-2/updates?since=0",
    "/boards/board-2/poll?cursor=0",
  ];
  for (const path of doors) {
    await expectError(await server.request(path), 404, "not_found");
  }
  assert.equal(server.services.registry.size, 0);
});

Deno.test("another board's events never reach a member's stream or polls", async () => {
  await using server = await startTestServer(NORMAL);
  const bob = await server.login("bob@example.com");
  const carol = await server.login("carol@example.com");
  const start = await server.services.store.cursor();
  const stream = await openSse(server, "/boards/board-1/events", {
    authorization: `Bearer ${bob}`,
  });
  await stream.nextData();

  await expectStatus(
    await server.request("/tasks", {
      method: "POST",
      json: { title: "Secret plan", listId: "list-b2-ideas" },
      token: carol,
    }),
    201,
  );
  const visible = await expectStatus(
    await server.request("/tasks", {
      method: "POST",
      json: { title: "Public", listId: "list-todo" },
      token: carol,
    }),
    201,
  );
  const next = await stream.nextData();
  assert.equal(next.event, "task_created");
  assert.equal((next.json.task as { id: string }).id, visible.id);
  assert.doesNotMatch(stream.raw, /Secret plan/);
  await stream.close();

  const short = await expectStatus(
    await server.request(`/boards/board-1/updates?since=${start}`, { token: bob }),
    200,
  );
  assert.deepEqual(short.data.map((e: { boardId: string }) => e.boardId), ["board-1"]);
  const long = await expectStatus(
    await server.request(`/boards/board-1/poll?cursor=${start}`, { token: bob }),
    200,
  );
  assert.deepEqual(long.data.map((e: { boardId: string }) => e.boardId), ["board-1"]);
});

Deno.test("a member who is removed loses every door to the board at once", async () => {
  await using server = await startTestServer(NORMAL);
  const bob = await server.login("bob@example.com");
  const carol = await server.login("carol@example.com");
  await expectStatus(
    await server.request("/boards/board-2/members", {
      method: "POST",
      json: { email: "bob@example.com" },
      token: carol,
    }),
    201,
  );
  await expectStatus(await server.request("/boards/board-2", { token: bob }), 200);
  await expectStatus(
    await server.request("/boards/board-2/members/user-2", { method: "DELETE", token: carol }),
    200,
  );
  await assertHidden(server, bob);
});

Deno.test("the shared demo guest cannot leave or be removed, so no visitor locks out the others", async () => {
  await using server = await startTestServer();
  await expectError(
    await server.request("/boards/board-1/members/user-guest", { method: "DELETE" }),
    403,
    "forbidden",
  );
  const alice = await server.login("alice@example.com");
  await expectError(
    await server.request("/boards/board-1/members/user-guest", { method: "DELETE", token: alice }),
    403,
    "forbidden",
  );
  assert.equal((await server.request("/boards/board-1/tasks").then((r) => r.json())).length, 4);
});

Deno.test("a new member cannot replay what happened before they joined: every door answers resync", async () => {
  await using server = await startTestServer(NORMAL);
  const carol = await server.login("carol@example.com");
  const bob = await server.login("bob@example.com");
  // On Carol's board, before Bob joins: a card is made and deleted — its text stays in the log.
  const secret = await expectStatus(
    await server.request("/tasks", {
      method: "POST",
      json: { listId: "list-b2-ideas", title: "Salary of everyone" },
      token: carol,
    }),
    201,
  );
  await expectStatus(
    await server.request(`/tasks/${secret.id}`, { method: "DELETE", token: carol }),
    200,
  );
  const { events: [added] } = await withEvents(server, async () => {
    await expectStatus(
      await server.request("/boards/board-2/members", {
        method: "POST",
        json: { email: "bob@example.com" },
        token: carol,
      }),
      201,
    );
  });
  const auth = { authorization: `Bearer ${bob}` };
  // SSE from the start of the log: resync, and nothing from before.
  const sse = await openSse(server, "/boards/board-2/events?lastEventId=0", auth);
  const connected = await sse.nextData();
  assert.equal(connected.json.type, "connected");
  const first = await sse.nextData();
  assert.equal(first.event, "resync", "the first thing after connecting, before any old event");
  await sse.close();
  // A WebSocket join from 0: resync, no old event.
  const ws = await WsClient.open(server, { token: bob });
  ws.send({ type: "join", boardId: "board-2", cursor: 0 });
  await ws.next("resync");
  assert.deepEqual(ws.received.filter((m) => String(m.type).startsWith("task_")), []);
  await ws.close();
  // Long poll and short poll from 0: resync.
  const long = await expectStatus(
    await server.request("/boards/board-2/poll?cursor=0", { token: bob }),
    200,
  );
  assert.equal(long.resync, true);
  assert.deepEqual(long.data, []);
  const short = await expectStatus(
    await server.request("/boards/board-2/updates?since=0", { token: bob }),
    200,
  );
  assert.equal(short.resync, true);
  // From just before his own member_added, everything is his to see, from that event on.
  const since = added.id - 1;
  const replay = await expectStatus(
    await server.request(`/boards/board-2/updates?since=${since}`, { token: bob }),
    200,
  );
  assert.equal(replay.resync, undefined);
  assert.deepEqual(replay.data.map((e: { type: string }) => e.type), ["member_added"]);
  // Carol, who was there, still replays from 0.
  const hers = await expectStatus(
    await server.request("/boards/board-2/updates?since=0", { token: carol }),
    200,
  );
  assert.equal(hers.resync, undefined);
  assert.ok(hers.data.some((e: { type: string }) => e.type === "task_deleted"));
});
