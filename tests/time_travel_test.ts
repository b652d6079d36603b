/**
 * Time travel (issue 11), the contract of static/js/time_travel.js: for random sequences of
 * changes made against a real server, the board un-applied from the final snapshot back to every
 * seq (`unapplyEvent`, newest first) shows what the log folded forward to that seq with
 * `BoardModel.applyEvent` shows — the same board title, lists in order, each list's cards in
 * order with the same fields, and members. Not compared: `updatedAt` (the log does not say when
 * something was changed before) and the numbers in `position` (the model keeps order, as
 * applyEvent does). Also: re-applying an undone event gives the board back; the walker
 * (`TimeTravel`) reaches every moment through small history pages, stepping older to the board's
 * creation and newer back to the newest; format-1 events, the board's creation and events the log
 * does not hold end the walk instead of being guessed at.
 *
 * `TIME_TRAVEL_SEED`, `TIME_TRAVEL_RUNS` and `TIME_TRAVEL_MAX_OPS` tune the property test.
 */
import assert from "node:assert/strict";
import fc from "fast-check";
import { BoardModel } from "../static/js/board_model.js";
import {
  HistoryUnavailable,
  stopReason,
  TimeTravel,
  unapplyEvent,
} from "../static/js/time_travel.js";
import { expectStatus, startTestServer, TEST_STORE, type TestServer } from "./helpers.ts";
import { allPages, history, type Json } from "./history_helpers.ts";

/** An event as the client's model takes it. */
type Ev = Parameters<BoardModel["applyEvent"]>[0];

const SEED = Number(Deno.env.get("TIME_TRAVEL_SEED") ?? 20261111);
const RUNS = Number(Deno.env.get("TIME_TRAVEL_RUNS") ?? 25);
const MAX_OPS = Number(Deno.env.get("TIME_TRAVEL_MAX_OPS") ?? 40);
const VERBOSE = !!Deno.env.get("TIME_TRAVEL_VERBOSE");

// ---- what the board shows ------------------------------------------------------------------

function omit(object: Json, keys: string[]): Json {
  return Object.fromEntries(Object.entries(object).filter(([key]) => !keys.includes(key)));
}

/** What a board model shows, for comparing two of them (see the header for what is left out). */
function shown(model: BoardModel): Json {
  const lists = model.lists.map((list: Json) => ({
    ...omit(list, ["updatedAt", "position"]),
    cards: (model.columns.get(list.id) ?? []).map((task: Json) =>
      omit(task, ["updatedAt", "position"])
    ),
  }));
  return {
    board: omit(model.board, ["updatedAt"]),
    deleted: model.deleted,
    lists,
    // A column without its list would be a card the board does not show but still holds.
    strayColumns: [...model.columns.keys()].filter((id) => !model.list(id)),
    members: [...model.members].sort((a, b) => a.userId.localeCompare(b.userId)),
  };
}

/** The open conflicts a model keeps (ids, in order), when it keeps them. */
function conflictIds(model: BoardModel): string[] {
  const held = (model as unknown as { conflicts?: { id: string }[] }).conflicts;
  return (held ?? []).map((c) => c.id);
}

/** Events that take a card's open conflicts with it (and do not list them). */
const DROPS_CONFLICTS = new Set(["task_deleted", "task_archived", "list_deleted", "list_archived"]);

// ---- the pure part, by hand ------------------------------------------------------------------

const at = "2026-01-01T09:00:00.000Z";
const later = "2026-01-02T09:00:00.000Z";
const board = { id: "b", title: "Board", ownerId: "u1", createdAt: at, updatedAt: at };
const list = (id: string, position: number, title = id) => ({
  id,
  boardId: "b",
  title,
  position,
  createdAt: at,
  updatedAt: at,
});
const task = (id: string, listId: string, position: number, extra: Json = {}) => ({
  id,
  boardId: "b",
  listId,
  title: id,
  description: "",
  assigneeId: null as string | null,
  position,
  version: 1,
  createdBy: "u1",
  createdAt: at,
  updatedAt: at,
  ...extra,
});
const member = (userId: string) => ({
  boardId: "b",
  userId,
  name: userId,
  email: `${userId}@example.com`,
  role: userId === "u1" ? "owner" : "member",
  addedAt: at,
});
let seq = 100;
const event = (type: string, fields: Json, v = 2): Ev => ({
  type,
  v,
  id: ++seq,
  boardId: "b",
  actorId: "u1",
  at: later,
  ...fields,
});

