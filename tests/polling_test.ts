/**
 * The polling fallbacks: short polling (`/updates?since=`) by cursor (deletions included), without
 * `since`, and by ISO time compared as time; long polling (`/poll?cursor=`) answering at once,
 * holding until an event, timing out, freeing its waiter when the client leaves, the per-user
 * cap, and resync for a cursor it cannot resume from.
 */
import assert from "node:assert/strict";
import {
  connectionCounts,
  expectError,
  expectStatus,
  startTestServer,
  type TestServer,
  waitFor,
  waitForConnections,
} from "./helpers.ts";
import { LongPolling } from "../src/realtime/polling.ts";

const ISO_MS = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/;

function createTask(server: TestServer, title: string, token?: string) {
  return server.request("/tasks", { method: "POST", json: { title, listId: "list-todo" }, token })
    .then((response) => expectStatus(response, 201));
}

const updates = async (server: TestServer, query: string) =>
  expectStatus(await server.request(`/boards/board-1/updates${query}`), 200);

Deno.test("short polling with since=<cursor> returns the events after it, deletions included", async () => {
  await using server = await startTestServer();
  const start = await server.services.store.cursor();
  const task = await createTask(server, "Polled");
  await expectStatus(
    await server.request(`/tasks/${task.id}`, { method: "PATCH", json: { title: "Polled!" } }),
    200,
  );
  await expectStatus(
    await server.request(`/tasks/${task.id}/move`, {
      method: "PATCH",
      json: { listId: "list-done", position: 0 },
    }),
    200,
  );
  await expectStatus(await server.request(`/tasks/${task.id}`, { method: "DELETE" }), 200);

  const answer = await updates(server, `?since=${start}`);
  assert.deepEqual(Object.keys(answer).sort(), ["cursor", "data", "timestamp"]);
  assert.deepEqual(answer.data.map((e: { type: string }) => e.type), [
    "task_created",
    "task_updated",
    "task_moved",
    "task_deleted",
  ]);
  assert.deepEqual(
    answer.data,
    (await server.services.store.eventsAfter(["board-1"], start, 100)).events,
  );
  const deleted = answer.data[3];
  assert.deepEqual([deleted.taskId, deleted.listId], [task.id, "list-done"]);
  assert.equal(answer.cursor, await server.services.store.cursor());
  assert.match(answer.timestamp, ISO_MS);

  // Polling again from the new cursor: nothing new.
  const again = await updates(server, `?since=${answer.cursor}`);
  assert.deepEqual([again.data, again.cursor], [[], answer.cursor]);
  // Only the events after the cursor given.
  const tail = await updates(server, `?since=${start + 2}`);
  assert.deepEqual(tail.data.map((e: { id: number }) => e.id), [start + 3, start + 4]);
});

Deno.test("short polling without since returns the board's tasks and the cursor", async () => {
  await using server = await startTestServer();
  await createTask(server, "Fifth");
  const answer = await updates(server, "");
  assert.deepEqual(Object.keys(answer).sort(), ["cursor", "tasks", "timestamp"]);
  assert.deepEqual(
    answer.tasks,
    await expectStatus(await server.request("/boards/board-1/tasks"), 200),
  );
  assert.equal(answer.tasks.length, 5);
  assert.equal(answer.cursor, await server.services.store.cursor());
  // An empty since is the same as none.
  const empty = await updates(server, "?since=");
  assert.deepEqual({ ...empty, timestamp: 0 }, { ...answer, timestamp: 0 });
});

Deno.test("short polling with an ISO time returns tasks updated after it, compared as times", async () => {
  await using server = await startTestServer();
  const ids = async (since: string) =>
    (await updates(server, `?since=${encodeURIComponent(since)}`)).tasks.map((t: { id: string }) =>
      t.id
    );
  const seeded = ["task-1", "task-2", "task-3", "task-4"];
  // The seed is stamped 2026-01-01T09:00:00.000Z.
  assert.deepEqual(await ids("2026-01-01T09:00:00Z"), []);
  assert.deepEqual(await ids("2026-01-01T09:00:00.000Z"), []);
  assert.deepEqual(await ids("2026-01-01T08:59:59Z"), seeded);
  assert.deepEqual(await ids("2026-01-01T08:59:59.999Z"), seeded);
  // 09:30+01:00 is 08:30Z: before the seed, though it sorts after it as text.
  assert.deepEqual(await ids("2026-01-01T09:30:00+01:00"), seeded);
  assert.deepEqual(await ids("2026-01-01T08:30:00-01:00"), []);
  // Without a zone the time is UTC, like every stored time.
  assert.deepEqual(await ids("2026-01-01T08:59:59"), seeded);
  assert.deepEqual(await ids("2026-01-01"), seeded);

  const first = await updates(server, "?since=2026-01-01T09:00:00Z");
  await new Promise((resolve) => setTimeout(resolve, 5));
  await expectStatus(
    await server.request("/tasks/task-3", { method: "PATCH", json: { title: "Changed" } }),
    200,
  );
  const changed = await updates(server, `?since=${first.timestamp}`);
  assert.deepEqual(changed.tasks.map((t: { id: string; title: string }) => [t.id, t.title]), [
    ["task-3", "Changed"],
  ]);
  assert.ok(changed.cursor > first.cursor);
});

