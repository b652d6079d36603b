/**
 * The `Store` contract (src/store/store.ts, its header comment) as one suite, `storeContract`,
 * run against every implementation: SQLite (a fresh file per test) always, PostgreSQL (a fresh
 * schema per test) when it answers (in CI, `LIVEBOARD_REQUIRE_ALL=1` makes its absence fail).
 * Each case seeds the demo data (src/store/seed.ts) and checks one guarantee in a way that fails
 * when the guarantee is broken:
 *
 * - one event per mutation, published to the commit listener in seq order before the mutation
 *   resolves; refused mutations publish nothing and leave no hole in the seqs;
 * - concurrent mutations leave a dense log in commit order, and `cursor()` is never ahead of
 *   what a reader can see;
 * - `cursor()` and `snapshot()` agree with the log: replaying the events after a snapshot's
 *   cursor (strictly: versions step by one, nothing is created twice) gives the later snapshot,
 *   also for snapshots taken while writes are in flight;
 * - `eventsAfter()` pages carry the prune horizon; pruning by count and by age; seqs never go
 *   back, even when every event was pruned;
 * - the same `DomainError` codes on every store, and refused mutations change nothing;
 * - membership is checked inside the mutation's transaction;
 * - the seed is idempotent and writes no events;
 * - task positions stay dense under concurrent moves, and replaying the moves gives the order.
 *
 * PostgreSQL only: two instances (two `PostgresStore`s on one schema) seed once, commit in seq
 * order across connections (a held head lock stops both), interleave into one dense log, and a
 * member removed on one instance cannot write on the other.
 */
import assert from "node:assert/strict";
import { DomainError, IdempotencyReplay } from "../src/errors.ts";
import { demoSeed, seedDemoData } from "../src/store/seed.ts";
import { PostgresStore } from "../src/store/postgres/store.ts";
import { SqliteStore } from "../src/store/sqlite/store.ts";
import type { BoardEvent, Mutation, Snapshot, Store, Task } from "../src/store/store.ts";
import { postgresAvailable, skipUnless, testDatabase, withPostgres } from "./helpers.ts";

/** An open store and how to close it and drop its database. */
interface OpenedStore {
  store: Store;
  /** Checks what the implementation must hold after any test (PostgreSQL: no fast statement failed). */
  check?(): void;
  close(): Promise<void>;
}

type OpenStore = () => Promise<OpenedStore>;

/** Password hashing iterations for the seed (fast). */
const ITERATIONS = 1000;
/** A page limit larger than any log here. */
const ALL = 100_000;
/** Writer lock timeout on PostgreSQL: well above the 200 ms the head lock is held for. */
const LOCK_TIMEOUT_MS = 5000;

const BOARD1_LISTS = ["list-todo", "list-in-progress", "list-done"] as const;
const BOARD1_TASKS = ["task-1", "task-2", "task-3", "task-4"] as const;

// ---- implementations ----------------------------------------------------------------------

const openSqlite: OpenStore = async () => {
  const database = await testDatabase("sqlite");
  let store: SqliteStore;
  try {
    store = new SqliteStore(database.databaseUrl);
  } catch (error) {
    await database.drop();
    throw error;
  }
  return {
    store,
    close: async () => {
      try {
        await store.close();
      } finally {
        await database.drop();
      }
    },
  };
};

const openPostgres: OpenStore = async () => {
  const database = await testDatabase("postgres");
  let store: PostgresStore;
  try {
    store = await PostgresStore.open(database.databaseUrl, {
      schema: database.databaseSchema,
      lockTimeoutMs: LOCK_TIMEOUT_MS,
    });
  } catch (error) {
    await database.drop();
    throw error;
  }
  return {
    store,
    check: () =>
      assert.equal(
        store.db.fastPath.failed,
        0,
        "a one-statement mutation failed and fell back (its error is logged as a warning)",
      ),
    close: async () => {
      try {
        await store.close();
      } finally {
        await database.drop();
      }
    },
  };
};

// ---- helpers --------------------------------------------------------------------------------

/** Opens a fresh store, seeds it (unless told not to), runs `fn`, then closes and drops it. */
async function withStore(
  open: OpenStore,
  fn: (store: Store) => Promise<void>,
  { seed = true } = {},
): Promise<void> {
  const opened = await open();
  try {
    if (seed) assert.equal(await seedDemoData(opened.store, ITERATIONS), true, "first seed");
    await fn(opened.store);
    opened.check?.();
  } finally {
    await opened.close();
  }
}

/** Registers a commit listener that records every event it gets, in order. */
function observe(store: Store): BoardEvent[] {
  const seen: BoardEvent[] = [];
  store.onCommit((event) => seen.push(event));
  return seen;
}

/** Resolves with the mutation after checking the listener had its event when it resolved. */
function published<T>(seen: BoardEvent[], mutation: Promise<Mutation<T>>): Promise<Mutation<T>> {
  return mutation.then((result) => {
    assert.ok(
      seen.some((event) => event.id === result.event.id),
      `event ${result.event.id} (${result.event.type}) resolved before the commit listener got it`,
    );
    return result;
  });
}

/** Asserts `promise` rejects with a `DomainError` of `code`; returns the error. */
async function refused(promise: Promise<unknown>, code: string, what: string) {
  try {
    await promise;
  } catch (error) {
    assert.ok(
      error instanceof DomainError,
      `${what}: expected DomainError "${code}", got ${
        error instanceof Error ? error.stack : error
      }`,
    );
    assert.equal(error.code, code, `${what}: ${error.message}`);
    return error;
  }
  assert.fail(`${what}: expected "${code}", but it succeeded`);
}

/** Every event of the log after `after`. */
async function logAfter(store: Store, after: number): Promise<BoardEvent[]> {
  return (await store.eventsAfter(null, after, ALL)).events;
}

/** from+1, from+2, ..., to. */
function range(from: number, to: number): number[] {
  return Array.from({ length: Math.max(to - from, 0) }, (_, i) => from + 1 + i);
}

const ids = (events: readonly BoardEvent[]) => events.map((event) => event.id);
const byId = (a: BoardEvent, b: BoardEvent) => a.id - b.id;

/** Asserts each id is larger than the one before. */
function assertIncreasing(values: number[], what: string): void {
  for (let i = 1; i < values.length; i++) {
    assert.ok(values[i] > values[i - 1], `${what}: ${values[i]} came after ${values[i - 1]}`);
  }
}

/** Settled results that rejected, as readable lines (for an assertion message). */
function rejections(results: PromiseSettledResult<unknown>[]): string[] {
  return results.flatMap((result, i) =>
    result.status === "rejected"
      ? [`#${i}: ${result.reason instanceof Error ? result.reason.stack : result.reason}`]
      : []
  );
}

