/**
 * The SSE transport over real sockets: headers and golden bytes, named events with ids,
 * heartbeats, resume exactly once and in order (also under concurrent writes and after a long
 * absence), resync, multiplexing, cleanup, the slow-reader budget, HEAD, and streams that end
 * when their board is deleted or their member removed.
 */
import assert from "node:assert/strict";
import type { BoardEvent } from "../src/store/store.ts";
import {
  connectionCounts,
  expectError,
  expectStatus,
  openSse,
  rawGet,
  readToEnd,
  SseReader,
  startTestServer,
  type TestServer,
  waitFor,
  waitForConnections,
  type WireEvent,
} from "./helpers.ts";

const NORMAL = { demo: false, seed: true } as const;

function createTask(server: TestServer, title: string, listId = "list-todo", token?: string) {
  return server.request("/tasks", { method: "POST", json: { title, listId }, token })
    .then((response) => expectStatus(response, 201));
}

/** Reads data frames until one with id `lastId`; returns every event id seen, in order. */
async function idsThrough(reader: SseReader, lastId: number, timeoutMs = 5000): Promise<number[]> {
  const ids: number[] = [];
  while (ids.at(-1) !== lastId) {
    const frame = await reader.nextData(timeoutMs);
    if (frame.event === undefined) continue; // the connected message
    assert.equal(String(frame.json.id), frame.id, "the id line matches the event's id");
    ids.push(Number(frame.id));
    assert.ok(ids.at(-1)! <= lastId, `unexpected event ${frame.id} past ${lastId}`);
  }
  return ids;
}

async function logIds(server: TestServer, boards: string[], after: number): Promise<number[]> {
  const { events } = await server.services.store.eventsAfter(boards, after, 1_000_000);
  return events.map((e) => e.id);
}

Deno.test("the SSE response has proxy-safe headers", async () => {
  await using server = await startTestServer();
  const response = await fetch(server.url + "/boards/board-1/events");
  assert.equal(response.status, 200);
  assert.equal(response.headers.get("content-type"), "text/event-stream; charset=utf-8");
  assert.match(response.headers.get("cache-control")!, /(^|,\s*)no-cache(,|$)/);
  assert.equal(response.headers.get("x-accel-buffering"), "no");
  assert.equal(response.headers.get("content-length"), null);
  await response.body!.cancel();
});

Deno.test("a stream begins with exactly a retry hint and the connected message", async () => {
  await using server = await startTestServer({ sseRetryMs: 2500 });
  const cursor = await server.services.store.cursor();
  const stream = await openSse(server, "/boards/board-1/events");
  const connected = await stream.nextData();
  const connectionId = connected.json.connectionId as string;
  assert.match(connectionId, /^[0-9a-f-]{36}$/);
  const data = JSON.stringify({
    type: "connected",
    connectionId,
    userId: "user-guest",
    boardId: "board-1",
    boardIds: ["board-1"],
    cursor,
  });
  assert.equal(stream.raw, `retry: 2500\n\nid: ${cursor}\ndata: ${data}\n\n`);
  await stream.close();
});

Deno.test("each event arrives as id, event and data lines, byte for byte as in the log", async () => {
  await using server = await startTestServer();
  const stream = await openSse(server, "/boards/board-1/events");
  await stream.nextData();
  const before = stream.raw.length;
  const task = await createTask(server, "Golden");
  await expectStatus(
    await server.request(`/tasks/${task.id}/move`, {
      method: "PATCH",
      json: { listId: "list-done", position: 0 },
    }),
    200,
  );
  await expectStatus(await server.request(`/tasks/${task.id}`, { method: "DELETE" }), 200);
  for (const type of ["task_created", "task_moved", "task_deleted"]) {
    assert.equal((await stream.nextData()).event, type);
  }
  const { events } = await server.services.store.eventsAfter(["board-1"], 0, 100);
  const expected = events.map((e: BoardEvent) =>
    `id: ${e.id}\nevent: ${e.type}\ndata: ${JSON.stringify(e)}\n\n`
  ).join("");
  assert.equal(stream.raw.slice(before), expected);
  const [created, moved, deleted] = events as WireEvent[];
  assert.deepEqual(created.task, task);
  assert.equal(moved.fromListId, "list-todo");
  assert.deepEqual([deleted.taskId, deleted.listId], [task.id, "list-done"]);
  await stream.close();
});

