/**
 * Versioned schema migrations for the PostgreSQL store, run under a session advisory lock so
 * that instances starting together migrate once. Each version runs in its own transaction and
 * is recorded in `schema_migrations`. Append new versions; never edit old ones.
 */
import type { Sql } from "postgres";

const MIGRATIONS: string[] = [
  // 1: accounts, boards, lists, tasks (ordered by rank, as SQLite's migration 2), and the log.
  `
  CREATE TABLE users (
    id text PRIMARY KEY,
    email text NOT NULL,
    name text NOT NULL,
    password_hash text,
    is_admin boolean NOT NULL DEFAULT false,
    created_at timestamptz NOT NULL
  );
  -- Emails are unique whatever their case: the constraint decides, not a check-then-insert.
  CREATE UNIQUE INDEX users_email ON users (lower(email));
  CREATE TABLE sessions (
    token_hash text PRIMARY KEY,
    user_id text NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    created_at timestamptz NOT NULL,
    expires_at timestamptz NOT NULL
  );
  CREATE INDEX sessions_user ON sessions (user_id);
  CREATE INDEX sessions_expiry ON sessions (expires_at);
  CREATE TABLE boards (
    id text PRIMARY KEY,
    title text NOT NULL,
    owner_id text NOT NULL REFERENCES users(id),
    created_at timestamptz NOT NULL,
    updated_at timestamptz NOT NULL
  );
  CREATE TABLE board_members (
    board_id text NOT NULL REFERENCES boards(id) ON DELETE CASCADE,
    user_id text NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    role text NOT NULL CHECK (role IN ('owner', 'member')),
    added_at timestamptz NOT NULL,
    PRIMARY KEY (board_id, user_id)
  );
  CREATE INDEX board_members_user ON board_members (user_id);
  CREATE TABLE lists (
    id text PRIMARY KEY,
    board_id text NOT NULL REFERENCES boards(id) ON DELETE CASCADE,
    title text NOT NULL,
    position integer NOT NULL,
    created_at timestamptz NOT NULL,
    updated_at timestamptz NOT NULL
  );
  CREATE INDEX lists_board ON lists (board_id, position);
  CREATE TABLE tasks (
    -- Byte order, as in SQLite: ids break rank ties, and every instance must agree on the order.
    id text COLLATE "C" PRIMARY KEY,
    board_id text NOT NULL REFERENCES boards(id) ON DELETE CASCADE,
    list_id text NOT NULL REFERENCES lists(id) ON DELETE CASCADE,
    title text NOT NULL,
    description text NOT NULL DEFAULT '',
    assignee_id text REFERENCES users(id) ON DELETE SET NULL,
    rank double precision NOT NULL,
    version integer NOT NULL DEFAULT 1,
    created_by text,
    created_at timestamptz NOT NULL,
    updated_at timestamptz NOT NULL
  );
  CREATE INDEX tasks_list ON tasks (list_id, rank, id);
  CREATE INDEX tasks_board_updated ON tasks (board_id, updated_at);
  -- The highest seq ever committed. Bumped as the last statement of each write transaction, so
  -- its row lock orders the commits: seqs are dense and in commit order (see store.ts).
  CREATE TABLE event_head (
    id smallint PRIMARY KEY CHECK (id = 1),
    seq bigint NOT NULL
  ) WITH (fillfactor = 20);
  INSERT INTO event_head VALUES (1, 0);
  -- How far the log was pruned; its own row, so a prune never holds the head's lock.
  CREATE TABLE event_horizon (
    id smallint PRIMARY KEY CHECK (id = 1),
    pruned_through bigint NOT NULL
  );
  INSERT INTO event_horizon VALUES (1, 0);
  -- No foreign key to boards: a board_deleted event outlives its board.
  CREATE TABLE events (
    seq bigint PRIMARY KEY,
    board_id text NOT NULL,
    type text NOT NULL,
    payload text NOT NULL,
    actor_id text,
    created_at timestamptz NOT NULL
  );
  CREATE INDEX events_board_seq ON events (board_id, seq);
  CREATE INDEX events_created ON events (created_at);
  CREATE TABLE meta (key text PRIMARY KEY, value text NOT NULL);
  `,
  // 2: each list's task count, kept by triggers, so a task placed at the end of a list learns
  // its dense position without counting the list (counting 1,200 tasks cost 0.9 ms of the
  // server's CPU per create, most of a write's cost on PostgreSQL).
  `
  ALTER TABLE lists ADD COLUMN task_count integer NOT NULL DEFAULT 0;
  UPDATE lists SET task_count = (SELECT count(*) FROM tasks WHERE tasks.list_id = lists.id);
  CREATE FUNCTION count_list_tasks() RETURNS trigger LANGUAGE plpgsql
  SET search_path FROM CURRENT AS $$
  BEGIN
    IF TG_OP IN ('DELETE', 'UPDATE') THEN
      UPDATE lists SET task_count = task_count - 1 WHERE id = OLD.list_id;
    END IF;
    IF TG_OP IN ('INSERT', 'UPDATE') THEN
      UPDATE lists SET task_count = task_count + 1 WHERE id = NEW.list_id;
    END IF;
    RETURN NULL;
  END $$;
  CREATE TRIGGER tasks_count_added_removed AFTER INSERT OR DELETE ON tasks
    FOR EACH ROW EXECUTE FUNCTION count_list_tasks();
  CREATE TRIGGER tasks_count_moved AFTER UPDATE OF list_id ON tasks
    FOR EACH ROW WHEN (OLD.list_id <> NEW.list_id) EXECUTE FUNCTION count_list_tasks();
  `,
  // 3: idempotency keys: what each keyed mutation answered, kept a day (see Store).
  `
  CREATE TABLE idempotency_keys (
    user_id text NOT NULL,
    key text NOT NULL,
    fingerprint text NOT NULL,
    result text NOT NULL,
    created_at timestamptz NOT NULL,
    PRIMARY KEY (user_id, key)
  );
  CREATE INDEX idempotency_keys_created ON idempotency_keys (created_at);
  -- The log's head when the member was added: they may replay only from their own member_added.
  ALTER TABLE board_members ADD COLUMN added_after bigint NOT NULL DEFAULT 0;
  `,
  // 4: accounts an operator deactivated (they cannot sign in; their sessions were ended).
  `
  ALTER TABLE users ADD COLUMN deactivated_at timestamptz;
  `,
  // 5: the log as the board's history (event format 2): the card or list each event is about
  // (a card's history is an index read), the trash, and where each member last looked.
  `
  ALTER TABLE events ADD COLUMN subject_id text;
  UPDATE events SET subject_id = coalesce(payload::json -> 'task' ->> 'id',
    payload::json ->> 'taskId', payload::json -> 'list' ->> 'id', payload::json ->> 'listId')
  WHERE left(type, 5) IN ('task_', 'list_');
  CREATE INDEX events_board_subject ON events (board_id, subject_id, seq)
    WHERE subject_id IS NOT NULL;
  -- The seq an event reverts: a retried revert finds the event it made by an index read.
  ALTER TABLE events ADD COLUMN revert_of bigint;
  CREATE INDEX events_board_revert ON events (board_id, revert_of) WHERE revert_of IS NOT NULL;
  -- A deleted card (content: its row) or list (content: {list, tasks} rows) until restored or
  -- TRASH_KEEP_MS old, or archived. A card deleted with its list is inside the list's row.
  CREATE TABLE trash (
    item_id text PRIMARY KEY,
    board_id text NOT NULL REFERENCES boards(id) ON DELETE CASCADE,
    kind text NOT NULL CHECK (kind IN ('task', 'list')),
    list_id text,
    title text NOT NULL,
    content text NOT NULL,
    deleted_by text,
    deleted_at timestamptz NOT NULL,
    -- Archived (kept, hidden, searchable) rather than deleted: never pruned.
    archived boolean NOT NULL DEFAULT false,
    -- Insertion order: deletions of one batch share their time.
    ord bigint GENERATED ALWAYS AS IDENTITY
  );
  CREATE INDEX trash_board ON trash (board_id, archived, ord);
  CREATE INDEX trash_deleted ON trash (deleted_at) WHERE NOT archived;
  -- Covering the actor: unread counts and history by person read the index alone.
  DROP INDEX events_board_seq;
  CREATE INDEX events_board_seq ON events (board_id, seq) INCLUDE (actor_id);
  -- A value that lost a concurrent edit, kept whole on its card until someone resolves it.
  CREATE TABLE task_conflicts (
    id text PRIMARY KEY,
    board_id text NOT NULL REFERENCES boards(id) ON DELETE CASCADE,
    task_id text NOT NULL REFERENCES tasks(id) ON DELETE CASCADE,
    field text NOT NULL,
    value text NOT NULL,
    author_id text,
    base_version integer NOT NULL,
    created_at timestamptz NOT NULL
  );
  CREATE INDEX task_conflicts_board ON task_conflicts (board_id, created_at);
  CREATE INDEX task_conflicts_task ON task_conflicts (task_id);
  CREATE TABLE board_seen (
    board_id text NOT NULL REFERENCES boards(id) ON DELETE CASCADE,
    user_id text NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    cursor bigint NOT NULL,
    PRIMARY KEY (board_id, user_id)
  );
  `,
  // 6: retention per board (see PostgresStore.prune): how far each board's events were pruned;
  // the seq through which every board's were (the one horizon before this version); the head
  // at the last prune (boards with events since may have old events to let go).
  `
  CREATE TABLE board_horizon (
    board_id text PRIMARY KEY,
    pruned_through bigint NOT NULL
  );
  ALTER TABLE event_horizon ADD COLUMN all_pruned_through bigint NOT NULL DEFAULT 0,
    ADD COLUMN pruned_at_head bigint NOT NULL DEFAULT 0;
  UPDATE event_horizon SET all_pruned_through = pruned_through;
  `,
];