/** The values of settled results, failing with every rejection when any rejected. */
function fulfilled<T>(results: PromiseSettledResult<T>[], what: string): T[] {
  const failed = rejections(results);
  assert.deepEqual(failed, [], `${what}: ${failed.length} rejected:\n${failed.join("\n")}`);
  return results.map((result) => (result as PromiseFulfilledResult<T>).value);
}

const delay = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** A small deterministic PRNG (mulberry32), so failures reproduce. */
function random(seed: number): (n: number) => number {
  let state = seed >>> 0;
  return (n) => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return Math.floor((((t ^ (t >>> 14)) >>> 0) / 4294967296) * n);
  };
}

/** Fails when `userId` wrote on `boardId` between being removed and being added back. */
function assertNoWriteAfterRemoval(events: BoardEvent[], boardId: string, userId: string) {
  let member = true;
  for (const event of events) {
    if (event.boardId !== boardId) continue;
    if (event.type === "member_removed" && event.member.userId === userId) member = false;
    else if (event.type === "member_added" && event.member.userId === userId) member = true;
    else if (event.actorId === userId) {
      assert.ok(member, `event ${event.id} (${event.type}) by ${userId} came after their removal`);
    }
  }
}

// ---- replaying events on a snapshot ---------------------------------------------------------

type TaskState = Omit<Task, "position">;

/** What a board snapshot says, in a form events can be replayed on (positions left out). */
interface BoardState {
  title: string;
  lists: Map<string, string>;
  members: Set<string>;
  tasks: Map<string, TaskState>;
}

function withoutPosition(task: Task): TaskState {
  const { position: _position, ...rest } = task;
  return rest;
}

function boardState(snapshot: Snapshot): BoardState {
  return {
    title: snapshot.board.title,
    lists: new Map(snapshot.lists.map((list) => [list.id, list.title])),
    members: new Set(snapshot.members.map((member) => member.userId)),
    tasks: new Map(snapshot.tasks.map((task) => [task.id, withoutPosition(task)])),
  };
}

/**
 * Applies one event strictly: a created thing must be new, an updated or deleted one must
 * exist, and a task's version must step by exactly one — so replaying from a snapshot whose
 * rows and cursor are not of the same moment fails.
 */
function applyEvent(state: BoardState, event: BoardEvent): void {
  const where = `event ${event.id} (${event.type})`;
  switch (event.type) {
    case "board_updated":
      state.title = event.board.title;
      break;
    case "list_created":
      assert.ok(!state.lists.has(event.list.id), `${where}: list already there`);
      state.lists.set(event.list.id, event.list.title);
      break;
    case "list_updated":
    case "list_moved":
      assert.ok(state.lists.has(event.list.id), `${where}: no such list`);
      state.lists.set(event.list.id, event.list.title);
      break;
    case "list_deleted":
      assert.ok(state.lists.delete(event.listId), `${where}: no such list`);
      for (const [id, task] of state.tasks) {
        if (task.listId === event.listId) state.tasks.delete(id);
      }
      break;
    case "member_added":
      assert.ok(!state.members.has(event.member.userId), `${where}: already a member`);
      state.members.add(event.member.userId);
      break;
    case "member_removed":
      assert.ok(state.members.delete(event.member.userId), `${where}: not a member`);
      break;
    case "task_created":
      assert.ok(!state.tasks.has(event.task.id), `${where}: task already there`);
      state.tasks.set(event.task.id, withoutPosition(event.task));
      break;
    case "task_updated":
    case "task_moved": {
      const before = state.tasks.get(event.task.id);
      assert.ok(before, `${where}: no such task`);
      assert.equal(event.task.version, before.version + 1, `${where}: version does not follow`);
      state.tasks.set(event.task.id, withoutPosition(event.task));
      break;
    }
    case "task_deleted":
      assert.ok(state.tasks.delete(event.taskId), `${where}: no such task`);
      break;
    default:
      assert.fail(`${where}: not expected on an existing board`);
  }
}

/** The snapshot with the board's events after its cursor replayed on it. */
async function replayed(store: Store, snapshot: Snapshot): Promise<BoardState> {
  const state = boardState(snapshot);
  const { events } = await store.eventsAfter([snapshot.board.id], snapshot.cursor, ALL);
  for (const event of events) applyEvent(state, event);
  return state;
}

/** Task ids per list of board-1, in position order, checking positions are 0..n-1. */
function listOrder(tasks: Task[]): Record<string, string[]> {
  const order: Record<string, string[]> = Object.fromEntries(BOARD1_LISTS.map((id) => [id, []]));
  for (const listId of BOARD1_LISTS) {
    const inList = tasks.filter((task) => task.listId === listId)
      .sort((a, b) => a.position - b.position);
    assert.deepEqual(
      inList.map((task) => task.position),
      range(-1, inList.length - 1),
      `positions of ${listId}: ${JSON.stringify(inList.map((t) => [t.id, t.position]))}`,
    );
    order[listId] = inList.map((task) => task.id);
  }
  return order;
}

// ---- the contract -----------------------------------------------------------------------------