function sample(cursor = seq): BoardModel {
  return new BoardModel({
    board,
    lists: [list("l1", 0, "To do"), list("l2", 1, "Done")],
    tasks: [
      task("t1", "l1", 0),
      task("t2", "l1", 1, { assigneeId: "u2" }),
      task("t3", "l2", 0, { version: 4 }),
    ],
    members: [member("u1"), member("u2")],
    cursor,
  });
}

Deno.test("unapplyEvent undoes each kind of event back to what the board showed before it", () => {
  const events = [
    event("task_created", { task: task("t9", "l1", 1) }),
    event("task_restored", { task: task("t9", "l2", 0, { version: 3 }) }),
    event("task_unarchived", { task: task("t9", "l2", 9) }),
    event("task_updated", {
      task: task("t2", "l1", 1, { title: "New", assigneeId: null, version: 2, updatedAt: later }),
      before: { title: "t2", assigneeId: "u2" },
    }),
    event("task_updated", { task: task("t1", "l1", 0, { version: 2 }), before: {} }),
    event("task_moved", {
      task: task("t1", "l2", 1, { version: 2 }),
      fromListId: "l1",
      fromPosition: 0,
    }),
    event("task_moved", {
      task: task("t2", "l1", 0, { assigneeId: "u2", version: 2 }),
      fromListId: "l1",
      fromPosition: 1,
    }),
    event("task_deleted", {
      taskId: "t2",
      listId: "l1",
      task: task("t2", "l1", 1, { assigneeId: "u2" }),
    }),
    event("task_archived", { task: task("t3", "l2", 0, { version: 4 }) }),
    event("list_created", { list: list("l3", 1, "Doing") }),
    event("list_moved", { list: list("l2", 0, "Done"), fromPosition: 1 }),
    event("list_updated", { list: list("l1", 0, "Backlog"), before: { title: "To do" } }),
    event("list_deleted", {
      listId: "l1",
      list: list("l1", 0, "To do"),
      tasks: [task("t1", "l1", 0), task("t2", "l1", 1, { assigneeId: "u2" })],
    }),
    event("list_archived", {
      list: list("l2", 1, "Done"),
      tasks: [task("t3", "l2", 0, { version: 4 })],
    }),
    event("list_restored", { list: list("l4", 0, "Old"), tasks: [task("t8", "l4", 0)] }),
    event("list_unarchived", { list: list("l4", 2, "Old"), tasks: [] }),
    event("board_updated", { board: { ...board, title: "Renamed" }, before: { title: "Board" } }),
    event("board_deleted", {}),
    event("member_added", { member: member("u3") }),
    event("member_removed", { member: member("u2") }),
    event("conflict_recorded", { conflict: { id: "c1", taskId: "t1" } }),
    event("conflict_resolved", { conflict: { id: "c1", taskId: "t1" } }),
  ];
  for (const e of events) {
    const before = sample(e.id - 1);
    // As the server would have it: the event is the newest on the board.
    const after = before.clone();
    assert.equal(after.applyEvent(e), true, e.type);
    const undone = unapplyEvent(after, e);
    assert.deepEqual(shown(undone), shown(before), `${e.type} undone`);
    assert.equal(undone.cursor, e.id - 1, "as of just before the event");
    assert.deepEqual(
      shown(after),
      shown((() => {
        const again = before.clone();
        again.applyEvent(e);
        return again;
      })()),
      "the model undone from is left as it was",
    );
    // And the version an edit or a move made is one less again.
    if (e.type === "task_updated" || e.type === "task_moved") {
      assert.equal(undone.task(e.task.id)?.version, e.task.version - 1);
    }
  }
});

