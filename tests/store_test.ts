/**
 * The SQLite store underneath: WAL and foreign keys, versioned migrations, ISO-8601 UTC times with
 * milliseconds, the retention window (count and age, on a timer), and a seed that is idempotent
 * and never runs silently in normal mode.
 */
import assert from "node:assert/strict";
import { DatabaseSync } from "node:sqlite";
import { seedDemoData } from "../src/store/seed.ts";
import { SqliteStore } from "../src/store/store_sqlite.ts";
import {
  expectError,
  expectStatus,
  queryDb,
  startTestServer,
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
      assert.deepEqual(versions.map((v) => v.version), [1]);
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
    assert.deepEqual(queryDb(server, `SELECT * FROM ${table} WHERE board_id = 'board-2'`), []);
  }
  // The event outlives its board.
  const [event] = queryDb(server, "SELECT type FROM events WHERE board_id = 'board-2'");
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
    for (const row of queryDb(server, `SELECT ${column} AS t FROM ${table}`)) {
      assert.match(row.t as string, ISO_MS, `${table}.${column}`);
    }
  }
});

Deno.test("the event log is pruned to the retention count on a timer", async () => {
  await using server = await startTestServer({ eventRetentionCount: 3, pruneIntervalMs: 20 });
  for (let i = 0; i < 7; i++) await createTask(server, `Task ${i}`);
  const cursor = await server.services.store.cursor();
  await waitFor(async () => (await server.services.store.prunedThrough()) === cursor - 3, {
    what: "the prune timer",
  });
  const kept = await server.services.store.eventsAfter(["board-1"], 0, 100);
  assert.deepEqual(kept.map((e) => e.id), [cursor - 2, cursor - 1, cursor]);
});

Deno.test("pruning by age removes only events older than the window", async () => {
  await using server = await startTestServer();
  for (let i = 0; i < 4; i++) await createTask(server, `Task ${i}`);
  const { store } = server.services;
  const cursor = await store.cursor();
  const db = new DatabaseSync(server.config.databaseUrl);
  try {
    db.prepare("UPDATE events SET created_at = ? WHERE seq <= ?").run(
      new Date(Date.now() - 3 * 3600_000).toISOString(),
      cursor - 2,
    );
  } finally {
    db.close();
  }
  assert.equal(await store.prune({ maxCount: 1000, maxAgeMs: 3600_000 }), cursor - 2);
  assert.equal(await store.prunedThrough(), cursor - 2);
  assert.equal(await store.prune({ maxCount: 1000, maxAgeMs: 3600_000 }), 0, "nothing more to do");
  const kept = await store.eventsAfter(["board-1"], 0, 100);
  assert.deepEqual(kept.map((e) => e.id), [cursor - 1, cursor]);
});

Deno.test("normal mode seeds nothing unless asked; the seed is idempotent", async () => {
  {
    await using server = await startTestServer({ demo: false });
    assert.deepEqual(queryDb(server, "SELECT id FROM users"), []);
    assert.deepEqual(queryDb(server, "SELECT id FROM boards"), []);
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
      ["users", "boards", "board_members", "lists", "tasks"].map((table) =>
        queryDb(server, `SELECT count(*) AS n FROM ${table}`)[0].n
      );
    const before = count();
    assert.deepEqual(before, [4, 2, 5, 5, 5]);
    await seedDemoData(server.services.store as SqliteStore, 1000);
    assert.deepEqual(count(), before);
    assert.ok(await server.login("alice@example.com"));
    assert.deepEqual(queryDb(server, "SELECT * FROM events"), [], "the seed writes no events");
  }
});

Deno.test("seeding again after users changed the demo data brings nothing back", async () => {
  await using server = await startTestServer();
  const store = server.services.store as SqliteStore;
  await store.deleteTask("user-1", "task-1");
  await store.removeMember("user-1", "board-1", "user-guest");
  await seedDemoData(store, 1000);
  assert.deepEqual(queryDb(server, "SELECT id FROM tasks WHERE id = 'task-1'"), []);
  assert.deepEqual(
    queryDb(server, "SELECT user_id FROM board_members WHERE user_id = 'user-guest'"),
    [],
  );
  const positions = queryDb(
    server,
    "SELECT position FROM tasks WHERE list_id = 'list-todo' ORDER BY position",
  ).map((row) => row.position);
  assert.deepEqual(positions, positions.map((_, i) => i), "positions stay dense");
});