Deno.test("an idle stream receives heartbeat comments at the configured interval", async () => {
  await using server = await startTestServer({ sseHeartbeatMs: 20 });
  const stream = await openSse(server, "/boards/board-1/events");
  await stream.nextData();
  for (let i = 0; i < 2; i++) {
    const frame = await stream.next(1000);
    assert.deepEqual(frame, { comments: ["heartbeat"] });
  }
  assert.match(stream.raw, /\n\n: heartbeat\n\n: heartbeat\n\n$/);
  await stream.close();
});

Deno.test("Last-Event-ID replays the events after it exactly once, then continues live", async () => {
  await using server = await startTestServer();
  const start = await server.services.store.cursor();
  for (let i = 0; i < 4; i++) await createTask(server, `Before ${i}`);
  const [first] = await logIds(server, ["board-1"], start);

  for (
    const [path, headers] of [
      ["/boards/board-1/events", { "last-event-id": String(first) }],
      [`/boards/board-1/events?lastEventId=${first}`, {}],
      // The header wins over the query parameter.
      ["/boards/board-1/events?lastEventId=0", { "last-event-id": String(first) }],
    ] as const
  ) {
    const rest = await logIds(server, ["board-1"], first);
    const stream = await openSse(server, path, headers);
    const connected = await stream.nextData();
    assert.equal(connected.json.type, "connected");
    assert.equal(connected.id, String(first), "connected carries the resume point");
    assert.deepEqual(await idsThrough(stream, rest.at(-1)!), rest, path);
    const live = await createTask(server, "Live");
    const next = await stream.nextData();
    assert.equal((next.json.task as { id: string }).id, live.id);
    await stream.close();
  }
});

Deno.test("a fresh stream that reconnects before any event resumes without a gap", async () => {
  await using server = await startTestServer();
  const stream = await openSse(server, "/boards/board-1/events");
  const connected = await stream.nextData();
  await stream.close();
  // Events happen while the client is away; it reconnects with the last id it saw, as
  // EventSource does.
  const missed = await createTask(server, "Missed");
  const again = await openSse(server, "/boards/board-1/events", { "last-event-id": connected.id! });
  await again.nextData();
  assert.equal(((await again.nextData()).json.task as { id: string }).id, missed.id);
  await again.close();
});

Deno.test("resume is exactly once and in order while many writes race the reconnect", async () => {
  await using server = await startTestServer();
  const start = await server.services.store.cursor();
  for (let i = 0; i < 30; i++) await createTask(server, `Early ${i}`);
  const resumeFrom = start + 10;

  const writes: Promise<unknown>[] = [];
  for (let i = 0; i < 60; i++) writes.push(createTask(server, `Racing ${i}`, "list-done"));
  // Reconnect at several moments while the writes are in flight.
  const streams: SseReader[] = [];
  for (let i = 0; i < 4; i++) {
    streams.push(
      await openSse(server, "/boards/board-1/events", { "last-event-id": String(resumeFrom) }),
    );
    await writes[i * 15];
  }
  await Promise.all(writes);
  const expected = await logIds(server, ["board-1"], resumeFrom);
  assert.equal(expected.length, 20 + 60);
  for (const stream of streams) {
    assert.deepEqual(await idsThrough(stream, expected.at(-1)!), expected);
    await stream.close();
  }
});