Deno.test("unapplyEvent refuses what it cannot undo: format 1, the board's creation, the wrong event", () => {
  const model = sample();
  const refused = (e: Ev, reason: string) => {
    assert.throws(
      () => unapplyEvent(model, e),
      (error) => error instanceof HistoryUnavailable && error.reason === reason,
      `${e.type} v${e.v}: ${reason}`,
    );
  };
  const moved = { task: task("t1", "l2", 0), fromListId: "l1", fromPosition: 0 };
  refused({ ...event("task_moved", moved, 1), id: model.cursor }, "format");
  refused(
    { ...event("task_updated", { task: task("t1", "l1", 0) }), id: model.cursor },
    "format",
  );
  refused(
    { ...event("board_created", { board, lists: [], members: [] }), id: model.cursor },
    "start",
  );
  refused({ ...event("task_moved", moved), id: model.cursor + 1 }, "order");
  refused({ ...event("task_moved", moved), id: model.cursor, boardId: "other" }, "order");
  assert.equal(stopReason({ ...event("task_moved", moved), v: undefined }), "format");
  assert.equal(stopReason(event("task_moved", moved)), null);
});

Deno.test("the walker stops at a format-1 event and where the log holds nothing older", async () => {
  // The board: t1 created (v1), then renamed twice (v2), newest first in the pages.
  const created = event("task_created", { task: task("t1", "l1", 0) }, 1);
  const first = event("task_updated", {
    task: task("t1", "l1", 0, { title: "A", version: 2 }),
    before: { title: "t1" },
  });
  const second = event("task_updated", {
    task: task("t1", "l1", 0, { title: "B", version: 3 }),
    before: { title: "A" },
  });
  const log = [second, first, created];
  const base = new BoardModel({
    board,
    lists: [list("l1", 0)],
    tasks: [task("t1", "l1", 0, { title: "B", version: 3 })],
    members: [],
    cursor: second.id + 5,
  });
  const queries: Json[] = [];
  const loadPage = (query: { before: number; after?: number; limit: number }) => {
    queries.push(query);
    const events = log.filter((e) =>
      e.id < query.before && (query.after === undefined || e.id > query.after)
    );
    const page = events.slice(0, query.limit);
    return Promise.resolve({
      events: page,
      next: events.length > query.limit ? page[page.length - 1].id : null,
    });
  };
  const walk = new TimeTravel(base, loadPage, { pageSize: 1 });
  let moment = await walk.open(first.id);
  assert.equal(moment.event?.id, first.id);
  assert.equal(moment.model.task("t1")?.title, "A");
  assert.equal(moment.canOlder, true);
  assert.deepEqual(queries[0], { before: base.cursor + 1, limit: 1, after: first.id - 1 });
  moment = await walk.older();
  assert.equal(moment.event?.id, created.id);
  assert.equal(moment.model.task("t1")?.title, "t1");
  assert.equal(moment.canOlder, false, "format 1: its inverse is not in the log");
  assert.equal(moment.stop, "format");
  assert.equal((await walk.older()).position, moment.position, "no step past it");
  moment = walk.newer();
  assert.equal(moment.model.task("t1")?.title, "A");
  moment = walk.newer();
  assert.equal(moment.model.task("t1")?.title, "B");
  assert.equal(moment.canNewer, false);

  // Pruned below `first`: the board just before it is shown, and nothing older.
  const pruned = new TimeTravel(base, (query) =>
    loadPage(query).then((page) => ({
      events: page.events.filter((e) => e.id !== created.id),
      next: page.events.some((e) => e.id === created.id) ? null : page.next,
    })));
  moment = await pruned.open(created.id);
  assert.equal(moment.before, true, "the moment before the oldest change held");
  assert.equal(moment.event?.id, first.id);
  assert.equal(moment.model.task("t1")?.title, "t1");
  assert.equal(moment.stop, "missing");
  assert.equal(moment.canOlder, false);

  // At most `maxEvents` changes back.
  const short = new TimeTravel(base, loadPage, { pageSize: 1, maxEvents: 1 });
  moment = await short.open(created.id);
  assert.equal(moment.position, 0, "too far: as far as it may go");
  moment = await short.older();
  assert.equal(moment.position, 1);
  assert.equal(moment.stop, "limit");
  assert.equal(moment.canOlder, false);

  // An answer out of order is not trusted.
  const broken = new TimeTravel(
    base,
    () => Promise.resolve({ events: [first, second], next: null }),
  );
  await assert.rejects(() => broken.open(first.id), /out of order/);
});

