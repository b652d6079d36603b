/**
 * The browser client's pure logic, run in Deno without a browser: reconnect delays (exponential
 * backoff with full jitter), the board model (events applied once, in order, positions dense)
 * and conflict resolution of queued edits against the server's current task.
 */
import assert from "node:assert/strict";
import { Backoff } from "../static/js/backoff.js";
import { BoardModel } from "../static/js/board_model.js";
import { resolveConflict } from "../static/js/outbox.js";

const at = "2026-01-01T09:00:00.000Z";
const list = (id: string, position: number) => ({
  id,
  boardId: "b",
  title: id,
  position,
  createdAt: at,
  updatedAt: at,
});
const task = (id: string, listId: string, position: number, version = 1, title = id) => ({
  id,
  boardId: "b",
  listId,
  title,
  description: "",
  assigneeId: null,
  position,
  version,
  createdBy: null,
  createdAt: at,
  updatedAt: at,
});
const board = { id: "b", title: "B", ownerId: "u", createdAt: at, updatedAt: at };

function model() {
  return new BoardModel({
    board,
    lists: [list("l1", 0), list("l2", 1)],
    tasks: [task("t1", "l1", 0), task("t2", "l1", 1), task("t3", "l2", 0)],
    members: [],
    cursor: 10,
  });
}
const ids = (m: BoardModel, listId: string) => m.columns.get(listId)!.map((t) => t.id);

Deno.test("backoff delays stay within a doubling window capped at the maximum", () => {
  const backoff = new Backoff(100, 1000);
  const windows = [100, 200, 400, 800, 1000, 1000];
  for (const ceiling of windows) {
    const delay = backoff.next();
    assert.ok(delay >= 0 && delay <= ceiling, `${delay} within [0, ${ceiling}]`);
  }
  backoff.reset();
  assert.ok(backoff.next() <= 100);
});

Deno.test("backoff uses full jitter: delays spread over the whole window", () => {
  const delays = Array.from({ length: 400 }, () => {
    const backoff = new Backoff(1000, 60_000);
    backoff.next();
    backoff.next();
    return backoff.next(); // window [0, 4000]
  });
  assert.ok(Math.min(...delays) < 1000, "some retry early");
  assert.ok(Math.max(...delays) > 3000, "some retry late");
});

Deno.test("board events are applied once each, in order, keeping positions dense", () => {
  const m = model();
  const moved = {
    type: "task_moved",
    id: 11,
    boardId: "b",
    actorId: null,
    at,
    task: task("t1", "l2", 1, 2),
    fromListId: "l1",
    fromPosition: 0,
  };
  assert.equal(m.applyEvent(moved), true);
  assert.deepEqual(ids(m, "l1"), ["t2"]);
  assert.deepEqual(ids(m, "l2"), ["t3", "t1"]);
  assert.equal(m.applyEvent(moved), false, "a duplicate (same id) is ignored");
  assert.equal(m.applyEvent({ ...moved, id: 9 }), false, "an older event is ignored");
  assert.equal(m.cursor, 11);

  m.applyEvent({
    type: "task_created",
    id: 12,
    boardId: "b",
    actorId: null,
    at,
    task: task("t4", "l2", 0),
  });
  assert.deepEqual(ids(m, "l2"), ["t4", "t3", "t1"]);
  m.applyEvent({
    type: "task_deleted",
    id: 13,
    boardId: "b",
    actorId: null,
    at,
    taskId: "t3",
    listId: "l2",
  });
  assert.deepEqual(ids(m, "l2"), ["t4", "t1"]);
  m.applyEvent({
    type: "list_deleted",
    id: 14,
    boardId: "b",
    actorId: null,
    at,
    listId: "l1",
    list: list("l1", 0),
  });
  assert.deepEqual(m.lists.map((l) => l.id), ["l2"]);
  assert.equal(m.task("t2"), undefined);
  assert.equal(
    m.applyEvent({
      type: "task_created",
      id: 15,
      boardId: "other",
      actorId: null,
      at,
      task: task("x", "l2", 0),
    }),
    false,
    "events of other boards are ignored",
  );
});

Deno.test("an offline edit re-sends the fields only we changed and reports the ones both changed", () => {
  const op = {
    seq: 1,
    kind: "updateTask",
    boardId: "b",
    label: "t1",
    taskId: "t1",
    version: 1,
    base: { title: "Old", description: "Same", assigneeId: null },
    changes: { title: "Mine", description: "My words" },
  };
  const current = { ...task("t1", "l1", 0, 3, "Theirs"), description: "Same" };
  const resolution = resolveConflict(op, current);
  assert.deepEqual(resolution.retry?.changes, { description: "My words" });
  assert.equal(resolution.retry?.version, 3);
  assert.match(resolution.report ?? "", /Kept their title "Theirs"; yours was "Mine"/);

  const untouched = resolveConflict(op, { ...task("t1", "l1", 0, 2, "Old"), description: "Same" });
  assert.deepEqual(untouched.retry?.changes, op.changes);
  assert.equal(untouched.report, undefined, "nothing lost, nothing to report");
});

Deno.test("a queued move is re-sent after an edit, but not after someone else moved the card", () => {
  const op = {
    seq: 1,
    kind: "moveTask",
    boardId: "b",
    label: "t1",
    taskId: "t1",
    listId: "l2",
    position: 0,
    version: 1,
    baseListId: "l1",
  };
  assert.deepEqual(resolveConflict(op, task("t1", "l1", 0, 2)).retry, { version: 2 });
  const movedAway = resolveConflict(op, task("t1", "l3", 0, 2));
  assert.equal(movedAway.retry, undefined);
  assert.match(movedAway.report ?? "", /moved by someone else/);
  assert.deepEqual(resolveConflict(op, task("t1", "l2", 0, 2)), {}, "already where we wanted it");
});
