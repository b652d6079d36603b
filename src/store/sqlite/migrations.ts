/**
 * Versioned schema migrations for the SQLite store. Each entry runs once, in order, inside a
 * transaction; `schema_migrations` records which ran. Append new versions; never edit old ones.
 */
import type { DatabaseSync } from "node:sqlite";

const MIGRATIONS: string[] = [
  // 1: accounts, boards, lists, tasks and the event log.
  `
  CREATE TABLE users (
    id TEXT PRIMARY KEY,
    email TEXT NOT NULL UNIQUE COLLATE NOCASE,
    name TEXT NOT NULL,
    password_hash TEXT,
    is_admin INTEGER NOT NULL DEFAULT 0,
    created_at TEXT NOT NULL
  ) STRICT;
  CREATE TABLE sessions (
    token_hash TEXT PRIMARY KEY,
    user_id TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    created_at TEXT NOT NULL,
    expires_at TEXT NOT NULL
  ) STRICT;
  CREATE INDEX sessions_user ON sessions(user_id);
  CREATE TABLE boards (
    id TEXT PRIMARY KEY,
    title TEXT NOT NULL,
    owner_id TEXT NOT NULL REFERENCES users(id),
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL
  ) STRICT;
  CREATE TABLE board_members (
    board_id TEXT NOT NULL REFERENCES boards(id) ON DELETE CASCADE,
    user_id TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    role TEXT NOT NULL CHECK (role IN ('owner', 'member')),
    added_at TEXT NOT NULL,
    PRIMARY KEY (board_id, user_id)
  ) STRICT;
  CREATE INDEX board_members_user ON board_members(user_id);
  CREATE TABLE lists (
    id TEXT PRIMARY KEY,
    board_id TEXT NOT NULL REFERENCES boards(id) ON DELETE CASCADE,
    title TEXT NOT NULL,
    position INTEGER NOT NULL,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL
  ) STRICT;
  CREATE INDEX lists_board ON lists(board_id, position);
  CREATE TABLE tasks (
    id TEXT PRIMARY KEY,
    board_id TEXT NOT NULL REFERENCES boards(id) ON DELETE CASCADE,
    list_id TEXT NOT NULL REFERENCES lists(id) ON DELETE CASCADE,
    title TEXT NOT NULL,
    description TEXT NOT NULL DEFAULT '',
    assignee_id TEXT REFERENCES users(id) ON DELETE SET NULL,
    position INTEGER NOT NULL,
    version INTEGER NOT NULL DEFAULT 1,
    created_by TEXT,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL
  ) STRICT;
  CREATE INDEX tasks_list ON tasks(list_id, position);
  CREATE INDEX tasks_board_updated ON tasks(board_id, updated_at);
  -- The durable event log. AUTOINCREMENT: a seq is never reused, even after pruning.
  -- No foreign key to boards: a board_deleted event outlives its board.
  CREATE TABLE events (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    board_id TEXT NOT NULL,
    type TEXT NOT NULL,
    payload TEXT NOT NULL,
    actor_id TEXT,
    created_at TEXT NOT NULL
  ) STRICT;
  CREATE INDEX events_board_seq ON events(board_id, seq);
  CREATE INDEX events_created ON events(created_at);
  CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL) STRICT;
  `,
  // 2: tasks are ordered by a rank instead of a stored dense position (see task_ranks.ts),
  // so a move writes one row instead of renumbering the rest of two lists; lists count their
  // tasks, kept by triggers, so a task added at the end learns its position without a count.
  // STRICT tables cannot drop an indexed column in place: rebuild tasks, ranks = old positions.
  `
  CREATE TABLE tasks_ranked (
    id TEXT PRIMARY KEY,
    board_id TEXT NOT NULL REFERENCES boards(id) ON DELETE CASCADE,
    list_id TEXT NOT NULL REFERENCES lists(id) ON DELETE CASCADE,
    title TEXT NOT NULL,
    description TEXT NOT NULL DEFAULT '',
    assignee_id TEXT REFERENCES users(id) ON DELETE SET NULL,
    rank REAL NOT NULL,
    version INTEGER NOT NULL DEFAULT 1,
    created_by TEXT,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL
  ) STRICT;
  INSERT INTO tasks_ranked (id, board_id, list_id, title, description, assignee_id, rank, version,
      created_by, created_at, updated_at)
    SELECT id, board_id, list_id, title, description, assignee_id, position, version,
      created_by, created_at, updated_at FROM tasks;
  DROP TABLE tasks;
  ALTER TABLE tasks_ranked RENAME TO tasks;
  -- id breaks rank ties and makes the index cover the order, the counts and the neighbours.
  CREATE INDEX tasks_list ON tasks(list_id, rank, id);
  CREATE INDEX tasks_board_updated ON tasks(board_id, updated_at);
  ALTER TABLE lists ADD COLUMN task_count INTEGER NOT NULL DEFAULT 0;
  UPDATE lists SET task_count = (SELECT count(*) FROM tasks WHERE tasks.list_id = lists.id);
  -- In the schema rather than the store, so cascades and raw inserts (the demo seed) count too.
  CREATE TRIGGER tasks_count_insert AFTER INSERT ON tasks BEGIN
    UPDATE lists SET task_count = task_count + 1 WHERE id = NEW.list_id;
  END;
  CREATE TRIGGER tasks_count_delete AFTER DELETE ON tasks BEGIN
    UPDATE lists SET task_count = task_count - 1 WHERE id = OLD.list_id;
  END;
  CREATE TRIGGER tasks_count_move AFTER UPDATE OF list_id ON tasks
    WHEN OLD.list_id IS NOT NEW.list_id BEGIN
    UPDATE lists SET task_count = task_count - 1 WHERE id = OLD.list_id;
    UPDATE lists SET task_count = task_count + 1 WHERE id = NEW.list_id;
  END;
  `,
  // 3: idempotency keys: what each keyed mutation answered, kept a day (see Store).
  `
  CREATE TABLE idempotency_keys (
    user_id TEXT NOT NULL,
    key TEXT NOT NULL,
    fingerprint TEXT NOT NULL,
    result TEXT NOT NULL,
    created_at TEXT NOT NULL,
    PRIMARY KEY (user_id, key)
  ) STRICT, WITHOUT ROWID;
  CREATE INDEX idempotency_keys_created ON idempotency_keys(created_at);
  -- The log's head when the member was added: they may replay only from their own member_added.
  ALTER TABLE board_members ADD COLUMN added_after INTEGER NOT NULL DEFAULT 0;
  `,
  // 4: accounts an operator deactivated (they cannot sign in; their sessions were ended).
  `
  ALTER TABLE users ADD COLUMN deactivated_at TEXT;
  `,
  // 5: the log as the board's history (event format 2): the card or list each event is about
  // (a card's history is an index read), the trash, and where each member last looked.
  `
  ALTER TABLE events ADD COLUMN subject_id TEXT;
  UPDATE events SET subject_id = coalesce(json_extract(payload, '$.task.id'),
    json_extract(payload, '$.taskId'), json_extract(payload, '$.list.id'),
    json_extract(payload, '$.listId'))
  WHERE substr(type, 1, 5) IN ('task_', 'list_');
  CREATE INDEX events_board_subject ON events(board_id, subject_id, seq)
    WHERE subject_id IS NOT NULL;
  -- The seq an event reverts: a retried revert finds the event it made by an index read.
  ALTER TABLE events ADD COLUMN revert_of INTEGER;
  CREATE INDEX events_board_revert ON events(board_id, revert_of) WHERE revert_of IS NOT NULL;
  -- A deleted card (content: the task) or list (content: {list, tasks}) until restored or
  -- TRASH_KEEP_MS old, or archived. A card deleted with its list is inside the list's row.
  CREATE TABLE trash (
    item_id TEXT PRIMARY KEY,
    board_id TEXT NOT NULL REFERENCES boards(id) ON DELETE CASCADE,
    kind TEXT NOT NULL CHECK (kind IN ('task', 'list')),
    list_id TEXT,
    title TEXT NOT NULL,
    content TEXT NOT NULL,
    deleted_by TEXT,
    deleted_at TEXT NOT NULL,
    -- Archived (kept, hidden, searchable) rather than deleted: never pruned.
    archived INTEGER NOT NULL DEFAULT 0
  ) STRICT;
  -- Pages read newest first by rowid, which the index holds after its columns.
  CREATE INDEX trash_board ON trash(board_id, archived);
  CREATE INDEX trash_deleted ON trash(deleted_at) WHERE archived = 0;
  -- Covering the actor: unread counts and history by person read the index alone.
  DROP INDEX events_board_seq;
  CREATE INDEX events_board_seq ON events(board_id, seq, actor_id);
  -- A value that lost a concurrent edit, kept whole on its card until someone resolves it.
  CREATE TABLE task_conflicts (
    id TEXT PRIMARY KEY,
    board_id TEXT NOT NULL REFERENCES boards(id) ON DELETE CASCADE,
    task_id TEXT NOT NULL REFERENCES tasks(id) ON DELETE CASCADE,
    field TEXT NOT NULL,
    value TEXT NOT NULL,
    author_id TEXT,
    base_version INTEGER NOT NULL,
    created_at TEXT NOT NULL
  ) STRICT;
  CREATE INDEX task_conflicts_board ON task_conflicts(board_id, created_at);
  CREATE INDEX task_conflicts_task ON task_conflicts(task_id);
  CREATE TABLE board_seen (
    board_id TEXT NOT NULL REFERENCES boards(id) ON DELETE CASCADE,
    user_id TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    cursor INTEGER NOT NULL,
    PRIMARY KEY (board_id, user_id)
  ) STRICT, WITHOUT ROWID;
  `,
  // 6: retention per board (see event_log.ts): how far each board's events were pruned, and the
  // seq through which every board's were (the one horizon before this version).
  `
  CREATE TABLE board_horizon (
    board_id TEXT PRIMARY KEY,
    pruned_through INTEGER NOT NULL
  ) STRICT, WITHOUT ROWID;
  INSERT INTO meta (key, value)
    SELECT 'pruned_all_through', value FROM meta WHERE key = 'pruned_through';
  `,
];

/**
 * Brings the database to schema version `target` (the newest when omitted; tests build an older
 * database with it to check what a later migration carries over).
 */
export function migrate(db: DatabaseSync, target: number = MIGRATIONS.length): void {
  db.exec(
    "CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, applied_at TEXT NOT NULL) STRICT",
  );
  const row = db.prepare("SELECT coalesce(max(version), 0) AS v FROM schema_migrations").get() as {
    v: number;
  };
  for (let version = row.v + 1; version <= target; version++) {
    db.exec("BEGIN IMMEDIATE");
    try {
      db.exec(MIGRATIONS[version - 1]);
      db.prepare("INSERT INTO schema_migrations (version, applied_at) VALUES (?, ?)").run(
        version,
        new Date().toISOString(),
      );
      db.exec("COMMIT");
    } catch (error) {
      db.exec("ROLLBACK");
      throw error;
    }
  }
}