/** Creates the schema if needed and brings it to the newest version, once across instances. */
export async function migrate(sql: Sql, schema: string): Promise<void> {
  const reserved = await sql.reserve();
  try {
    // A session lock, keyed by schema: deployments in other schemas migrate independently.
    await reserved`SELECT pg_advisory_lock(hashtext(${"liveboard-migrate:" + schema}))`;
    try {
      await reserved.unsafe(`CREATE SCHEMA IF NOT EXISTS "${schema}"`);
      await reserved.unsafe(
        `CREATE TABLE IF NOT EXISTS "${schema}".schema_migrations (
           version integer PRIMARY KEY, applied_at timestamptz NOT NULL)`,
      );
      const [{ v }] = await reserved.unsafe(
        `SELECT coalesce(max(version), 0) AS v FROM "${schema}".schema_migrations`,
      );
      for (let version = Number(v) + 1; version <= MIGRATIONS.length; version++) {
        await reserved.unsafe("BEGIN");
        try {
          await reserved.unsafe(`SET LOCAL search_path TO "${schema}"`);
          await reserved.unsafe(MIGRATIONS[version - 1]);
          await reserved.unsafe(
            "INSERT INTO schema_migrations (version, applied_at) VALUES ($1, now())",
            [version],
          );
          await reserved.unsafe("COMMIT");
        } catch (error) {
          await reserved.unsafe("ROLLBACK");
          throw error;
        }
      }
    } finally {
      await reserved`SELECT pg_advisory_unlock(hashtext(${"liveboard-migrate:" + schema}))`;
    }
  } finally {
    reserved.release();
  }
}