Deno.test("a client back after a long absence receives the whole backlog through a small queue", async () => {
  await using server = await startTestServer({ sseQueueBytes: 16 * 1024 });
  const start = await server.services.store.cursor();
  const description = "d".repeat(1000);
  for (let i = 0; i < 1200; i++) {
    await server.services.store.createTask("user-1", {
      listId: "list-todo",
      title: `Backlog ${i}`,
      description,
    });
  }
  const expected = await logIds(server, ["board-1"], start);
  const stream = await openSse(server, "/boards/board-1/events", {
    "last-event-id": String(start),
  });
  // Live writes during the replay are delivered after it, in order.
  const live = Promise.all([1, 2, 3].map((i) => createTask(server, `During ${i}`)));
  await live;
  const all = await logIds(server, ["board-1"], start);
  assert.equal(all.length, expected.length + 3);
  assert.deepEqual(await idsThrough(stream, all.at(-1)!, 10_000), all);
  assert.equal((await connectionCounts(server)).total, 1, "still connected");
  await stream.close();
});

Deno.test("an id older than the retained log gets a resync with the current cursor", async () => {
  await using server = await startTestServer({ eventRetentionCount: 5 });
  const start = await server.services.store.cursor();
  for (let i = 0; i < 10; i++) await createTask(server, `Old ${i}`);
  const pruned = await server.services.store.prune({ maxCount: 5, maxAgeMs: 3600_000 });
  assert.equal(pruned, 5);
  const cursor = await server.services.store.cursor();
  const oldest = cursor - 5; // everything up to here is gone

  const stale = await openSse(server, "/boards/board-1/events", {
    "last-event-id": String(start + 1),
  });
  await stale.nextData();
  const resync = await stale.nextData();
  assert.equal(resync.event, "resync");
  assert.equal(resync.id, String(cursor));
  assert.deepEqual(resync.json, { type: "resync", cursor });
  assert.ok(
    stale.raw.endsWith(
      `id: ${cursor}\nevent: resync\ndata: {"type":"resync","cursor":${cursor}}\n\n`,
    ),
  );
  // Live events follow the resync.
  const live = await createTask(server, "After resync");
  assert.equal(((await stale.nextData()).json.task as { id: string }).id, live.id);
  await stale.close();

  // The newest pruned id is still a valid resume point: nothing after it is missing.
  const edge = await openSse(server, "/boards/board-1/events", { "last-event-id": String(oldest) });
  const expected = await logIds(server, ["board-1"], oldest);
  assert.equal(expected.length, 6);
  assert.deepEqual(await idsThrough(edge, expected.at(-1)!), expected);
  await edge.close();
});

Deno.test("an id from the future gets a resync", async () => {
  await using server = await startTestServer();
  const cursor = await server.services.store.cursor();
  for (
    const path of [
      "/boards/board-1/events?lastEventId=999999",
      "/events?boards=board-1&lastEventId=999999",
    ]
  ) {
    const stream = await openSse(server, path);
    const connected = await stream.nextData();
    assert.equal(connected.id, String(cursor), "ids never go above the cursor, nor backwards");
    const resync = await stream.nextData();
    assert.equal(resync.event, "resync");
    assert.deepEqual(resync.json, { type: "resync", cursor });
    await stream.close();
  }
});

Deno.test("a bad Last-Event-ID is 400 and opens nothing", async () => {
  await using server = await startTestServer();
  for (const value of ["abc", "-1", "1.5", "9".repeat(20)]) {
    await expectError(
      await server.request("/boards/board-1/events", { headers: { "last-event-id": value } }),
      400,
      "invalid_cursor",
    );
  }
  assert.equal(server.services.registry.size, 0);
});