function storeContract(name: string, open: OpenStore, ignore: boolean): void {
  const test = (title: string, fn: () => Promise<void>) =>
    Deno.test({ name: `[${name}] ${title}`, ignore, fn });

  test(
    "a keyed mutation records its value in its transaction; the same key again writes nothing",
    () =>
      withStore(open, async (store) => {
        const seen = observe(store);
        const idempotency = { key: "k-1", fingerprint: "f-1" };
        const first = await store.createTask("user-1", { listId: "list-todo", title: "Once" }, {
          idempotency,
        });
        assert.deepEqual(await store.idempotentResult("user-1", "k-1"), {
          fingerprint: "f-1",
          result: first.value,
        });
        await assert.rejects(
          store.createTask("user-1", { listId: "list-todo", title: "Once" }, { idempotency }),
          IdempotencyReplay,
        );
        assert.equal(seen.length, 1, "the second wrote no event");
        const tasks = await store.tasksForBoard("board-1");
        assert.equal(tasks.filter((task) => task.title === "Once").length, 1);
        // A refused keyed mutation records nothing; keys are per user.
        await assert.rejects(
          store.moveTask("user-1", "task-nowhere", { listId: "list-done", position: 0 }, {
            idempotency: { key: "k-2", fingerprint: "f-2" },
          }),
          (error: DomainError) => error.code === "not_found",
        );
        assert.equal(await store.idempotentResult("user-1", "k-2"), null);
        assert.equal(await store.idempotentResult("user-2", "k-1"), null);
      }),
  );

  test(
    "each mutation commits one event, published in seq order before it resolves, and a refused one leaves no hole",
    () =>
      withStore(open, async (store) => {
        const seen = observe(store);
        const start = await store.cursor();
        const done: { mutation: Mutation<unknown>; type: string; boardId: string }[] = [];
        const ok = async (type: string, boardId: string, mutation: Promise<Mutation<unknown>>) => {
          done.push({ mutation: await published(seen, mutation), type, boardId });
        };

        // One at a time, good and refused alternating.
        await ok(
          "task_created",
          "board-1",
          store.createTask("user-1", { listId: "list-todo", title: "A" }),
        );
        await refused(
          store.updateTask("user-1", "task-1", { title: "x", version: 99 }),
          "version_conflict",
          "stale update",
        );
        await ok(
          "task_updated",
          "board-1",
          store.updateTask("user-1", "task-1", { title: "B", version: 1 }),
        );
        await refused(
          store.moveTask("user-1", "task-1", { listId: "list-b2-ideas", position: 0 }),
          "invalid_list",
          "move to board-2",
        );
        await ok(
          "task_moved",
          "board-1",
          store.moveTask("user-2", "task-1", { listId: "list-done", position: 0 }),
        );
        await refused(
          store.updateTask("user-2", "task-5", { title: "no" }),
          "not_found",
          "non-member update",
        );
        await ok("list_created", "board-1", store.createList("user-1", "board-1", "Later"));
        await ok("board_updated", "board-2", store.renameBoard("user-3", "board-2", "Roadmap"));
        await refused(store.deleteTask("user-1", "task-missing"), "not_found", "missing task");
        await ok("task_deleted", "board-1", store.deleteTask("user-1", "task-2"));
        await ok("member_added", "board-2", store.addMember("user-3", "board-2", "user-2"));
        await ok("member_removed", "board-2", store.removeMember("user-3", "board-2", "user-2"));
        const created = await published(seen, store.createBoard("user-2", "Bob's board"));
        done.push({ mutation: created, type: "board_created", boardId: created.value.board.id });
        assert.equal(created.value.lists.length, 3, "a new board has its default lists");
        assert.equal(
          created.value.cursor,
          created.event.id,
          "a new board's snapshot is of its event",
        );
        await ok(
          "board_deleted",
          created.value.board.id,
          store.deleteBoard("user-2", created.value.board.id),
        );

        // In one tick (one group commit where there is one): refusals among successes.
        const mixed = await Promise.allSettled([
          published(seen, store.createTask("user-1", { listId: "list-todo", title: "batch 1" })),
          store.updateTask("user-1", "task-3", { title: "x", version: 42 }),
          store.updateTask("user-2", "task-5", { title: "x" }),
          published(seen, store.updateTask("user-2", "task-3", { title: "batch 2" })),
          store.moveTask("user-1", "task-4", { listId: "list-missing", position: 0 }),
          published(seen, store.createList("user-3", "board-2", "batch 3")),
          store.createTask("user-1", { listId: "list-b2-ideas", title: "x" }),
        ]);
        const expected = [
          "task_created",
          "version_conflict",
          "not_found",
          "task_updated",
          "invalid_list",
          "list_created",
          "not_found",
        ];
        mixed.forEach((result, i) => {
          if (/^(task|list)_/.test(expected[i])) {
            assert.equal(result.status, "fulfilled", `batch #${i}: ${rejections([result])}`);
            const mutation = (result as PromiseFulfilledResult<Mutation<unknown>>).value;
            done.push({ mutation, type: expected[i], boardId: i === 5 ? "board-2" : "board-1" });
          } else {
            assert.equal(result.status, "rejected", `batch #${i} should have been refused`);
            const reason = (result as PromiseRejectedResult).reason;
            assert.ok(reason instanceof DomainError, `batch #${i}: ${reason}`);
            assert.equal(reason.code, expected[i], `batch #${i}: ${reason.message}`);
          }
        });

        // Exactly one event per successful mutation, of the right type and board.
        for (const { mutation, type, boardId } of done) {
          assert.equal(mutation.event.type, type);
          assert.equal(mutation.event.boardId, boardId, `${type} event's board`);
          assert.equal(typeof mutation.event.id, "number");
        }
        const returned = done.map(({ mutation }) => mutation.event).sort(byId);
        assert.equal(
          new Set(ids(returned)).size,
          returned.length,
          "every mutation has its own seq",
        );

        // The listener got exactly those events, in strictly increasing seq order.
        assertIncreasing(ids(seen), "commit listener order");
        assert.deepEqual(
          seen,
          returned,
          "the listener gets the events the mutations resolved with",
        );

        // The log is dense: start+1..cursor, nothing for the refused ones, the same events.
        const cursor = await store.cursor();
        assert.equal(
          cursor - start,
          done.length,
          "one seq per successful mutation, none for refusals",
        );
        const log = await logAfter(store, start);
        assert.deepEqual(ids(log), range(start, cursor), "dense log");
        assert.deepEqual(log, seen, "the log holds the events that were published");
      }),
  );

  test("200 concurrent mutations leave a dense log in commit order", () =>
    withStore(open, async (store) => {
      const seen = observe(store);
      const start = await store.cursor();
      const pick = random(2);
      const mutations: Promise<Mutation<unknown>>[] = [];
      const probes: Promise<void>[] = [];
      for (let i = 0; i < 200; i++) {
        const task = BOARD1_TASKS[pick(4)];
        const list = BOARD1_LISTS[pick(3)];
        switch (i % 5) {
          case 0:
            mutations.push(store.createTask("user-1", { listId: list, title: `new ${i}` }));
            break;
          case 1:
            mutations.push(store.moveTask("user-2", task, { listId: list, position: pick(4) }));
            break;
          case 2:
            mutations.push(store.updateTask("user-3", "task-5", { title: `plan ${i}` }));
            break;
          case 3:
            mutations.push(
              store.createTask("user-3", { listId: "list-b2-ideas", title: `idea ${i}` }),
            );
            break;
          default:
            mutations.push(store.updateTask("user-guest", task, { description: `note ${i}` }));
        }
        if (i % 25 === 12) {
          // cursor() is never ahead of the log: every seq up to it is readable right away.
          probes.push((async () => {
            const cursor = await store.cursor();
            const visible = (await store.eventsAfter(null, start, ALL)).events
              .filter((event) => event.id <= cursor);
            assert.deepEqual(ids(visible), range(start, cursor), `log below cursor ${cursor}`);
          })());
        }
      }
      const results = fulfilled(await Promise.allSettled(mutations), "concurrent mutations");
      await Promise.all(probes);

      const cursor = await store.cursor();
      const log = await logAfter(store, start);
      assert.equal(log.length, cursor - start, "as many events as seqs taken");
      assert.equal(log.length, 200, "one event per mutation");
      assert.deepEqual(ids(log), range(start, cursor), "seqs are consecutive");
      const inLog = new Map(log.map((event) => [event.id, event]));
      for (const { event } of results) {
        assert.deepEqual(inLog.get(event.id), event, `returned event ${event.id} is in the log`);
      }
      assert.equal(new Set(results.map(({ event }) => event.id)).size, 200, "200 distinct seqs");
      assertIncreasing(ids(seen), "commit listener order");
      assert.deepEqual(seen, log, "the listener saw the log, in seq order");

      const board2 = (await store.eventsAfter(["board-2"], start, ALL)).events;
      assert.deepEqual(board2, log.filter((event) => event.boardId === "board-2"), "board filter");
    }));

  test("cursor and snapshots agree with the log, and replaying after a snapshot gives the later one", () =>
    withStore(open, async (store) => {
      assert.equal(await store.snapshot("board-missing"), null);
      const first = await store.createTask("user-1", { listId: "list-todo", title: "one" });
      const second = await store.updateTask("user-3", "task-5", { title: "two" });
      const cursor = await store.cursor();
      assert.equal(cursor, second.event.id, "cursor is the newest seq");
      assert.equal(Math.max(...ids(await logAfter(store, 0))), cursor, "cursor is the highest seq");
      assert.ok(second.event.id > first.event.id);

      const before = (await store.snapshot("board-1"))!;
      assert.equal(before.cursor, await store.cursor(), "a snapshot's cursor is the current one");
      assert.equal(before.board.id, "board-1");
      assert.deepEqual(before.tasks, await store.tasksForBoard("board-1"), "snapshot tasks");
      assert.deepEqual(before.members, await store.listMembers("board-1"), "snapshot members");

      // The event right after a snapshot's cursor is the next write.
      const created = await store.createTask("user-2", { listId: "list-done", title: "after" });
      const { events: [next, ...rest] } = await store.eventsAfter(["board-1"], before.cursor, ALL);
      assert.equal(rest.length, 0);
      assert.equal(next?.type, "task_created");
      assert.deepEqual(next, created.event);
      assert.equal(next.id, before.cursor + 1);

      // Replaying strictly, from snapshots taken back to back while 4 writers make 60 writes
      // (one at a time each, so commits keep landing between and during the snapshots' reads).
      const pick = random(3);
      const write = (i: number): Promise<unknown> => {
        const task = BOARD1_TASKS[pick(4)];
        const list = BOARD1_LISTS[pick(3)];
        switch (i % 6) {
          case 0:
            return store.createTask("user-2", { listId: list, title: `c${i}` });
          case 1:
            return store.moveTask("user-1", task, { listId: list, position: pick(3) });
          case 2:
            return store.updateTask("user-3", task, { title: `u${i}`, assigneeId: "user-2" });
          case 3:
            return store.updateTask("user-3", "task-5", { title: `board-2 ${i}` });
          case 4:
            return i === 16
              ? store.createList("user-2", "board-1", "Extra")
              : i === 34
              ? store.renameBoard("user-1", "board-1", "Renamed")
              : store.updateTask("user-1", task, { description: `d${i}` });
          default:
            return store.moveTask("user-guest", task, { listId: list, position: 0 });
        }
      };
      let writing = true;
      const writers = Promise.all([0, 1, 2, 3].map(async (writer) => {
        for (let i = writer; i < 60; i += 4) await write(i);
      })).finally(() => (writing = false));
      const snapshots: Snapshot[] = [];
      while (writing || snapshots.length === 0) {
        snapshots.push((await store.snapshot("board-1"))!);
        await delay(0); // A store that answers at once must still let the writes run.
      }
      await writers;
      const after = (await store.snapshot("board-1"))!;
      assert.equal(after.cursor, await store.cursor(), "the final snapshot's cursor is current");
      const expected = boardState(after);
      assert.equal(expected.title, "Renamed");
      assert.deepEqual(await replayed(store, before), expected, "replay from before the writes");
      for (const snapshot of snapshots) {
        assert.deepEqual(
          await replayed(store, snapshot),
          expected,
          `replay from the snapshot at cursor ${snapshot.cursor}`,
        );
      }
    }));

  test("event pages carry the prune horizon, and seqs never go back after pruning", () =>
    withStore(open, async (store) => {
      for (let i = 0; i < 4; i++) {
        await store.createTask("user-1", { listId: "list-todo", title: `t${i}` });
      }
      await store.updateTask("user-3", "task-5", { title: "board-2" });
      const cursor = await store.cursor();
      assert.equal(cursor, 5);
      let page = await store.eventsAfter(null, 0, ALL);
      assert.equal(page.prunedThrough, 0);
      assert.deepEqual(ids(page.events), range(0, cursor));
      page = await store.eventsAfter(null, 1, 2);
      assert.deepEqual(ids(page.events), [2, 3], "limit and after");
      assert.equal(page.prunedThrough, 0);

      const policy = { maxCount: 2, maxAgeMs: 3600_000 };
      assert.equal(await store.prune(policy), cursor - 2, "pruned all but the newest 2");
      page = await store.eventsAfter(null, 0, ALL);
      assert.equal(page.prunedThrough, cursor - 2, "the page tells how far the log was pruned");
      assert.deepEqual(ids(page.events), [cursor - 1, cursor], "only the newest 2 are left");
      assert.equal(await store.prunedThrough(), cursor - 2);
      for (const boards of [["board-1"], ["board-2"], []]) {
        page = await store.eventsAfter(boards, 0, ALL);
        assert.equal(page.prunedThrough, cursor - 2, `horizon with boards ${boards}`);
      }
      assert.deepEqual(ids((await store.eventsAfter(["board-2"], 0, ALL)).events), [cursor]);
      assert.equal(await store.prune(policy), 0, "pruning again removes nothing");
      assert.equal(await store.cursor(), cursor, "pruning does not move the cursor");

      assert.equal(await store.prune({ maxCount: 1, maxAgeMs: 3600_000 }), 1);
      page = await store.eventsAfter(null, 0, ALL);
      assert.deepEqual(ids(page.events), [cursor]);
      assert.equal(page.prunedThrough, cursor - 1);

      // Every event pruned (the newest included): the cursor stays, the next seq follows it.
      assert.equal(await store.prune({ maxCount: 0, maxAgeMs: 3600_000 }), 1);
      page = await store.eventsAfter(null, 0, ALL);
      assert.deepEqual(page.events, []);
      assert.equal(page.prunedThrough, cursor);
      assert.equal(await store.cursor(), cursor, "cursor does not go back when the log is empty");
      const next = await store.createTask("user-1", { listId: "list-todo", title: "next" });
      assert.equal(next.event.id, cursor + 1, "the next seq follows the old cursor");
      assert.equal(await store.cursor(), cursor + 1);
      page = await store.eventsAfter(null, 0, ALL);
      assert.deepEqual(ids(page.events), [cursor + 1]);
      assert.equal(page.prunedThrough, cursor);

      // By age: everything older than 1 ms goes, whatever the count allows.
      await delay(20);
      assert.equal(await store.prune({ maxCount: 1000, maxAgeMs: 1 }), 1, "pruned by age");
      page = await store.eventsAfter(null, 0, ALL);
      assert.deepEqual(page.events, []);
      assert.equal(page.prunedThrough, cursor + 1);
      const last = await store.updateTask("user-1", "task-1", { title: "again" });
      assert.equal(last.event.id, cursor + 2);
    }));

  test("each board keeps its newest events when the log is pruned, and only its own pruning makes its readers resync", () =>
    withStore(open, async (store) => {
      const seqsOf = async (boardId: string) => {
        const page = await store.eventsAfter([boardId], 0, ALL);
        return { seqs: ids(page.events), horizon: page.prunedThrough };
      };
      await store.updateTask("user-3", "task-5", { title: "quiet" }); // board-2: seq 1
      for (let i = 0; i < 6; i++) {
        await store.createTask("user-1", { listId: "list-todo", title: `t${i}` }); // board-1: 2–7
      }
      const policy = { maxCount: 2, maxAgeMs: 3600_000, keepPerBoard: 3 };
      assert.equal(await store.prune(policy), 3, "only board-1's oldest 3 go");
      assert.deepEqual(await seqsOf("board-2"), { seqs: [1], horizon: 0 }, "the quiet board");
      assert.deepEqual(await seqsOf("board-1"), { seqs: [5, 6, 7], horizon: 4 });
      assert.equal(await store.prunedThrough(["board-2"]), 0);
      assert.equal(await store.prunedThrough(["board-1", "board-2"]), 4, "the highest of both");
      assert.ok(await store.prunedThrough() >= 4, "the log's horizon covers every board's");
      assert.deepEqual(ids(await store.history("board-2", { limit: 10 }, 0)), [1]);
      assert.equal(await store.prune(policy), 0, "pruning again removes nothing");

      // New events on board-2 move its newest 3 on: its oldest goes at the next prune.
      for (const title of ["a", "b", "c"]) {
        await store.updateTask("user-3", "task-5", { title }); // 8–10
      }
      assert.equal(await store.prune(policy), 1);
      assert.deepEqual(await seqsOf("board-2"), { seqs: [8, 9, 10], horizon: 7 });
      assert.deepEqual(await seqsOf("board-1"), { seqs: [5, 6, 7], horizon: 4 });

      // A deleted board keeps nothing past the log's own limits.
      await store.deleteBoard("user-3", "board-2"); // 11
      assert.equal(await store.prune(policy), 2, "board-2's events through seq 9");
      assert.deepEqual(ids((await store.eventsAfter(["board-2"], 0, ALL)).events), [10, 11]);
      assert.deepEqual(await seqsOf("board-1"), { seqs: [5, 6, 7], horizon: 4 });

      // Without a per-board floor, every board is pruned alike again.
      assert.equal(await store.prune({ maxCount: 1, maxAgeMs: 3600_000 }), 4);
      assert.deepEqual(await seqsOf("board-1"), { seqs: [], horizon: 10 });
    }));

  test("errors have the same codes on every store and refused mutations change nothing", () =>
    withStore(open, async (store) => {
      const seen = observe(store);
      const start = await store.cursor();
      const task1 = (await store.getTask("task-1"))!;
      const attempts: [string, string, () => Promise<unknown>][] = [
        // Missing things.
        [
          "not_found",
          "update a missing task",
          () => store.updateTask("user-1", "task-missing", { title: "x" }),
        ],
        [
          "not_found",
          "move a missing task",
          () => store.moveTask("user-1", "task-missing", { listId: "list-todo", position: 0 }),
        ],
        ["not_found", "delete a missing task", () => store.deleteTask("user-1", "task-missing")],
        [
          "not_found",
          "create a task in a missing list",
          () => store.createTask("user-1", { listId: "list-missing", title: "x" }),
        ],
        [
          "not_found",
          "update a missing list",
          () => store.updateList("user-1", "list-missing", { title: "x" }),
        ],
        ["not_found", "delete a missing list", () => store.deleteList("user-1", "list-missing")],
        [
          "not_found",
          "create a list on a missing board",
          () => store.createList("user-1", "board-missing", "x"),
        ],
        [
          "not_found",
          "rename a missing board",
          () => store.renameBoard("user-1", "board-missing", "x"),
        ],
        ["not_found", "delete a missing board", () => store.deleteBoard("user-1", "board-missing")],
        [
          "not_found",
          "add a member to a missing board",
          () => store.addMember("user-1", "board-missing", "user-2"),
        ],
        [
          "not_found",
          "remove a user who is not a member",
          () => store.removeMember("user-3", "board-2", "user-2"),
        ],
        // A non-member (user-2 on board-2) learns nothing.
        [
          "not_found",
          "non-member updates task-5",
          () => store.updateTask("user-2", "task-5", { title: "x" }),
        ],
        [
          "not_found",
          "non-member moves task-5",
          () => store.moveTask("user-2", "task-5", { listId: "list-b2-doing", position: 0 }),
        ],
        ["not_found", "non-member deletes task-5", () => store.deleteTask("user-2", "task-5")],
        [
          "not_found",
          "non-member creates a task on board-2",
          () => store.createTask("user-2", { listId: "list-b2-ideas", title: "x" }),
        ],
        [
          "not_found",
          "non-member creates a list on board-2",
          () => store.createList("user-2", "board-2", "x"),
        ],
        [
          "not_found",
          "non-member renames a list of board-2",
          () => store.updateList("user-2", "list-b2-ideas", { title: "x" }),
        ],
        [
          "not_found",
          "non-member deletes a list of board-2",
          () => store.deleteList("user-2", "list-b2-ideas"),
        ],
        [
          "not_found",
          "non-member renames board-2",
          () => store.renameBoard("user-2", "board-2", "x"),
        ],
        ["not_found", "non-member deletes board-2", () => store.deleteBoard("user-2", "board-2")],
        [
          "not_found",
          "non-member adds to board-2",
          () => store.addMember("user-2", "board-2", "user-1"),
        ],
        // A member doing the owner's job.
        ["forbidden", "member renames board-1", () => store.renameBoard("user-2", "board-1", "x")],
        ["forbidden", "member deletes board-1", () => store.deleteBoard("user-2", "board-1")],
        [
          "forbidden",
          "member removes another member",
          () => store.removeMember("user-2", "board-1", "user-3"),
        ],
        // The board's rules.
        [
          "version_conflict",
          "stale update",
          () => store.updateTask("user-1", "task-1", { title: "x", version: 7 }),
        ],
        [
          "version_conflict",
          "stale move",
          () =>
            store.moveTask("user-1", "task-1", { listId: "list-done", position: 0, version: 0 }),
        ],
        [
          "invalid_assignee",
          "assign a non-member on create",
          () =>
            store.createTask("user-3", {
              listId: "list-b2-ideas",
              title: "x",
              assigneeId: "user-2",
            }),
        ],
        [
          "invalid_assignee",
          "assign a non-member on update",
          () => store.updateTask("user-3", "task-5", { assigneeId: "user-1" }),
        ],
        [
          "invalid_assignee",
          "assign a missing user",
          () => store.updateTask("user-1", "task-1", { assigneeId: "user-missing" }),
        ],
        [
          "invalid_list",
          "move to another board's list",
          () => store.moveTask("user-1", "task-1", { listId: "list-b2-ideas", position: 0 }),
        ],
        [
          "invalid_list",
          "move to a missing list",
          () => store.moveTask("user-1", "task-1", { listId: "list-missing", position: 0 }),
        ],
        [
          "already_member",
          "add a member twice",
          () => store.addMember("user-1", "board-1", "user-2"),
        ],
        [
          "owner_cannot_leave",
          "owner removes themselves",
          () => store.removeMember("user-1", "board-1", "user-1"),
        ],
        [
          "owner_cannot_leave",
          "owner of board-2 leaves",
          () => store.removeMember("user-3", "board-2", "user-3"),
        ],
        [
          "email_taken",
          "an existing email in another case",
          () => store.createUser({ email: "ALICE@Example.COM", name: "A", passwordHash: "h" }),
        ],
      ];

      // One at a time...
      for (const [code, what, attempt] of attempts) {
        const error = await refused(attempt(), code, what);
        if (code === "version_conflict") {
          assert.deepEqual(error.extra?.task, task1, `${what}: extra.task is the current task`);
        }
      }
      // ...and all at once (one group commit where there is one).
      const results = await Promise.allSettled(attempts.map(([, , attempt]) => attempt()));
      results.forEach((result, i) => {
        const [code, what] = attempts[i];
        assert.equal(result.status, "rejected", `${what} (at once) succeeded`);
        const reason = (result as PromiseRejectedResult).reason;
        assert.ok(reason instanceof DomainError, `${what} (at once): ${reason}`);
        assert.equal(reason.code, code, `${what} (at once): ${reason.message}`);
      });

      // An email is taken in any case, including one created here.
      await store.createUser({ email: "dave@example.com", name: "Dave", passwordHash: "h" });
      await refused(
        store.createUser({ email: "Dave@Example.com", name: "Dave 2", passwordHash: "h" }),
        "email_taken",
        "new account's email in another case",
      );
      assert.equal((await store.findUserByEmail("DAVE@example.com"))?.user.name, "Dave");

      // Nothing was written or published.
      assert.equal(await store.cursor(), start, "refusals take no seq");
      assert.deepEqual(seen, [], "refusals publish nothing");
      assert.deepEqual(await store.getTask("task-1"), task1, "task-1 unchanged");
      assert.equal((await store.snapshot("board-2"))?.board.title, "Carol's Roadmap");
      assert.equal(await store.memberRole("board-1", "user-2"), "member");
      assert.equal(await store.memberRole("board-2", "user-2"), null);
      assert.deepEqual((await store.snapshot("board-1"))?.lists.map((l) => l.id), [
        ...BOARD1_LISTS,
      ]);
    }));

  test("a member removed concurrently cannot write once more: membership is checked inside the transaction", () =>
    withStore(open, async (store) => {
      const start = await store.cursor();
      for (let round = 0; round < 10; round++) {
        const removal = () => store.removeMember("user-1", "board-1", "user-2");
        const update = () => store.updateTask("user-2", "task-1", { title: `round ${round}` });
        // Both in the same tick, in either order.
        const [removed, updated] = round % 2 === 0
          ? await Promise.allSettled([removal(), update()])
          : await Promise.allSettled([update(), removal()]).then(([u, r]) => [r, u] as const);
        assert.equal(removed.status, "fulfilled", `round ${round}: ${rejections([removed])}`);
        const removedAt = (removed as PromiseFulfilledResult<Mutation<unknown>>).value.event.id;
        if (updated.status === "fulfilled") {
          assert.ok(
            updated.value.event.id < removedAt,
            `round ${round}: update ${updated.value.event.id} committed after removal ${removedAt}`,
          );
        } else {
          assert.ok(updated.reason instanceof DomainError, `round ${round}: ${updated.reason}`);
          assert.equal(
            updated.reason.code,
            "not_found",
            `round ${round}: ${updated.reason.message}`,
          );
        }
        if (round < 9) await store.addMember("user-1", "board-1", "user-2");
      }
      assertNoWriteAfterRemoval(await logAfter(store, start), "board-1", "user-2");

      // Removed: nothing of board-1 is theirs to write, or to see.
      const cursor = await store.cursor();
      await refused(
        store.createTask("user-2", { listId: "list-todo", title: "x" }),
        "not_found",
        "create",
      );
      await refused(store.updateTask("user-2", "task-1", { title: "x" }), "not_found", "update");
      await refused(
        store.moveTask("user-2", "task-1", { listId: "list-done", position: 0 }),
        "not_found",
        "move",
      );
      await refused(store.deleteTask("user-2", "task-2"), "not_found", "delete");
      await refused(store.createList("user-2", "board-1", "x"), "not_found", "create a list");
      await refused(store.removeMember("user-2", "board-1", "user-2"), "not_found", "leave again");
      assert.equal(await store.cursor(), cursor);
      assert.equal(await store.memberRole("board-1", "user-2"), null);
      assert.equal(await store.taskForMember("task-1", "user-2"), null);
    }));

  test("seeding is idempotent and writes no events", () =>
    withStore(open, async (store) => {
      assert.equal(await store.cursor(), 0);
      // Twice at once on one store: one seeds.
      const seeded = await Promise.all([
        seedDemoData(store, ITERATIONS),
        seedDemoData(store, ITERATIONS),
      ]);
      assert.deepEqual(seeded.filter(Boolean), [true], `seed results ${seeded}`);
      assert.equal(await store.cursor(), 0, "the seed writes no events");
      assert.deepEqual(await store.eventsAfter(null, 0, ALL), { events: [], prunedThrough: 0 });
      const board1 = (await store.snapshot("board-1"))!;
      assert.deepEqual(board1.tasks.map((t) => t.id).sort(), [...BOARD1_TASKS]);
      assert.deepEqual(board1.members.map((m) => m.userId).sort(), [
        "user-1",
        "user-2",
        "user-3",
        "user-guest",
      ]);
      assert.deepEqual(board1.lists.map((list) => list.id), [...BOARD1_LISTS]);
      assert.equal(board1.cursor, 0);
      assert.deepEqual(await store.tasksForBoard("board-2").then((ts) => ts.map((t) => t.id)), [
        "task-5",
      ]);

      // Users change the seeded rows; seeding again neither builds nor brings anything back.
      await store.updateTask("user-1", "task-1", { title: "Renamed" });
      await store.deleteTask("user-1", "task-2");
      await store.removeMember("user-1", "board-1", "user-guest");
      const cursor = await store.cursor();
      let built = 0;
      const again = await store.seed(() => {
        built++;
        return demoSeed(ITERATIONS);
      });
      assert.equal(again, false, "the second seed resolves false");
      assert.equal(built, 0, "the seed is not built again");
      assert.equal(await seedDemoData(store, ITERATIONS), false);
      assert.equal(await store.cursor(), cursor, "no events");
      assert.equal((await store.getTask("task-1"))?.title, "Renamed");
      assert.equal(await store.getTask("task-2"), null, "a deleted seed task stays deleted");
      assert.equal(await store.memberRole("board-1", "user-guest"), null);
      assert.equal((await store.tasksForBoard("board-1")).length, 3);
    }, { seed: false }));

  test("positions stay dense under concurrent moves, and replaying the moves gives the order", () =>
    withStore(open, async (store) => {
      const start = await store.cursor();
      const initial = listOrder(await store.tasksForBoard("board-1"));
      const pick = random(8);
      const actors = ["user-1", "user-2", "user-3", "user-guest"];
      const positions = [0, 1, 2, 3, 99, undefined];

      // 30 concurrent moves among the three lists.
      const moves = Array.from(
        { length: 30 },
        () =>
          store.moveTask(actors[pick(4)], BOARD1_TASKS[pick(4)], {
            listId: BOARD1_LISTS[pick(3)],
            position: positions[pick(positions.length)] as number,
          }),
      );
      fulfilled(await Promise.allSettled(moves), "concurrent moves");
      listOrder(await store.tasksForBoard("board-1"));

      // 30 more, with creates and a delete among them (moves of the deleted task may be refused).
      const mixed: Promise<unknown>[] = [];
      for (let i = 0; i < 30; i++) {
        const list = BOARD1_LISTS[pick(3)];
        if (i % 5 === 2) {
          mixed.push(
            store.createTask("user-2", { listId: list, title: `n${i}`, position: pick(4) }),
          );
        } else if (i === 13) mixed.push(store.deleteTask("user-1", "task-4"));
        else {
          mixed.push(
            store.moveTask(actors[pick(4)], BOARD1_TASKS[pick(4)], {
              listId: list,
              position: positions[pick(positions.length)] as number,
            }).catch((error) => {
              if (error instanceof DomainError && error.code === "not_found") return null;
              throw error;
            }),
          );
        }
      }
      fulfilled(await Promise.allSettled(mixed), "moves, creates and a delete");

      const tasks = await store.tasksForBoard("board-1");
      assert.equal(tasks.length, 4 - 1 + 6, "every task is still there, once");
      assert.equal(new Set(tasks.map((task) => task.id)).size, tasks.length);
      const final = listOrder(tasks);
      assert.deepEqual((await store.snapshot("board-1"))!.tasks, tasks, "snapshot agrees");

      // Replaying the events in seq order, with the positions they report, gives that order.
      const order = structuredClone(initial);
      const where = (taskId: string) =>
        Object.entries(order).find(([, ids]) => ids.includes(taskId))?.[0];
      for (const event of (await store.eventsAfter(["board-1"], start, ALL)).events) {
        const at = `event ${event.id} (${event.type})`;
        if (event.type === "task_moved") {
          const from = where(event.task.id)!;
          assert.equal(event.fromListId, from, `${at}: fromListId`);
          assert.equal(
            event.fromPosition,
            order[from].indexOf(event.task.id),
            `${at}: fromPosition`,
          );
          order[from].splice(order[from].indexOf(event.task.id), 1);
          const target = order[event.task.listId];
          assert.ok(event.task.position <= target.length, `${at}: position past the end`);
          target.splice(event.task.position, 0, event.task.id);
        } else if (event.type === "task_created") {
          const target = order[event.task.listId];
          assert.ok(event.task.position <= target.length, `${at}: position past the end`);
          target.splice(event.task.position, 0, event.task.id);
        } else if (event.type === "task_deleted") {
          const list = order[event.listId];
          assert.ok(list.includes(event.taskId), `${at}: not in ${event.listId}`);
          list.splice(list.indexOf(event.taskId), 1);
        } else assert.fail(`${at}: unexpected`);
      }
      assert.deepEqual(order, final, "replayed order");
    }));
}

