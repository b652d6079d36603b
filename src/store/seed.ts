/**
 * Demo data: Alice, Bob and Carol (password `liveboard`), the demo guest, `board-1` "Product
 * Board" with three lists and four tasks, and `board-2`, where only Carol is a member.
 * Runs once per database (later starts leave users' changes alone), in demo mode or with
 * SEED=true, never silently.
 */
import { hashPassword } from "../auth.ts";
import type { SqliteStore } from "./store_sqlite.ts";

export const DEMO_PASSWORD = "liveboard";

const USERS = [
  ["user-1", "alice@example.com", "Alice"],
  ["user-2", "bob@example.com", "Bob"],
  ["user-3", "carol@example.com", "Carol"],
] as const;

export async function seedDemoData(store: SqliteStore, iterations: number): Promise<void> {
  if (store.isSeeded()) return;
  const existing = await store.getUser("user-1");
  const hashes = existing ? [] : await Promise.all(
    USERS.map(() => hashPassword(DEMO_PASSWORD, iterations)),
  );
  const at = "2026-01-01T09:00:00.000Z";
  store.seedOnce((run) => {
    USERS.forEach(([id, email, name], i) => {
      if (hashes[i]) {
        run(
          "INSERT OR IGNORE INTO users (id, email, name, password_hash, created_at) VALUES (?, ?, ?, ?, ?)",
          id,
          email,
          name,
          hashes[i],
          at,
        );
      }
    });
    run(
      "INSERT OR IGNORE INTO users (id, email, name, password_hash, created_at) VALUES ('user-guest', 'guest@example.com', 'Demo Guest', NULL, ?)",
      at,
    );
    const board = (id: string, title: string, owner: string) =>
      run(
        "INSERT OR IGNORE INTO boards (id, title, owner_id, created_at, updated_at) VALUES (?, ?, ?, ?, ?)",
        id,
        title,
        owner,
        at,
        at,
      );
    const member = (boardId: string, userId: string, role: string) =>
      run(
        "INSERT OR IGNORE INTO board_members (board_id, user_id, role, added_at) VALUES (?, ?, ?, ?)",
        boardId,
        userId,
        role,
        at,
      );
    const list = (id: string, boardId: string, title: string, position: number) =>
      run(
        "INSERT OR IGNORE INTO lists (id, board_id, title, position, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?)",
        id,
        boardId,
        title,
        position,
        at,
        at,
      );
    const task = (
      id: string,
      boardId: string,
      listId: string,
      title: string,
      description: string,
      assigneeId: string | null,
      rank: number, // Tasks are ordered by rank; 0, 1, … gives positions 0, 1, … (migration 2).
    ) =>
      run(
        `INSERT OR IGNORE INTO tasks (id, board_id, list_id, title, description, assignee_id,
           rank, version, created_by, created_at, updated_at)
         VALUES (?, ?, ?, ?, ?, ?, ?, 1, 'user-1', ?, ?)`,
        id,
        boardId,
        listId,
        title,
        description,
        assigneeId,
        rank,
        at,
        at,
      );

    board("board-1", "Product Board", "user-1");
    member("board-1", "user-1", "owner");
    member("board-1", "user-2", "member");
    member("board-1", "user-3", "member");
    member("board-1", "user-guest", "member");
    list("list-todo", "board-1", "To do", 0);
    list("list-in-progress", "board-1", "In progress", 1);
    list("list-done", "board-1", "Done", 2);
    task(
      "task-1",
      "board-1",
      "list-todo",
      "Design the board layout",
      "Columns, cards, avatars.",
      "user-1",
      0,
    );
    task("task-2", "board-1", "list-todo", "Write the onboarding guide", "", null, 1);
    task(
      "task-3",
      "board-1",
      "list-in-progress",
      "Set up the event log",
      "Durable, resumable.",
      "user-2",
      0,
    );
    task("task-4", "board-1", "list-done", "Pick a name", "Liveboard it is.", "user-3", 0);

    board("board-2", "Carol's Roadmap", "user-3");
    member("board-2", "user-3", "owner");
    list("list-b2-ideas", "board-2", "Ideas", 0);
    list("list-b2-doing", "board-2", "Doing", 1);
    task("task-5", "board-2", "list-b2-ideas", "Quarterly planning", "", "user-3", 0);
  });
}