Deno.test("short polling refuses a since that is neither a cursor nor a time with 400", async () => {
  await using server = await startTestServer();
  for (
    const since of [
      "yesterday",
      "-1",
      "1.5",
      "2026-13-01T00:00:00Z",
      "2026-01-01T25:00:00Z",
      "1e3",
      "0x10",
    ]
  ) {
    const error = await expectError(
      await server.request(`/boards/board-1/updates?since=${encodeURIComponent(since)}`),
      400,
      "invalid_since",
    );
    assert.match(error.error.message, /expected an event cursor or an ISO-8601 time/);
  }
});

Deno.test("short polling from a pruned or future cursor answers resync", async () => {
  await using server = await startTestServer();
  for (let i = 0; i < 6; i++) await createTask(server, `Old ${i}`);
  await server.services.store.prune({ maxCount: 2, maxAgeMs: 3600_000 });
  const cursor = await server.services.store.cursor();
  for (const since of [1, cursor + 100]) {
    const answer = await updates(server, `?since=${since}`);
    assert.deepEqual({ ...answer, timestamp: undefined }, {
      data: [],
      cursor,
      resync: true,
      timestamp: undefined,
    });
  }
  // The edge of the retained window is still fine.
  const edge = await updates(server, `?since=${cursor - 2}`);
  assert.equal(edge.data.length, 2);
  assert.equal(edge.resync, undefined);
});

Deno.test("a quiet board's readers resume without resync when a busy board's events are pruned", async () => {
  await using server = await startTestServer();
  const { store } = server.services;
  const start = await store.cursor();
  const quiet = await createTask(server, "Quiet"); // board-1
  for (let i = 0; i < 8; i++) await store.updateTask("user-3", "task-5", { title: `Busy ${i}` });
  assert.ok(await store.prune({ maxCount: 1, maxAgeMs: 3600_000, keepPerBoard: 3 }) >= 5);
  const answer = await updates(server, `?since=${start}`);
  assert.equal(answer.resync, undefined, "board-1 lost nothing");
  assert.deepEqual(answer.data.map((e: { task?: { id: string } }) => e.task?.id), [quiet.id]);
  const polled = await expectStatus(
    await server.request(`/boards/board-1/poll?cursor=${start}`),
    200,
  );
  assert.equal(polled.resync, undefined);
  assert.equal(polled.data.length, 1);
});

Deno.test("long polling answers at once when events after the cursor exist", async () => {
  await using server = await startTestServer();
  const start = await server.services.store.cursor();
  await createTask(server, "One");
  await createTask(server, "Two");
  const answer = await expectStatus(
    await server.request(`/boards/board-1/poll?cursor=${start}`),
    200,
  );
  assert.deepEqual(answer.data.map((e: { id: number }) => e.id), [start + 1, start + 2]);
  assert.equal(answer.timeout, false);
  assert.equal(answer.cursor, start + 2);
  assert.equal(server.services.registry.size, 0);
});