storeContract("sqlite", openSqlite, false);
const postgresMissing = skipUnless(postgresAvailable, "PostgreSQL");
storeContract("postgres", openPostgres, postgresMissing);

// ---- PostgreSQL: several instances on one database ----------------------------------------

Deno.test({
  name:
    "[postgres] task creates, moves, edits and deletes each run as one statement; a failed check falls back",
  ignore: postgresMissing,
  fn: () =>
    withStore(openPostgres, async (untyped) => {
      const store = untyped as PostgresStore;
      const { fastPath } = store.db;
      const created = await store.createTask("user-1", { listId: "list-todo", title: "one" });
      const moved = await store.moveTask("user-1", created.value.id, {
        listId: "list-done",
        position: 1,
      });
      assert.equal(moved.value.position, 1);
      await store.updateTask("user-1", created.value.id, { title: "two", assigneeId: "user-2" });
      await store.deleteTask("user-1", created.value.id);
      assert.deepEqual(fastPath, { applied: 4, declined: 0, failed: 0 });
      // A stale version: the statement applies nothing and the general body says why.
      await assert.rejects(
        store.updateTask("user-1", "task-1", { title: "x", version: 99 }),
        (error: DomainError) => error.code === "version_conflict",
      );
      assert.deepEqual(fastPath, { applied: 4, declined: 1, failed: 0 });
    }),
});

