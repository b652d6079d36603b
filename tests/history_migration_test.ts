/**
 * Migration 5 on an existing SQLite database: events written before event format 2 learn the card
 * or list they are about (so a card's history finds them), read back as format 1 without the new
 * fields, and cannot be reverted (409 not_revertible), while new events are format 2.
 */
import assert from "node:assert/strict";
import { DatabaseSync } from "node:sqlite";
import { Actions } from "../src/actions.ts";
import { migrate } from "../src/store/sqlite/migrations.ts";
import { SqliteStore } from "../src/store/sqlite/store.ts";
import { DomainError } from "../src/errors.ts";
import type { Caller } from "../src/auth.ts";

Deno.test("migration 5 gives old events their subject, and they read back as format 1 that cannot be reverted", async () => {
  const dir = await Deno.makeTempDir({ prefix: "liveboard-migrate5-" });
  const path = `${dir}/store.db`;
  try {
    const old = new DatabaseSync(path);
    migrate(old, 4);
    const at = "2026-01-01T00:00:00.000Z";
    const task = {
      id: "t1",
      boardId: "b",
      listId: "l1",
      title: "Old card",
      description: "",
      assigneeId: null,
      position: 0,
      version: 2,
      createdBy: "u",
      createdAt: at,
      updatedAt: at,
    };
    old.exec(`
      INSERT INTO users (id, email, name, created_at) VALUES ('u', 'u@example.com', 'U', '${at}');
      INSERT INTO boards (id, title, owner_id, created_at, updated_at)
        VALUES ('b', 'B', 'u', '${at}', '${at}');
      INSERT INTO board_members (board_id, user_id, role, added_at) VALUES ('b', 'u', 'owner', '${at}');
      INSERT INTO lists (id, board_id, title, position, created_at, updated_at)
        VALUES ('l1', 'b', 'One', 0, '${at}', '${at}');
      INSERT INTO tasks (id, board_id, list_id, title, rank, version, created_by, created_at,
        updated_at) VALUES ('t1', 'b', 'l1', 'Old card', 0, 2, 'u', '${at}', '${at}');
    `);
    const insert = old.prepare(
      "INSERT INTO events (board_id, type, payload, actor_id, created_at) VALUES ('b', ?, ?, 'u', ?)",
    );
    insert.run("task_created", JSON.stringify({ task: { ...task, version: 1 } }), at);
    insert.run("task_updated", JSON.stringify({ task }), at);
    insert.run("board_updated", JSON.stringify({ board: { id: "b", title: "B" } }), at);
    insert.run("task_deleted", JSON.stringify({ taskId: "t9", listId: "l1" }), at);
    old.close();

    const store = new SqliteStore(path);
    try {
      const cardHistory = await store.history("b", { limit: 10, subjectId: "t1" }, 0);
      assert.deepEqual(cardHistory.map((e) => [e.id, e.type, e.v]), [
        [2, "task_updated", 1],
        [1, "task_created", 1],
      ]);
      const deleted = await store.history("b", { limit: 10, subjectId: "t9" }, 0);
      assert.deepEqual(deleted.map((e) => e.type), ["task_deleted"]);

      const caller = { user: { id: "u" } } as Caller;
      const actions = new Actions(store);
      await assert.rejects(
        actions.revert(caller, "b", 2),
        (error) => error instanceof DomainError && error.code === "not_revertible",
      );
      const { event } = await actions.revert(caller, "b", 3).catch((e) => ({ event: e }));
      assert.equal(event instanceof DomainError && event.code, "not_revertible");

      // A change made now is format 2 and carries what undoes it.
      const { event: edit } = await store.updateTask("u", "t1", { title: "New title" });
      assert.equal(edit.v, 2);
      assert.deepEqual(edit.type === "task_updated" && edit.before, { title: "Old card" });
    } finally {
      await store.close();
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