Deno.test("a parked long poll wakes on the next event, deletions included", async () => {
  await using server = await startTestServer();
  const cursor = await server.services.store.cursor();
  const poll = server.request(`/boards/board-1/poll?cursor=${cursor}`);
  await waitForConnections(server, 1);
  const counts = await connectionCounts(server);
  assert.deepEqual(counts.byBoard["board-1"], { longpoll: 1 });
  await expectStatus(await server.request("/tasks/task-2", { method: "DELETE" }), 200);
  const answer = await expectStatus(await poll, 200);
  assert.equal(answer.timeout, false);
  assert.equal(answer.data.length, 1);
  assert.deepEqual(
    [answer.data[0].type, answer.data[0].taskId, answer.data[0].listId],
    ["task_deleted", "task-2", "list-todo"],
  );
  assert.equal(answer.cursor, answer.data[0].id);
  await waitForConnections(server, 0);

  // Without a cursor the poll waits from the current one.
  const next = server.request("/boards/board-1/poll");
  await waitForConnections(server, 1);
  const created = await createTask(server, "Woke it");
  assert.equal((await expectStatus(await next, 200)).data[0].task.id, created.id);
});

Deno.test("a long poll with nothing to report times out with data [], timeout true and the cursor", async () => {
  await using server = await startTestServer({ longPollTimeoutMs: 60 });
  const cursor = await server.services.store.cursor();
  const response = await server.request(`/boards/board-1/poll?cursor=${cursor}`);
  assert.equal(response.status, 200);
  assert.equal(await response.text(), `{"data":[],"timeout":true,"cursor":${cursor}}`);
  assert.equal(server.services.registry.size, 0);
  assert.equal(server.services.bus.subscriberCount(), 0);
});

Deno.test("a client that aborts its long poll frees the waiter at once", async () => {
  await using server = await startTestServer();
  const controller = new AbortController();
  const poll = server.request("/boards/board-1/poll", { signal: controller.signal })
    .catch((error) => error);
  await waitForConnections(server, 1);
  assert.equal(server.services.bus.subscriberCount("board-1"), 1);
  controller.abort();
  assert.equal((await poll).name, "AbortError");
  await waitForConnections(server, 0);
  assert.equal(server.services.bus.subscriberCount(), 0);
  // An event afterwards goes nowhere and breaks nothing.
  await createTask(server, "Nobody waits");
});

Deno.test("long polls per user are capped with 429; other users are not affected", async () => {
  await using server = await startTestServer({ demo: false, seed: true, longPollMaxPerUser: 2 });
  const alice = await server.login("alice@example.com");
  const bob = await server.login("bob@example.com");
  const controllers = [new AbortController(), new AbortController()];
  const parked = controllers.map((c) =>
    server.request("/boards/board-1/poll", { token: alice, signal: c.signal }).catch((e) => e)
  );
  await waitFor(() => server.services.registry.countOfUser("user-1", "longpoll") === 2);
  const error = await expectError(
    await server.request("/boards/board-1/poll", { token: alice }),
    429,
    "too_many_polls",
  );
  assert.match(error.error.message, /At most 2 long polls/);
  // Another user has an allowance of their own.
  const bobs = server.request("/boards/board-1/poll", { token: bob });
  await waitFor(() => server.services.registry.countOfUser("user-2", "longpoll") === 1);

  controllers[0].abort();
  await parked[0];
  await waitFor(() => server.services.registry.countOfUser("user-1", "longpoll") === 1);
  const again = server.request("/boards/board-1/poll", { token: alice });
  await waitFor(() => server.services.registry.countOfUser("user-1", "longpoll") === 2);
  await createTask(server, "Wake everyone", alice);
  for (const response of [await parked[1], await again, await bobs]) {
    assert.equal((await expectStatus(response, 200)).data[0].type, "task_created");
  }
});

Deno.test("a long poll from a pruned or future cursor answers resync with the current cursor", async () => {
  await using server = await startTestServer();
  for (let i = 0; i < 4; i++) await createTask(server, `Old ${i}`);
  await server.services.store.prune({ maxCount: 1, maxAgeMs: 3600_000 });
  const cursor = await server.services.store.cursor();
  for (const from of [0, cursor + 5]) {
    const response = await server.request(`/boards/board-1/poll?cursor=${from}`);
    assert.equal(
      await response.text(),
      `{"data":[],"timeout":false,"cursor":${cursor},"resync":true}`,
    );
  }
  assert.equal(server.services.registry.size, 0);
});

Deno.test("long polling refuses a bad cursor with 400 and HEAD parks nothing", async () => {
  await using server = await startTestServer();
  for (const cursor of ["abc", "-1", "1.5"]) {
    await expectError(
      await server.request(`/boards/board-1/poll?cursor=${cursor}`),
      400,
      "invalid_cursor",
    );
  }
  const head = await server.request("/boards/board-1/poll", { method: "HEAD" });
  assert.equal(head.status, 200);
  assert.equal(server.services.registry.size, 0);
});

