/**
 * Demo data: Alice, Bob and Carol (password `liveboard`), the demo guest, `board-1` "Product
 * Board" with three lists and four tasks, and `board-2`, where only Carol is a member. It is
 * plain data applied through `Store.seed`, so every store seeds the same rows, once per database
 * (later starts leave users' changes alone), in demo mode or with SEED=true, never silently.
 */
import { hashPassword } from "../auth.ts";
import type { SeedData, Store } from "./store.ts";

export const DEMO_PASSWORD = "liveboard";

const USERS = [
  ["user-1", "alice@example.com", "Alice"],
  ["user-2", "bob@example.com", "Bob"],
  ["user-3", "carol@example.com", "Carol"],
] as const;

/** The demo rows, with the demo users' password hashed at `iterations`. */
export async function demoSeed(iterations: number): Promise<SeedData> {
  const hashes = await Promise.all(USERS.map(() => hashPassword(DEMO_PASSWORD, iterations)));
  const task = (
    id: string,
    boardId: string,
    listId: string,
    title: string,
    description: string,
    assigneeId: string | null,
    rank: number,
  ) => ({ id, boardId, listId, title, description, assigneeId, rank, createdBy: "user-1" });
  return {
    at: "2026-01-01T09:00:00.000Z",
    users: [
      ...USERS.map(([id, email, name], i) => ({ id, email, name, passwordHash: hashes[i] })),
      { id: "user-guest", email: "guest@example.com", name: "Demo Guest", passwordHash: null },
    ],
    boards: [
      { id: "board-1", title: "Product Board", ownerId: "user-1" },
      { id: "board-2", title: "Carol's Roadmap", ownerId: "user-3" },
    ],
    members: [
      { boardId: "board-1", userId: "user-1", role: "owner" },
      { boardId: "board-1", userId: "user-2", role: "member" },
      { boardId: "board-1", userId: "user-3", role: "member" },
      { boardId: "board-1", userId: "user-guest", role: "member" },
      { boardId: "board-2", userId: "user-3", role: "owner" },
    ],
    lists: [
      { id: "list-todo", boardId: "board-1", title: "To do", position: 0 },
      { id: "list-in-progress", boardId: "board-1", title: "In progress", position: 1 },
      { id: "list-done", boardId: "board-1", title: "Done", position: 2 },
      { id: "list-b2-ideas", boardId: "board-2", title: "Ideas", position: 0 },
      { id: "list-b2-doing", boardId: "board-2", title: "Doing", position: 1 },
    ],
    tasks: [
      task(
        "task-1",
        "board-1",
        "list-todo",
        "Design the board layout",
        "Columns, cards, avatars.",
        "user-1",
        0,
      ),
      task("task-2", "board-1", "list-todo", "Write the onboarding guide", "", null, 1),
      task(
        "task-3",
        "board-1",
        "list-in-progress",
        "Set up the event log",
        "Durable, resumable.",
        "user-2",
        0,
      ),
      task("task-4", "board-1", "list-done", "Pick a name", "Liveboard it is.", "user-3", 0),
      task("task-5", "board-2", "list-b2-ideas", "Quarterly planning", "", "user-3", 0),
    ],
  };
}

/** Seeds the demo data unless this database has been seeded before. */
export function seedDemoData(store: Store, iterations: number): Promise<boolean> {
  return store.seed(() => demoSeed(iterations));
}