// ---- against a real server -------------------------------------------------------------------

const USERS = [
  { id: "user-1", email: "alice@example.com" },
  { id: "user-2", email: "bob@example.com" },
  { id: "user-3", email: "carol@example.com" },
] as const;

type Op =
  | {
    op: "createTask";
    by: number;
    list: number;
    title: string;
    position?: number;
    assignee?: number | null;
  }
  | {
    op: "editTask";
    by: number;
    task: number;
    title?: string;
    description?: string;
    assignee?: number | null;
  }
  | { op: "moveTask"; by: number; task: number; list: number; position: number }
  | { op: "deleteTask" | "restoreTask" | "archiveTask" | "unarchiveTask"; by: number; task: number }
  | { op: "createList"; by: number; title: string; position?: number }
  | { op: "renameList"; by: number; list: number; title: string }
  | { op: "moveList"; by: number; list: number; position: number }
  | { op: "deleteList" | "restoreList" | "archiveList" | "unarchiveList"; by: number; list: number }
  | { op: "renameBoard"; title: string }
  | { op: "addMember" | "removeMember"; who: number }
  | { op: "revert"; by: number; back: number }
  | { op: "recordConflict"; by: number; task: number; value: string }
  | { op: "resolveConflict"; by: number; back: number };

const title = fc.constantFrom("Plan", "Ship it", "Ünïcode ✓", "Fix login", "Write docs", "日本語");
const by = fc.constantFrom(0, 0, 1, 2);
const ref = fc.nat(12);
const spot = fc.nat(5);
const assignee = fc.option(fc.constantFrom(0, 1, 2), { nil: null });
const opArb: fc.Arbitrary<Op> = fc.oneof(
  {
    weight: 5,
    arbitrary: fc.record({
      op: fc.constant("createTask" as const),
      by,
      list: ref,
      title,
      position: fc.option(spot, { nil: undefined }),
      assignee: fc.option(assignee, { nil: undefined }),
    }, { requiredKeys: ["op", "by", "list", "title"] }),
  },
  {
    weight: 4,
    arbitrary: fc.record({
      op: fc.constant("editTask" as const),
      by,
      task: ref,
      title: fc.option(title, { nil: undefined }),
      description: fc.option(fc.constantFrom("", "Details", "More\ndetails"), { nil: undefined }),
      assignee: fc.option(assignee, { nil: undefined }),
    }, { requiredKeys: ["op", "by", "task"] }),
  },
  {
    weight: 4,
    arbitrary: fc.record({
      op: fc.constant("moveTask" as const),
      by,
      task: ref,
      list: ref,
      position: spot,
    }),
  },
  {
    weight: 2,
    arbitrary: fc.record({
      op: fc.constantFrom(
        "deleteTask" as const,
        "restoreTask" as const,
        "archiveTask" as const,
        "unarchiveTask" as const,
      ),
      by,
      task: ref,
    }),
  },
  {
    weight: 2,
    arbitrary: fc.record({
      op: fc.constant("createList" as const),
      by,
      title,
      position: fc.option(spot, { nil: undefined }),
    }, { requiredKeys: ["op", "by", "title"] }),
  },
  {
    weight: 1,
    arbitrary: fc.record({ op: fc.constant("renameList" as const), by, list: ref, title }),
  },
  {
    weight: 2,
    arbitrary: fc.record({ op: fc.constant("moveList" as const), by, list: ref, position: spot }),
  },
  {
    weight: 2,
    arbitrary: fc.record({
      op: fc.constantFrom(
        "deleteList" as const,
        "restoreList" as const,
        "archiveList" as const,
        "unarchiveList" as const,
      ),
      by,
      list: ref,
    }),
  },
  { weight: 1, arbitrary: fc.record({ op: fc.constant("renameBoard" as const), title }) },
  {
    weight: 1,
    arbitrary: fc.record({
      op: fc.constantFrom("addMember" as const, "removeMember" as const),
      who: fc.constantFrom(1, 2),
    }),
  },
  { weight: 2, arbitrary: fc.record({ op: fc.constant("revert" as const), by, back: fc.nat(6) }) },
  {
    weight: 1,
    arbitrary: fc.record({
      op: fc.constant("recordConflict" as const),
      by,
      task: ref,
      value: title,
    }),
  },
  {
    weight: 1,
    arbitrary: fc.record({ op: fc.constant("resolveConflict" as const), by, back: fc.nat(3) }),
  },
);