Deno.test("polling transports switched off answer 503", async () => {
  await using server = await startTestServer({ transports: ["websocket", "sse"] });
  await expectError(await server.request("/boards/board-1/updates"), 503, "transport_disabled");
  await expectError(await server.request("/boards/board-1/poll"), 503, "transport_disabled");
});

Deno.test("a backlog larger than one page is read in pages of 500 by following the cursor", async () => {
  await using server = await startTestServer();
  const start = await server.services.store.cursor();
  for (let i = 0; i < 520; i++) {
    await server.services.store.createTask("user-1", { listId: "list-done", title: `T${i}` });
  }
  const { events } = await server.services.store.eventsAfter(["board-1"], start, 1000);
  const all = events.map((e) => e.id);
  for (const [path, key] of [["updates?since", "short"], ["poll?cursor", "long"]]) {
    const seen: number[] = [];
    let cursor = start;
    while (seen.length < all.length) {
      const answer = await expectStatus(
        await server.request(`/boards/board-1/${path}=${cursor}`),
        200,
      );
      assert.ok(answer.data.length <= 500, key);
      seen.push(...answer.data.map((e: { id: number }) => e.id));
      cursor = answer.cursor;
    }
    assert.deepEqual(seen, all, key);
    assert.equal(cursor, all.at(-1));
  }
});

Deno.test("a long poll never skips an event that committed while it was subscribing", async () => {
  await using server = await startTestServer();
  const { store, bus, registry } = server.services;
  const caller = { user: (await store.getUser("user-1"))!, sessionHash: null, isAdmin: false };
  const before = await store.cursor();
  const missed = await store.createTask("user-1", { listId: "list-todo", title: "Missed" });
  // The real store, but its first read waits for a gate: a second write commits (and is
  // published) after the poll subscribed and before it read the log.
  let open!: () => void;
  const gate = new Promise<void>((resolve) => open = resolve);
  const gatedStore = new Proxy(store, {
    get(target, property) {
      const value = Reflect.get(target, property, target);
      if (property === "cursor") return () => gate.then(() => target.cursor());
      return typeof value === "function" ? value.bind(target) : value;
    },
  });
  const polling = new LongPolling(gatedStore, bus, registry, { timeoutMs: 5000, maxPerUser: 8 });
  const pending = polling.poll(caller, "board-1", before, new AbortController().signal);
  const concurrent = await store.createTask("user-1", { listId: "list-todo", title: "Racing" });
  open();
  const answer: { data: { id: number }[]; cursor: number } = JSON.parse(await pending);
  polling.stop();
  assert.deepEqual(answer.data.map((e) => e.id), [missed.event.id, concurrent.event.id]);
  assert.equal(answer.cursor, concurrent.event.id);
});

Deno.test("a parked long poll is answered by the next event itself, without reading the log again", async () => {
  await using server = await startTestServer();
  const { store, bus, registry } = server.services;
  const caller = { user: (await store.getUser("user-1"))!, sessionHash: null, isAdmin: false };
  let reads = 0;
  const countingStore = new Proxy(store, {
    get(target, property) {
      const value = Reflect.get(target, property, target);
      if (property === "eventsAfter") {
        return (
          ...args: Parameters<typeof store.eventsAfter>
        ) => (reads++, value.apply(target, args));
      }
      return typeof value === "function" ? value.bind(target) : value;
    },
  });
  const polling = new LongPolling(countingStore, bus, registry, { timeoutMs: 5000, maxPerUser: 8 });
  const cursor = await store.cursor();
  const pending = polling.poll(caller, "board-1", cursor, new AbortController().signal);
  await waitFor(() => reads === 1 && registry.countOfUser("user-1", "longpoll") === 1);
  // Two events at once: the first answers, the second is the next poll's.
  const first = await store.createTask("user-1", { listId: "list-todo", title: "First" });
  const second = await store.createTask("user-1", { listId: "list-todo", title: "Second" });
  const answer = JSON.parse(await pending);
  assert.equal(reads, 1, "the wake-up did not read the log");
  assert.deepEqual(answer, { data: [first.event], timeout: false, cursor: first.event.id });
  const next = JSON.parse(
    await polling.poll(caller, "board-1", answer.cursor, new AbortController().signal),
  );
  polling.stop();
  assert.deepEqual(next.data.map((e: { id: number }) => e.id), [second.event.id]);
});