Deno.test("one /events stream multiplexes several boards with global ids", async () => {
  await using server = await startTestServer(NORMAL);
  const carol = await server.login("carol@example.com");
  const auth = { authorization: `Bearer ${carol}` };
  const start = await server.services.store.cursor();
  const stream = await openSse(server, "/events?boards=board-1,board-2", auth);
  const connected = await stream.nextData();
  assert.deepEqual(connected.json.boardIds, ["board-1", "board-2"]);
  assert.equal(connected.json.boardId, undefined);

  const created = [];
  for (const listId of ["list-todo", "list-b2-ideas", "list-done", "list-b2-doing"]) {
    created.push(await createTask(server, `In ${listId}`, listId, carol));
  }
  const seen = [];
  for (let i = 0; i < 4; i++) seen.push(await stream.nextData());
  assert.deepEqual(seen.map((f) => f.json.boardId), ["board-1", "board-2", "board-1", "board-2"]);
  const ids = seen.map((f) => Number(f.id));
  assert.deepEqual(ids, [start + 1, start + 2, start + 3, start + 4]);
  await stream.close();

  // Resuming the multiplexed stream replays both boards in global order.
  const again = await openSse(server, "/events?boards=board-2,board-1", {
    ...auth,
    "last-event-id": String(start + 1),
  });
  assert.deepEqual(await idsThrough(again, start + 4), [start + 2, start + 3, start + 4]);
  await again.close();

  await expectError(
    await server.request("/events?boards=board-1,board-1,board-2,board-3", { token: carol }),
    404,
    "not_found",
  );
  assert.equal(server.services.registry.size, 0);
});

Deno.test("/events refuses more boards than SSE_MAX_BOARDS and an empty list", async () => {
  await using server = await startTestServer({ sseMaxBoards: 2 });
  await expectError(await server.request("/events?boards=a,b,c"), 400, "invalid_boards");
  await expectError(await server.request("/events"), 400, "invalid_boards");
  await expectError(await server.request("/events?boards=board-1,no%20way"), 400, "invalid_boards");
});

Deno.test("a user past SSE_MAX_STREAMS_PER_USER gets 429 and a closed stream makes room", async () => {
  await using server = await startTestServer({ sseMaxStreamsPerUser: 2 });
  const first = await openSse(server, "/boards/board-1/events");
  const second = await openSse(server, "/events?boards=board-1");
  await first.nextData();
  await second.nextData();
  // On both routes, and before any stream is made (nothing is counted for the refused ones).
  await expectError(await server.request("/boards/board-1/events"), 429, "too_many_streams");
  await expectError(await server.request("/events?boards=board-1"), 429, "too_many_streams");
  assert.equal((await connectionCounts(server)).byTransport.sse, 2);
  await first.close();
  await waitForConnections(server, 1);
  const third = await openSse(server, "/boards/board-1/events");
  await third.nextData();
  await second.close();
  await third.close();
});

Deno.test("closing streams frees their connections and bus subscriptions at once", async () => {
  await using server = await startTestServer();
  const streams = [];
  for (let i = 0; i < 3; i++) {
    const stream = await openSse(server, "/boards/board-1/events");
    await stream.nextData();
    streams.push(stream);
  }
  const counts = await connectionCounts(server);
  assert.equal(counts.total, 3);
  assert.equal(counts.byTransport.sse, 3);
  assert.deepEqual(counts.byBoard["board-1"], { sse: 3 });
  assert.equal(counts.busSubscribers, 3);

  await streams[0].close();
  await waitForConnections(server, 2);
  for (const stream of streams.slice(1)) await stream.close();
  await waitForConnections(server, 0);
  assert.equal(server.services.bus.subscriberCount(), 0);
  // A write after everyone left reaches nobody and breaks nothing.
  await createTask(server, "Into the void");
});

Deno.test("a client that stops reading is dropped once its queue passes the budget", async () => {
  await using server = await startTestServer({ sseQueueBytes: 64 * 1024 });
  const conn = await rawGet(server, "/boards/board-1/events");
  try {
    await waitForConnections(server, 1);
    const big = "x".repeat(1024 * 1024);
    const pushed = 24;
    for (let i = 0; i < pushed; i++) {
      await server.services.store.createTask("user-1", {
        listId: "list-todo",
        title: `Big ${i}`,
        description: big,
      });
    }
    const counts = await connectionCounts(server);
    assert.equal(counts.total, 0, "the slow client was disconnected");
    assert.equal(counts.busSubscribers, 0);
    // What the server kept for it is bounded: the client can read far less than was pushed.
    const received = await readToEnd(conn);
    assert.ok(received < (pushed / 2) * big.length, `received ${received} bytes`);
  } finally {
    conn.close();
  }
  // The server is fine: a new stream works.
  const stream = await openSse(server, "/boards/board-1/events");
  assert.equal((await stream.nextData()).json.type, "connected");
  await stream.close();
});

