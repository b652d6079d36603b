/**
 * The store underneath (SQLite, or PostgreSQL in the second pass): WAL and foreign keys on
 * SQLite, versioned migrations, ISO-8601 UTC times with milliseconds, the retention window (count and age, on a timer), and a seed that is idempotent
 * and never runs silently in normal mode.
 */
import assert from "node:assert/strict";
import { DatabaseSync } from "node:sqlite";
import { seedDemoData } from "../src/store/seed.ts";
import type { BoardEvent } from "../src/store/store.ts";
import { SqliteStore } from "../src/store/sqlite/store.ts";
import {
  execDb,
  expectError,
  expectStatus,
  queryDb,
  startTestServer,
  TEST_STORE,
  type TestServer,
  waitFor,
} from "./helpers.ts";

const ISO_MS = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/;

function createTask(server: TestServer, title: string) {
  return server.request("/tasks", { method: "POST", json: { title, listId: "list-todo" } })
    .then((response) => expectStatus(response, 201));
}

Deno.test("the database runs in WAL mode with versioned migrations applied once", async () => {
  const dir = await Deno.makeTempDir({ prefix: "liveboard-store-" });
  try {
    const path = `${dir}/nested/store.db`;
    for (let i = 0; i < 2; i++) {
      const store = new SqliteStore(path);
      await store.close();
    }
    const db = new DatabaseSync(path, { readOnly: true });
    try {
      assert.equal(db.prepare("PRAGMA journal_mode").get()?.journal_mode, "wal");
      const versions = db.prepare("SELECT version, applied_at FROM schema_migrations").all();
      assert.deepEqual(versions.map((v) => v.version), [1, 2, 3, 4, 5, 6]);
      assert.match(versions[0].applied_at as string, ISO_MS);
    } finally {
      db.close();
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("foreign keys cascade a board's deletion to its lists, tasks and members", async () => {
  await using server = await startTestServer();
  const carol = await server.login("carol@example.com");
  await expectStatus(
    await server.request("/boards/board-2", { method: "DELETE", token: carol }),
    200,
  );
  for (const table of ["lists", "tasks", "board_members"]) {
    assert.deepEqual(
      await queryDb(server, `SELECT * FROM ${table} WHERE board_id = 'board-2'`),
      [],
    );
  }
  // The event outlives its board.
  const [event] = await queryDb(server, "SELECT type FROM events WHERE board_id = 'board-2'");
  assert.equal(event.type, "board_deleted");
});

Deno.test("every stored time is ISO-8601 UTC with milliseconds", async () => {
  await using server = await startTestServer();
  await server.login("alice@example.com");
  await createTask(server, "Timed");
  const columns: [string, string][] = [
    ["tasks", "created_at"],
    ["tasks", "updated_at"],
    ["events", "created_at"],
    ["sessions", "created_at"],
    ["sessions", "expires_at"],
    ["boards", "updated_at"],
  ];
  for (const [table, column] of columns) {
    for (const row of await queryDb(server, `SELECT ${column} AS t FROM ${table}`)) {
      // PostgreSQL keeps timestamptz (read as a Date); SQLite keeps the ISO text the API shows.
      if (TEST_STORE === "postgres") assert.ok(row.t instanceof Date, `${table}.${column}`);
      else assert.match(row.t as string, ISO_MS, `${table}.${column}`);
    }
  }
});

Deno.test("the event log is pruned to the retention count on a timer", async () => {
  await using server = await startTestServer({
    eventRetentionCount: 3,
    eventRetentionPerBoard: 0,
    pruneIntervalMs: 20,
  });
  for (let i = 0; i < 7; i++) await createTask(server, `Task ${i}`);
  const cursor = await server.services.store.cursor();
  await waitFor(async () => (await server.services.store.prunedThrough()) === cursor - 3, {
    what: "the prune timer",
  });
  const { events: kept } = await server.services.store.eventsAfter(["board-1"], 0, 100);
  assert.deepEqual(kept.map((e) => e.id), [cursor - 2, cursor - 1, cursor]);
});

Deno.test("pruning by age removes only events older than the window", async () => {
  await using server = await startTestServer();
  for (let i = 0; i < 4; i++) await createTask(server, `Task ${i}`);
  const { store } = server.services;
  const cursor = await store.cursor();
  await execDb(
    server,
    "UPDATE events SET created_at = ? WHERE seq <= ?",
    new Date(Date.now() - 3 * 3600_000).toISOString(),
    cursor - 2,
  );
  assert.equal(await store.prune({ maxCount: 1000, maxAgeMs: 3600_000 }), cursor - 2);
  assert.equal(await store.prunedThrough(), cursor - 2);
  assert.equal(await store.prune({ maxCount: 1000, maxAgeMs: 3600_000 }), 0, "nothing more to do");
  const { events: kept } = await store.eventsAfter(["board-1"], 0, 100);
  assert.deepEqual(kept.map((e) => e.id), [cursor - 1, cursor]);
});

Deno.test("normal mode seeds nothing unless asked; the seed is idempotent", async () => {
  {
    await using server = await startTestServer({ demo: false });
    assert.deepEqual(await queryDb(server, "SELECT id FROM users"), []);
    assert.deepEqual(await queryDb(server, "SELECT id FROM boards"), []);
    await expectError(
      await server.request("/login", {
        method: "POST",
        json: { email: "alice@example.com", password: "liveboard" },
      }),
      401,
      "unauthorized",
    );
  }
  {
    await using server = await startTestServer({ demo: false, seed: true });
    const count = () =>
      Promise.all(
        ["users", "boards", "board_members", "lists", "tasks"].map(async (table) =>
          Number((await queryDb(server, `SELECT count(*) AS n FROM ${table}`))[0].n)
        ),
      );
    const before = await count();
    assert.deepEqual(before, [4, 2, 5, 5, 5]);
    assert.equal(await seedDemoData(server.services.store, 1000), false);
    assert.deepEqual(await count(), before);
    assert.ok(await server.login("alice@example.com"));
    assert.deepEqual(
      await queryDb(server, "SELECT * FROM events"),
      [],
      "the seed writes no events",
    );
  }
});

Deno.test("seeding again after users changed the demo data brings nothing back", async () => {
  await using server = await startTestServer();
  const store = server.services.store;
  await store.deleteTask("user-1", "task-1");
  await store.removeMember("user-1", "board-1", "user-guest");
  await seedDemoData(store, 1000);
  assert.deepEqual(await queryDb(server, "SELECT id FROM tasks WHERE id = 'task-1'"), []);
  assert.deepEqual(
    await queryDb(server, "SELECT user_id FROM board_members WHERE user_id = 'user-guest'"),
    [],
  );
  const positions = (await store.tasksForBoard("board-1"))
    .filter((task) => task.listId === "list-todo").map((task) => task.position);
  assert.deepEqual(positions, positions.map((_, i) => i), "positions stay dense");
});

/**
 * A seeded store of its own in a temporary directory, whose commit listener records each event
 * together with what a second connection (which sees committed data only) finds in the log.
 */
async function withRecordingStore(
  fn: (store: SqliteStore, published: { event: BoardEvent; committed: boolean }[]) => Promise<void>,
) {
  const dir = await Deno.makeTempDir({ prefix: "liveboard-group-" });
  const path = `${dir}/store.db`;
  const store = new SqliteStore(path);
  const reader = new DatabaseSync(path, { readOnly: true });
  try {
    await seedDemoData(store, 1000);
    const published: { event: BoardEvent; committed: boolean }[] = [];
    const inLog = reader.prepare("SELECT 1 FROM events WHERE seq = ?");
    store.onCommit((event) =>
      published.push({ event, committed: inLog.get(event.id) !== undefined })
    );
    await fn(store, published);
  } finally {
    reader.close();
    await store.close();
    await Deno.remove(dir, { recursive: true });
  }
}

/** Each list's task positions, in order. */
async function positionsOf(store: SqliteStore, listIds: string[]): Promise<number[][]> {
  const { tasks } = (await store.snapshot("board-1"))!;
  return listIds.map((listId) => tasks.filter((t) => t.listId === listId).map((t) => t.position));
}

Deno.test("a failing mutation in a group commit rejects alone; the others commit and publish in order", async () => {
  await withRecordingStore(async (store, published) => {
    // Started together, these share one transaction; the middle one fails inside it.
    const results = await Promise.allSettled([
      store.createTask("user-1", { listId: "list-todo", title: "First" }),
      store.updateTask("user-1", "task-1", { title: "Lost", version: 99 }),
      store.createTask("user-1", { listId: "list-nowhere", title: "Nowhere" }),
      store.moveTask("user-1", "task-2", { listId: "list-done", position: 0 }),
    ]);
    const [first, conflict, missing, moved] = results;
    assert.equal(first.status, "fulfilled");
    assert.equal(moved.status, "fulfilled");
    assert.equal(conflict.status, "rejected");
    assert.equal(conflict.reason.code, "version_conflict");
    assert.match(conflict.reason.message, /version 1, not 99/);
    assert.equal(missing.status, "rejected");
    assert.equal(missing.reason.code, "not_found");
    assert.match(missing.reason.message, /list-nowhere/);

    const events = [first.value.event, moved.value.event];
    assert.deepEqual(published.map((p) => p.event), events, "one event per success, in order");
    assert.equal(events[1].id, events[0].id + 1, "failures consume no seq");
    assert.equal(await store.cursor(), events[1].id);
    assert.equal((await store.getTask("task-1"))!.version, 1, "the failed update left no trace");
    assert.equal((await store.getTask(first.value.value.id))!.title, "First");
    assert.equal((await store.getTask("task-2"))!.listId, "list-done");
  });
});

Deno.test("group-committed events are published only after COMMIT, each exactly once", async () => {
  await withRecordingStore(async (store, published) => {
    const mutations = await Promise.all(
      Array.from(
        { length: 10 },
        (_, i) => store.createTask("user-1", { listId: "list-todo", title: `Batch ${i}` }),
      ),
    );
    assert.deepEqual(published.map((p) => p.event.id), mutations.map((m) => m.event.id));
    assert.ok(
      published.every((p) => p.committed),
      "a second connection sees every event's row when it is published",
    );
  });
});

Deno.test("concurrent creates and moves committed in one batch keep positions dense", async () => {
  await withRecordingStore(async (store, published) => {
    const lists = ["list-todo", "list-in-progress", "list-done"];
    const created = await Promise.all(
      Array.from(
        { length: 12 },
        (_, i) =>
          store.createTask("user-1", { listId: lists[i % 3], title: `T${i}`, position: i % 4 }),
      ),
    );
    const ids = ["task-1", "task-2", "task-3", "task-4", ...created.map((m) => m.value.id)];
    const mixed = await Promise.all([
      ...ids.map((id, i) =>
        store.moveTask("user-1", id, { listId: lists[(i * 7) % 3], position: (i * 5) % 6 })
      ),
      ...lists.map((listId, i) =>
        store.createTask("user-1", { listId, title: `Late ${i}`, position: 1 })
      ),
    ]);
    for (const [i, positions] of (await positionsOf(store, lists)).entries()) {
      assert.deepEqual(positions, positions.map((_, n) => n), `${lists[i]} stays dense`);
    }
    assert.deepEqual(
      published.map((p) => p.event.id),
      [...created, ...mixed].map((m) => m.event.id).sort((a, b) => a - b),
      "published in seq order, once each",
    );
  });
});