interface Run {
  server: TestServer;
  tokens: string[];
  boardId: string;
  taskIds: string[];
  listIds: string[];
  conflictIds: string[];
  trace: string[];
}

const pick = <T>(items: T[], index: number): T | undefined =>
  items.length ? items[index % items.length] : undefined;

/** Sends one change; refusals (4xx) are part of the game, a 5xx is not. */
async function send(
  run: Run,
  by: number,
  method: string,
  path: string,
  json?: unknown,
): Promise<Json | null> {
  const response = await run.server.request(path, { method, json, token: run.tokens[by] });
  const text = await response.text();
  run.trace.push(
    `${USERS[by].id} ${method} ${path} ${json ? JSON.stringify(json) : ""} → ${response.status}`,
  );
  assert.ok(response.status < 500, `${method} ${path}: ${response.status} ${text}`);
  return response.ok && text ? JSON.parse(text) : null;
}

/** A card or list in the board's trash or archive (by index, newest first), or one never made. */
async function shelved(
  run: Run,
  shelf: "trash" | "archive",
  kind: "task" | "list",
  index: number,
): Promise<string> {
  const items: Json[] = (await expectStatus(
    await run.server.request(`/boards/${run.boardId}/${shelf}`, { token: run.tokens[0] }),
    200,
  )).items;
  return pick(items.filter((item) => item.kind === kind), index)?.id ?? `${kind}-none`;
}

async function perform(run: Run, op: Op): Promise<void> {
  const board = `/boards/${run.boardId}`;
  const taskId = "task" in op ? pick(run.taskIds, op.task) ?? "task-none" : "";
  const listId = "list" in op ? pick(run.listIds, op.list) ?? "list-none" : "";
  const userId = (i: number | null | undefined) => i === null || i === undefined ? i : USERS[i].id;
  switch (op.op) {
    case "createTask": {
      const body = await send(run, op.by, "POST", "/tasks", {
        listId,
        title: op.title,
        ...(op.position !== undefined && { position: op.position }),
        ...(op.assignee !== undefined && { assigneeId: userId(op.assignee) }),
      });
      if (body) run.taskIds.push(body.id);
      return;
    }
    case "editTask":
      await send(run, op.by, "PATCH", `/tasks/${taskId}`, {
        ...(op.title !== undefined && { title: op.title }),
        ...(op.description !== undefined && { description: op.description }),
        ...(op.assignee !== undefined && { assigneeId: userId(op.assignee) }),
      });
      return;
    case "moveTask":
      await send(run, op.by, "PATCH", `/tasks/${taskId}/move`, { listId, position: op.position });
      return;
    case "deleteTask":
      await send(run, op.by, "DELETE", `/tasks/${taskId}`);
      return;
    case "restoreTask":
      await send(
        run,
        op.by,
        "POST",
        `/tasks/${await shelved(run, "trash", "task", op.task)}/restore`,
      );
      return;
    case "archiveTask":
      await send(run, op.by, "POST", `/tasks/${taskId}/archive`);
      return;
    case "unarchiveTask":
      await send(
        run,
        op.by,
        "POST",
        `/tasks/${await shelved(run, "archive", "task", op.task)}/unarchive`,
      );
      return;
    case "createList": {
      const body = await send(run, op.by, "POST", `${board}/lists`, {
        title: op.title,
        ...(op.position !== undefined && { position: op.position }),
      });
      if (body) run.listIds.push(body.id);
      return;
    }
    case "renameList":
      await send(run, op.by, "PATCH", `/lists/${listId}`, { title: op.title });
      return;
    case "moveList":
      // Only the position: a PATCH with a title and a position writes a list_moved without the
      // old title (see the report), which no client can undo.
      await send(run, op.by, "PATCH", `/lists/${listId}`, { position: op.position });
      return;
    case "deleteList":
      await send(run, op.by, "DELETE", `/lists/${listId}`);
      return;
    case "restoreList":
      await send(
        run,
        op.by,
        "POST",
        `/lists/${await shelved(run, "trash", "list", op.list)}/restore`,
      );
      return;
    case "archiveList":
      await send(run, op.by, "POST", `/lists/${listId}/archive`);
      return;
    case "unarchiveList":
      await send(
        run,
        op.by,
        "POST",
        `/lists/${await shelved(run, "archive", "list", op.list)}/unarchive`,
      );
      return;
    case "renameBoard":
      await send(run, 0, "PATCH", board, { title: op.title });
      return;
    case "addMember":
      await send(run, 0, "POST", `${board}/members`, { email: USERS[op.who].email });
      return;
    case "removeMember":
      await send(run, 0, "DELETE", `${board}/members/${USERS[op.who].id}`);
      return;
    case "revert": {
      const page = await history(run.server, run.tokens[0], run.boardId, { limit: op.back + 1 });
      const target = page.events[Math.min(op.back, page.events.length - 1)];
      if (target) await send(run, op.by, "POST", `${board}/events/${target.id}/revert`);
      return;
    }
    case "recordConflict": {
      const body = await send(run, op.by, "POST", `/tasks/${taskId}/conflicts`, {
        field: "title",
        value: op.value,
        baseVersion: 1,
      });
      if (body) run.conflictIds.push(body.id);
      return;
    }
    case "resolveConflict": {
      const id = run.conflictIds[run.conflictIds.length - 1 - op.back];
      if (id) await send(run, op.by, "DELETE", `/conflicts/${id}`);
      return;
    }
  }
}