Deno.test("a client that stops reading during its catch-up is dropped once live events pile up", async () => {
  await using server = await startTestServer({ sseQueueBytes: 64 * 1024 });
  const start = await server.services.store.cursor();
  const big = "x".repeat(1024 * 1024);
  const backlog = 16;
  for (let i = 0; i < backlog; i++) {
    await server.services.store.createTask("user-1", {
      listId: "list-todo",
      title: "Old",
      description: big,
    });
  }
  const conn = await rawGet(server, "/boards/board-1/events", { "last-event-id": String(start) });
  try {
    await waitForConnections(server, 1);
    // The replay waits for the reader; live events meanwhile are buffered, up to the budget.
    for (let i = 0; i < 8; i++) {
      await server.services.store.createTask("user-1", {
        listId: "list-done",
        title: "New",
        description: "y".repeat(16 * 1024),
      });
    }
    await waitForConnections(server, 0);
    const received = await readToEnd(conn);
    assert.ok(received < backlog * big.length, `received ${received} bytes`);
  } finally {
    conn.close();
  }
});

Deno.test("HEAD on an SSE route answers the headers and opens no stream", async () => {
  await using server = await startTestServer();
  for (const path of ["/boards/board-1/events", "/events?boards=board-1"]) {
    const response = await fetch(server.url + path, { method: "HEAD" });
    assert.equal(response.status, 200);
    assert.equal(response.headers.get("content-type"), "text/event-stream; charset=utf-8");
    assert.equal(response.headers.get("x-accel-buffering"), "no");
    assert.equal(response.body, null);
  }
  const conn = await rawGet(server, "/boards/board-1/events", {}, "HEAD");
  try {
    const text = new TextDecoder().decode(await readHead(conn));
    assert.match(text, /^HTTP\/1\.1 200/);
  } finally {
    conn.close();
  }
  const counts = await connectionCounts(server);
  assert.equal(counts.total, 0);
  assert.equal(counts.busSubscribers, 0);
});

async function readHead(conn: Deno.Conn): Promise<Uint8Array> {
  const buffer = new Uint8Array(4096);
  const n = await conn.read(buffer);
  return buffer.subarray(0, n ?? 0);
}

Deno.test("deleting a board ends its streams with board_deleted and no reconnect", async () => {
  await using server = await startTestServer(NORMAL);
  const carol = await server.login("carol@example.com");
  const auth = { authorization: `Bearer ${carol}` };
  const single = await openSse(server, "/boards/board-2/events", auth);
  const multi = await openSse(server, "/events?boards=board-1,board-2", auth);
  await single.nextData();
  await multi.nextData();

  await expectStatus(
    await server.request("/boards/board-2", { method: "DELETE", token: carol }),
    200,
  );
  assert.equal((await single.nextData()).event, "board_deleted");
  const goodbye = await single.nextData();
  assert.equal(goodbye.event, "disconnect");
  assert.deepEqual(goodbye.json, { type: "disconnect", reason: "board_deleted", reconnect: false });
  assert.equal(await single.next(), null);

  // The multiplexed stream loses that board but keeps the others.
  assert.equal((await multi.nextData()).event, "board_deleted");
  assert.equal(server.services.registry.size, 1);
  assert.equal(server.services.bus.subscriberCount("board-2"), 0);
  await createTask(server, "Board 1 lives", "list-todo", carol);
  assert.equal((await multi.nextData()).event, "task_created");
  await multi.close();
});