/** Two `PostgresStore`s on one fresh schema (two instances of the server), seeded at once. */
async function withTwoInstances(
  fn: (a: PostgresStore, b: PostgresStore, schema: string) => Promise<void>,
): Promise<void> {
  const database = await testDatabase("postgres");
  const options = { schema: database.databaseSchema, lockTimeoutMs: LOCK_TIMEOUT_MS };
  const opened: PostgresStore[] = [];
  try {
    opened.push(await PostgresStore.open(database.databaseUrl, options));
    opened.push(await PostgresStore.open(database.databaseUrl, options));
    const [a, b] = opened;
    const seeded = await Promise.all([seedDemoData(a, ITERATIONS), seedDemoData(b, ITERATIONS)]);
    assert.deepEqual(seeded.filter(Boolean), [true], `two instances seeding: ${seeded}`);
    await fn(a, b, database.databaseSchema);
  } finally {
    await Promise.all(opened.map((store) => store.close()));
    await database.drop();
  }
}

Deno.test({
  name:
    "[postgres] two instances commit in seq order: a held head lock stops both, and their logs interleave densely",
  ignore: postgresMissing,
  fn: () =>
    withTwoInstances(async (a, b, schema) => {
      const seenA = observe(a);
      const seenB = observe(b);
      const start = await a.cursor();

      // Another transaction holds the head's row lock: neither instance can commit.
      let release!: () => void;
      const released = new Promise<void>((resolve) => (release = resolve));
      let locked!: () => void;
      const lockHeld = new Promise<void>((resolve) => (locked = resolve));
      const holder = withPostgres(
        (sql) =>
          sql.begin(async (tx) => {
            await tx`UPDATE event_head SET seq = seq WHERE id = 1`;
            locked();
            await released;
          }),
        schema,
      );
      holder.catch(() => locked()); // Do not wait forever if the holder fails.
      try {
        await lockHeld;
        let settled = 0;
        const both = Promise.allSettled([
          a.createTask("user-1", { listId: "list-todo", title: "from A" }),
          b.createTask("user-3", { listId: "list-b2-ideas", title: "from B" }),
        ].map((mutation) => mutation.finally(() => settled++)));
        await delay(200);
        assert.equal(settled, 0, "a mutation resolved while the head was locked");
        assert.equal(await a.cursor(), start, "nothing committed while the head was locked");
        assert.deepEqual(await logAfter(b, start), []);
        release();
        await holder;
        const [fromA, fromB] = fulfilled(await both, "mutations after the lock is released");
        assert.deepEqual(
          [fromA.event.id, fromB.event.id].sort((x, y) => x - y),
          range(start, start + 2),
          "dense after the wait",
        );
        assert.deepEqual(seenA, [fromA.event], "A publishes its own event");
        assert.deepEqual(seenB, [fromB.event], "B publishes its own event");
      } finally {
        release();
        await holder.catch(() => {});
      }

      // 2 instances x 100 concurrent mutations. They meet only at the head (A writes board-1,
      // B board-2): row locks taken in opposite orders by two instances' batches deadlock, and
      // each deadlock stalls both for PostgreSQL's deadlock_timeout, which is not what this
      // checks.
      const middle = await a.cursor();
      const pick = random(9);
      const onA: Promise<Mutation<unknown>>[] = [];
      const onB: Promise<Mutation<unknown>>[] = [];
      for (let i = 0; i < 100; i++) {
        const task = BOARD1_TASKS[pick(4)];
        const list = BOARD1_LISTS[pick(3)];
        const board2List = pick(2) === 0 ? "list-b2-ideas" : "list-b2-doing";
        onA.push(
          i % 3 === 0
            ? a.createTask("user-1", { listId: list, title: `A${i}` })
            : i % 3 === 1
            ? a.moveTask("user-2", task, { listId: list, position: pick(4) })
            : a.updateTask("user-guest", task, { description: `A${i}` }),
        );
        onB.push(
          i % 3 === 0
            ? b.createTask("user-3", { listId: board2List, title: `B${i}` })
            : i % 3 === 1
            ? b.moveTask("user-3", "task-5", { listId: board2List, position: pick(3) })
            : b.updateTask("user-3", "task-5", { title: `B${i}` }),
        );
      }
      const [resultsA, resultsB] = await Promise.all([
        Promise.allSettled(onA).then((results) => fulfilled(results, "instance A")),
        Promise.allSettled(onB).then((results) => fulfilled(results, "instance B")),
      ]);
      const cursor = await b.cursor();
      assert.equal(await a.cursor(), cursor, "both instances read the same cursor");
      const log = await logAfter(a, middle);
      assert.equal(log.length, 200);
      assert.deepEqual(ids(log), range(middle, cursor), "the union of both instances is dense");
      assert.deepEqual(await logAfter(b, middle), log, "both instances read the same log");

      const fromA = seenA.filter((event) => event.id > middle);
      const fromB = seenB.filter((event) => event.id > middle);
      assertIncreasing(ids(fromA), "A's listener order");
      assertIncreasing(ids(fromB), "B's listener order");
      assert.deepEqual(fromA, resultsA.map(({ event }) => event).sort(byId), "A published its own");
      assert.deepEqual(fromB, resultsB.map(({ event }) => event).sort(byId), "B published its own");
      assert.deepEqual(
        [...fromA, ...fromB].sort(byId),
        log,
        "the two listeners together saw every seq once",
      );
      listOrder(await a.tasksForBoard("board-1"));
    }),
});