/** The board's whole log, oldest first. */
async function boardLog(run: Run): Promise<Ev[]> {
  const pages = await allPages(run.server, run.tokens[0], run.boardId, {}, 200);
  return pages.flatMap((page) => page.events as Ev[]).reverse();
}

/**
 * The contract, on one board: folded forward to each seq and un-applied back to it, the board
 * shows the same; re-applying an undone event gives the board back; the walker agrees.
 */
async function checkBoard(run: Run, walkFrom: number): Promise<Ev[]> {
  const snapshot = await expectStatus(
    await run.server.request(`/boards/${run.boardId}`, { token: run.tokens[0] }),
    200,
  );
  const log = await boardLog(run);
  assert.equal(log[0]?.type, "board_created", "the log starts with the board's creation");
  assert.ok(log.every((e) => e.v === 2), "every event is of format 2");

  // Forward: the fold after each event.
  const fold = new BoardModel({
    board: log[0].board,
    lists: [],
    tasks: [],
    members: [],
    cursor: 0,
  });
  const folded: Json[] = [];
  const foldedConflicts: string[][] = [];
  for (const e of log) {
    assert.equal(fold.applyEvent(e), true);
    folded.push(shown(fold));
    foldedConflicts.push(conflictIds(fold));
  }
  assert.equal(snapshot.cursor >= log[log.length - 1].id, true, "the snapshot holds the log");
  assert.deepEqual(
    folded[folded.length - 1],
    shown(new BoardModel(snapshot)),
    "the fold of the whole log is the snapshot (applyEvent's own contract)",
  );

  // Backward: from the snapshot, one event at a time.
  let model = new BoardModel(snapshot);
  for (let k = log.length - 1; k >= 1; k--) {
    assert.deepEqual(shown(model), folded[k], `as of seq ${log[k].id} (${log[k].type})`);
    // Open conflicts come back when undone, except those a deletion took with its card.
    const open = conflictIds(model);
    if (log.slice(k + 1).some((e) => DROPS_CONFLICTS.has(e.type))) {
      assert.deepEqual(
        foldedConflicts[k].filter((id) => open.includes(id)),
        open,
        `conflicts as of ${log[k].id}: the fold's, in order, but for dropped ones`,
      );
    } else assert.deepEqual(open, foldedConflicts[k], `conflicts as of ${log[k].id}`);
    const undone = unapplyEvent(model, log[k]);
    const again = undone.clone();
    assert.equal(again.applyEvent(log[k]), true);
    assert.deepEqual(shown(again), shown(model), `${log[k].type} ${log[k].id} applied again`);
    model = undone;
  }
  assert.deepEqual(shown(model), folded[0], "as of the board's creation");
  assert.throws(
    () => unapplyEvent(model, log[0]),
    (error) => error instanceof HistoryUnavailable && error.reason === "start",
  );

  // The walker, through pages of 4, from a moment chosen by the test, to the start and back.
  const index = walkFrom % log.length;
  const pages: Json[] = [];
  const walk = new TimeTravel(new BoardModel(snapshot), async (query) => {
    pages.push(query);
    const page = await history(
      run.server,
      run.tokens[0],
      run.boardId,
      query as unknown as Record<string, number>,
    );
    return { events: page.events as Ev[], next: page.next };
  }, { pageSize: 4 });
  let moment = await walk.open(log[index].id);
  assert.equal(moment.event?.id, log[index].id, "the chosen moment");
  assert.equal(moment.before, false);
  assert.deepEqual(shown(moment.model), folded[index], `the walker as of seq ${log[index].id}`);
  assert.ok(
    pages.every((q) => q.after === log[index].id - 1),
    "opening reads only the events after the moment (and the moment's own)",
  );
  for (let k = index - 1; k >= 0; k--) {
    moment = await walk.older();
    assert.equal(moment.event?.id, log[k].id);
    assert.deepEqual(shown(moment.model), folded[k], `the walker, older, as of ${log[k].id}`);
  }
  assert.equal(moment.canOlder, false);
  assert.equal(moment.stop, "start", "the board's creation is where its history starts");
  assert.equal((await walk.older()).position, moment.position);
  for (let k = 1; k < log.length; k++) {
    moment = walk.newer();
    assert.equal(moment.event?.id, log[k].id);
    assert.deepEqual(shown(moment.model), folded[k], `the walker, newer, as of ${log[k].id}`);
  }
  assert.equal(moment.canNewer, false);
  assert.equal(moment.position, 0);
  return log;
}