Deno.test("removing a member ends that member's stream, not the others'", async () => {
  await using server = await startTestServer(NORMAL);
  const alice = await server.login("alice@example.com");
  const bob = await server.login("bob@example.com");
  const bobs = await openSse(server, "/boards/board-1/events", { authorization: `Bearer ${bob}` });
  const alices = await openSse(server, "/boards/board-1/events", {
    authorization: `Bearer ${alice}`,
  });
  await bobs.nextData();
  await alices.nextData();

  await expectStatus(
    await server.request("/boards/board-1/members/user-2", { method: "DELETE", token: alice }),
    200,
  );
  const removed = await bobs.nextData();
  assert.equal(removed.event, "member_removed");
  const goodbye = await bobs.nextData();
  assert.deepEqual(goodbye.json, { type: "disconnect", reason: "forbidden", reconnect: false });
  assert.equal(await bobs.next(), null);

  assert.equal((await alices.nextData()).event, "member_removed");
  await createTask(server, "Alice carries on", "list-todo", alice);
  assert.equal((await alices.nextData()).event, "task_created");
  await alices.close();
  await waitFor(() => server.services.registry.size === 0);
});

Deno.test("a re-added member resuming from before the removal gets resync, and the stream lives on", async () => {
  await using server = await startTestServer(NORMAL);
  const alice = await server.login("alice@example.com");
  const bob = await server.login("bob@example.com");
  const start = await server.services.store.cursor();
  await expectStatus(
    await server.request("/boards/board-1/members/user-2", { method: "DELETE", token: alice }),
    200,
  );
  await expectStatus(
    await server.request("/boards/board-1/members", {
      method: "POST",
      json: { email: "bob@example.com" },
      token: alice,
    }),
    201,
  );
  const stream = await openSse(server, "/boards/board-1/events", {
    authorization: `Bearer ${bob}`,
    "last-event-id": String(start),
  });
  await stream.nextData();
  // What happened while he was away is not his to replay (Store.replayFloor): a snapshot is.
  assert.equal((await stream.nextData()).event, "resync");
  await createTask(server, "Bob is back", "list-todo", alice);
  assert.equal((await stream.nextData()).event, "task_created");
  // A removal now ends it.
  await expectStatus(
    await server.request("/boards/board-1/members/user-2", { method: "DELETE", token: alice }),
    200,
  );
  assert.equal((await stream.nextData()).event, "member_removed");
  assert.equal((await stream.nextData()).json.reason, "forbidden");
  assert.equal(await stream.next(), null);
});

Deno.test("with SSE switched off the route answers 503", async () => {
  await using server = await startTestServer({ transports: ["websocket", "longpoll", "poll"] });
  await expectError(await server.request("/boards/board-1/events"), 503, "transport_disabled");
  assert.equal(server.services.registry.size, 0);
});

Deno.test("a multiplexed stream delivers nothing more of a board its user was removed from, even mid catch-up", async () => {
  await using server = await startTestServer({ sseQueueBytes: 2000 });
  const { store, sse } = server.services;
  await store.addMember("user-3", "board-2", "user-2"); // Bob joins Carol's board
  const from = await store.cursor();
  for (let i = 0; i < 40; i++) {
    await store.createTask("user-1", { listId: "list-todo", title: `backlog ${i}` });
  }
  const bob = { user: (await store.getUser("user-2"))!, sessionHash: null, isAdmin: false };
  // In-process, so nothing reads the stream yet: the catch-up waits for the reader.
  const response = sse.open(bob, ["board-1", "board-2"], from);
  await waitFor(() => connectionCounts(server).then((c) => c.byTransport.sse === 1));
  await store.removeMember("user-3", "board-2", "user-2");
  await store.createTask("user-3", { listId: "list-b2-ideas", title: "SECRET after the removal" });
  await store.createTask("user-1", { listId: "list-todo", title: "still on board-1" });
  const reader = new SseReader(response);
  const seen: string[] = [];
  while (true) {
    const frame = await reader.nextData();
    seen.push(frame.data!);
    if (frame.data!.includes("still on board-1")) break;
  }
  await reader.close();
  assert.ok(seen.some((data) => data.includes('"member_removed"')));
  assert.ok(!seen.some((data) => data.includes("SECRET")), "no event of board-2 after the removal");
});
