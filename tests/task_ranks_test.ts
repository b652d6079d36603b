/**
 * Task order by rank (`src/store/sqlite/task_ranks.ts`): positions stay dense and in order when
 * ranks run out of room between two neighbours and the list is renumbered, and migration 2 turns
 * the stored positions of an existing database into ranks without changing any task's place.
 */
import assert from "node:assert/strict";
import { DatabaseSync } from "node:sqlite";
import { migrate } from "../src/store/sqlite/migrations.ts";
import { seedDemoData } from "../src/store/seed.ts";
import { SqliteStore } from "../src/store/sqlite/store.ts";

/** A seeded store in a temporary directory, and a second connection to its file. */
async function withStore(fn: (store: SqliteStore, db: DatabaseSync) => Promise<void>) {
  const dir = await Deno.makeTempDir({ prefix: "liveboard-ranks-" });
  const store = new SqliteStore(`${dir}/store.db`);
  const db = new DatabaseSync(`${dir}/store.db`);
  try {
    await seedDemoData(store, 1000);
    await fn(store, db);
  } finally {
    db.close();
    await store.close();
    await Deno.remove(dir, { recursive: true });
  }
}

/** The ids of a list's tasks in position order, checking the positions are 0..n-1. */
async function listOrder(store: SqliteStore, listId: string): Promise<string[]> {
  const tasks = (await store.tasksForBoard("board-1")).filter((task) => task.listId === listId);
  assert.deepEqual(tasks.map((task) => task.position), tasks.map((_, i) => i), "dense");
  return tasks.map((task) => task.id);
}

Deno.test("100 moves to position 2 of one list keep its positions dense and its order right", async () => {
  await withStore(async (store, db) => {
    for (let i = 0; i < 5; i++) {
      await store.createTask("user-1", { listId: "list-todo", title: `T${i}` });
    }
    const expected = await listOrder(store, "list-todo");
    // Each move bisects the gap after the task at position 1, so after ~50 moves no double is
    // left between the two neighbours and the list must be renumbered (more than once here).
    for (let i = 0; i < 100; i++) {
      const id = expected.pop()!;
      expected.splice(2, 0, id);
      const { value, event } = await store.moveTask("user-1", id, {
        listId: "list-todo",
        position: 2,
      });
      assert.equal(value.position, 2);
      assert.equal((event as unknown as { fromPosition: number }).fromPosition, 6);
      assert.deepEqual(await listOrder(store, "list-todo"), expected, `after move ${i + 1}`);
    }
    const ranks = db.prepare("SELECT rank FROM tasks WHERE list_id = 'list-todo' ORDER BY rank")
      .all().map((row) => row.rank as number);
    assert.equal(new Set(ranks).size, ranks.length, "no two tasks share a rank");
  });
});

Deno.test("neighbours with no rank between them are renumbered within the move", async () => {
  await withStore(async (store, db) => {
    // 1 + EPSILON is the next double after 1: their midpoint rounds to one of them.
    db.prepare("UPDATE tasks SET rank = ? WHERE id = ?").run(1, "task-1");
    db.prepare("UPDATE tasks SET rank = ? WHERE id = ?").run(1 + Number.EPSILON, "task-2");
    const { value, event } = await store.moveTask("user-1", "task-3", {
      listId: "list-todo",
      position: 1,
    });
    assert.equal(value.position, 1);
    assert.equal(event.type, "task_moved");
    assert.equal(event.type === "task_moved" && event.fromListId, "list-in-progress");
    assert.equal(event.type === "task_moved" && event.fromPosition, 0);
    assert.deepEqual(await listOrder(store, "list-todo"), ["task-1", "task-3", "task-2"]);
    assert.deepEqual(await listOrder(store, "list-in-progress"), []);
    const ranks = db.prepare("SELECT id, rank FROM tasks WHERE list_id = 'list-todo' ORDER BY rank")
      .all().map((row) => [row.id, row.rank]);
    assert.deepEqual(ranks, [["task-1", 0], ["task-3", 0.5], ["task-2", 1]]);
  });
});

Deno.test("migration 2 carries the stored positions of an existing database over as ranks", async () => {
  const dir = await Deno.makeTempDir({ prefix: "liveboard-migrate-" });
  const path = `${dir}/store.db`;
  try {
    const old = new DatabaseSync(path);
    migrate(old, 1);
    const at = "2026-01-01T00:00:00.000Z";
    old.exec(`
      INSERT INTO users (id, email, name, created_at) VALUES ('u', 'u@example.com', 'U', '${at}');
      INSERT INTO boards (id, title, owner_id, created_at, updated_at)
        VALUES ('b', 'B', 'u', '${at}', '${at}');
      INSERT INTO board_members (board_id, user_id, role, added_at) VALUES ('b', 'u', 'owner', '${at}');
      INSERT INTO lists (id, board_id, title, position, created_at, updated_at)
        VALUES ('l1', 'b', 'One', 0, '${at}', '${at}'), ('l2', 'b', 'Two', 1, '${at}', '${at}');
    `);
    // Inserted out of order, so neither rowid nor id order is the position order.
    const tasks: [string, string, number][] = [
      ["t-a", "l1", 2],
      ["t-b", "l2", 0],
      ["t-c", "l1", 0],
      ["t-d", "l1", 3],
      ["t-e", "l1", 1],
      ["t-f", "l2", 1],
    ];
    for (const [id, listId, position] of tasks) {
      old.prepare(
        `INSERT INTO tasks (id, board_id, list_id, title, position, created_at, updated_at)
         VALUES (?, 'b', ?, ?, ?, ?, ?)`,
      ).run(id, listId, id, position, at, at);
    }
    old.close();

    const store = new SqliteStore(path);
    try {
      const byList = async (listId: string) =>
        (await store.tasksForBoard("b")).filter((task) => task.listId === listId);
      const l1 = await byList("l1");
      assert.deepEqual(l1.map((task) => [task.id, task.position]), [
        ["t-c", 0],
        ["t-e", 1],
        ["t-a", 2],
        ["t-d", 3],
      ]);
      assert.deepEqual((await byList("l2")).map((task) => task.id), ["t-b", "t-f"]);
      assert.equal((await store.getTask("t-d"))?.position, 3);

      // The list counts were filled in: a new task at the end gets the next position.
      assert.equal((await store.createTask("u", { listId: "l1", title: "new" })).value.position, 4);
      await store.moveTask("u", "t-b", { listId: "l1", position: 1 });
      await store.deleteTask("u", "t-e");
      assert.deepEqual(
        (await byList("l1")).map((task) => [task.title, task.position]),
        [["t-c", 0], ["t-b", 1], ["t-a", 2], ["t-d", 3], ["new", 4]],
      );
      assert.deepEqual((await byList("l2")).map((task) => [task.id, task.position]), [["t-f", 0]]);
    } finally {
      await store.close();
    }
    const db = new DatabaseSync(path, { readOnly: true });
    try {
      const counts = db.prepare("SELECT id, task_count FROM lists ORDER BY id").all()
        .map((row) => [row.id, row.task_count]);
      assert.deepEqual(counts, [["l1", 5], ["l2", 1]]);
      const columns = db.prepare("SELECT name FROM pragma_table_info('tasks')").all()
        .map((row) => row.name);
      assert.ok(columns.includes("rank") && !columns.includes("position"), String(columns));
      const indexes = db.prepare("SELECT name FROM pragma_index_list('tasks') ORDER BY name")
        .all().map((row) => row.name);
      assert.ok(indexes.includes("tasks_list") && indexes.includes("tasks_board_updated"));
    } finally {
      db.close();
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