/** Runs the changes on a new board (Bob and Carol join it, four cards first), then checks it. */
async function runBoard(
  server: TestServer,
  tokens: string[],
  ops: Op[],
  walkFrom: number,
): Promise<Ev[]> {
  const created = await expectStatus(
    await server.request("/boards", {
      method: "POST",
      json: { title: "Time travel" },
      token: tokens[0],
    }),
    201,
  );
  const run: Run = {
    server,
    tokens,
    boardId: created.board.id,
    taskIds: [],
    listIds: created.lists.map((l: Json) => l.id),
    conflictIds: [],
    trace: [],
  };
  try {
    for (const who of [1, 2]) await perform(run, { op: "addMember", who });
    for (const [i, title] of ["One", "Two", "Three", "Four"].entries()) {
      await perform(run, { op: "createTask", by: i % 3, list: i, title });
    }
    for (const op of ops) await perform(run, op);
    const log = await checkBoard(run, walkFrom);
    if (VERBOSE) console.log(run.trace.join("\n"));
    // Done with it (a user owns at most 100 boards).
    await expectStatus(
      await server.request(`/boards/${run.boardId}`, { method: "DELETE", token: tokens[0] }),
      200,
    );
    return log;
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    throw new Error(
      `${message}\n--- the changes (board ${run.boardId}) ---\n${run.trace.join("\n")}`,
      { cause: error },
    );
  }
}

/** Counts a log's events by type (a revert's apart). */
function tally(types: Map<string, number>, log: Ev[]) {
  for (const e of log) {
    const type = e.revertOf === undefined ? e.type : `${e.type} (revert)`;
    types.set(type, (types.get(type) ?? 0) + 1);
  }
}