Deno.test({
  name: "[postgres] a member removed on one instance cannot write once more on another",
  ignore: postgresMissing,
  fn: () =>
    withTwoInstances(async (a, b) => {
      const start = await a.cursor();
      for (let round = 0; round < 12; round++) {
        const [removed, updated, created] = await Promise.allSettled([
          a.removeMember("user-1", "board-1", "user-2"),
          b.updateTask("user-2", "task-1", { title: `round ${round}` }),
          b.createTask("user-2", { listId: "list-todo", title: `round ${round}` }),
        ]);
        assert.equal(removed.status, "fulfilled", `round ${round}: ${rejections([removed])}`);
        const removedAt = removed.value.event.id;
        for (const [what, result] of [["update", updated], ["create", created]] as const) {
          if (result.status === "fulfilled") {
            assert.ok(
              result.value.event.id < removedAt,
              `round ${round}: ${what} ${result.value.event.id} committed after removal ${removedAt}`,
            );
          } else {
            assert.ok(
              result.reason instanceof DomainError,
              `round ${round} ${what}: ${result.reason}`,
            );
            assert.equal(result.reason.code, "not_found", `round ${round} ${what}`);
          }
        }
        await a.addMember("user-1", "board-1", "user-2");
      }
      assertNoWriteAfterRemoval(await logAfter(b, start), "board-1", "user-2");
      const cursor = await b.cursor();
      assert.deepEqual(ids(await logAfter(b, start)), range(start, cursor), "dense");
    }),
});

Deno.test({
  name:
    "[postgres] two instances writing to one board queue behind its lock instead of deadlocking",
  ignore: postgresMissing,
  fn: () =>
    withTwoInstances(async (a, b) => {
      const deadlocks = () =>
        withPostgres(async (sql) =>
          Number(
            (await sql`SELECT deadlocks FROM pg_stat_database
              WHERE datname = current_database()`)[0].deadlocks,
          )
        );
      // Statistics are flushed about once a second (PostgreSQL 15).
      await delay(1100);
      const before = await deadlocks();
      const start = await a.cursor();
      const pick = random(17);
      const writes: Promise<Mutation<unknown>>[] = [];
      for (let i = 0; i < 200; i++) {
        const store = i % 2 === 0 ? a : b;
        const task = BOARD1_TASKS[pick(4)];
        const list = BOARD1_LISTS[pick(3)];
        writes.push(
          i % 4 === 0
            ? store.createTask("user-1", { listId: list, title: `t${i}` })
            : i % 4 === 1
            ? store.moveTask("user-2", task, { listId: list, position: pick(4) })
            : i % 4 === 2
            ? store.updateTask("user-guest", task, { description: `d${i}` })
            : store.updateList("user-3", list, { position: pick(3) }),
        );
      }
      fulfilled(await Promise.allSettled(writes), "every write on the shared board");
      assert.deepEqual(ids(await logAfter(a, start)), range(start, start + 200), "dense");
      await delay(1100);
      assert.equal(await deadlocks() - before, 0, "deadlocks while two instances wrote");
      listOrder(await b.tasksForBoard("board-1"));
    }),
});