Deno.test({
  name: `every kind of change, walked back from the snapshot and forward again (${TEST_STORE})`,
  async fn() {
    await using server = await startTestServer();
    const tokens = await Promise.all(USERS.map((user) => server.login(user.email)));
    // Refs: cards 0-3 are One (To do), Two (In progress), Three (Done), Four (To do).
    const ops: Op[] = [
      { op: "editTask", by: 1, task: 0, title: "One, renamed" },
      { op: "editTask", by: 0, task: 1, description: "Details", assignee: 2 },
      { op: "editTask", by: 2, task: 1, assignee: null },
      { op: "moveTask", by: 1, task: 0, list: 2, position: 0 },
      { op: "moveTask", by: 0, task: 3, list: 0, position: 0 },
      { op: "deleteTask", by: 1, task: 2 },
      { op: "restoreTask", by: 0, task: 0 },
      { op: "archiveTask", by: 2, task: 3 },
      { op: "unarchiveTask", by: 0, task: 0 },
      { op: "createList", by: 1, title: "Later", position: 1 },
      { op: "createTask", by: 1, list: 3, title: "Five", assignee: 2 },
      { op: "renameList", by: 0, list: 3, title: "Much later" },
      { op: "moveList", by: 2, list: 3, position: 3 },
      { op: "deleteList", by: 0, list: 3 },
      { op: "restoreList", by: 1, list: 0 },
      { op: "archiveList", by: 0, list: 1 },
      { op: "createTask", by: 0, list: 0, title: "Six" },
      { op: "unarchiveList", by: 2, list: 0 },
      { op: "renameBoard", title: "Time travel, renamed" },
      { op: "recordConflict", by: 1, task: 0, value: "Mine" },
      { op: "resolveConflict", by: 2, back: 0 },
      { op: "removeMember", who: 2 },
      { op: "addMember", who: 2 },
      { op: "revert", by: 0, back: 4 },
      { op: "revert", by: 0, back: 0 },
      { op: "revert", by: 0, back: 0 },
      { op: "deleteTask", by: 0, task: 4 },
      { op: "revert", by: 0, back: 0 },
      { op: "moveList", by: 0, list: 0, position: 2 },
      { op: "revert", by: 0, back: 0 },
    ];
    const types = new Map<string, number>();
    for (const walkFrom of [0, 7, 1000]) {
      tally(types, await runBoard(server, tokens, ops, walkFrom));
    }
    if (VERBOSE) console.log([...types].sort().map(([t, n]) => `${t}: ${n}`).join("\n"));
    for (
      const type of [
        "board_created",
        "board_updated",
        "member_added",
        "member_removed",
        "task_created",
        "task_updated",
        "task_moved",
        "task_deleted",
        "task_restored",
        "task_archived",
        "task_unarchived",
        "list_created",
        "list_updated",
        "list_moved",
        "list_deleted",
        "list_restored",
        "list_archived",
        "list_unarchived",
        "conflict_recorded",
        "conflict_resolved",
      ]
    ) {
      assert.ok(types.has(type), `${type} was walked back`);
    }
    assert.ok([...types.keys()].some((type) => type.endsWith("(revert)")), "reverts too");
  },
});

Deno.test({
  name:
    `un-applying from the final snapshot back to every seq equals the fold of the log to it (${TEST_STORE})`,
  async fn() {
    await using server = await startTestServer();
    const tokens = await Promise.all(USERS.map((user) => server.login(user.email)));
    let events = 0;
    const types = new Map<string, number>();
    await fc.assert(
      fc.asyncProperty(
        fc.array(opArb, { minLength: 1, maxLength: MAX_OPS, size: "max" }),
        fc.nat(),
        async (ops, walkFrom) => {
          const log = await runBoard(server, tokens, ops, walkFrom);
          events += log.length;
          tally(types, log);
        },
      ),
      { seed: SEED, numRuns: RUNS },
    );
    console.log(
      `time travel: ${RUNS} boards, ${events} events walked, seed ${SEED}, ${TEST_STORE}`,
    );
    if (VERBOSE) console.log([...types].sort().map(([t, n]) => `${t}: ${n}`).join("\n"));
  },
});
