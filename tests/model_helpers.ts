/**
 * The model-based property test's parts (tests/model_test.ts): generated operation sequences as
 * plain data (so fast-check can shrink them and print them), a simple model of one board that
 * predicts every answer — its trash, and its log with what each event's inverse needs
 * (src/revert.ts), so restores and reverts are predicted too — a driver that sends each operation
 * through REST or the WebSocket, and the checks run after each sequence — the snapshot and the
 * trash against the model, each event against the model's, the event log folded with the
 * client's own `BoardModel.applyEvent` against the snapshot, dense positions and no orphans.
 *
 * The model learns an event's seq by matching the server's log to the events it expects
 * (`matchLog`: before a revert, which names an event by seq, and after each sequence).
 *
 * Operations name tasks and lists by index (`ref`): a ref of 0 or more picks a live one (modulo
 * how many there are), a negative ref one that was deleted (or an id that never existed), so a
 * shrunk sequence stays meaningful when fast-check removes operations from it.
 */
import assert from "node:assert/strict";
import fc from "fast-check";
import { BoardModel } from "../static/js/board_model.js";
import { expectStatus, type TestServer } from "./helpers.ts";
import type { Message, WsClient } from "./ws_helpers.ts";

// deno-lint-ignore no-explicit-any
type Json = any;

// ---- users and generated operations ----------------------------------------------------------

/** The board's owner (Alice) and two possible members, seeded in demo mode. */
export const USERS = [
  { id: "user-1", email: "alice@example.com", name: "Alice" },
  { id: "user-2", email: "bob@example.com", name: "Bob" },
  { id: "user-3", email: "carol@example.com", name: "Carol" },
] as const;
export const OWNER = 0;
/** A list of another board (seeded in demo mode): moving a task there is 400 `invalid_list`. */
const FOREIGN_LIST = "list-todo";

/** A user by index into USERS. */
export type U = 0 | 1 | 2;
/** Which door a task mutation goes through. */
export type Door = "rest" | "ws";
/** `current`: the task's version; `stale`: one it no longer has; `none`: no version. */
export type VersionMode = "current" | "stale" | "none";

export type CreateTaskOp = {
  op: "createTask";
  by: U;
  door: Door;
  list: number;
  title: string;
  description?: string;
  assignee?: U | null;
  position?: number;
};
export type EditTaskOp = {
  op: "editTask";
  by: U;
  door: Door;
  task: number;
  title?: string;
  description?: string;
  assignee?: U | null;
  version: VersionMode;
};
export type MoveTaskOp = {
  op: "moveTask";
  by: U;
  door: Door;
  task: number;
  list: number;
  position: number;
  version: VersionMode;
};
export type DeleteTaskOp = { op: "deleteTask"; by: U; door: Door; task: number };
export type CreateListOp = { op: "createList"; by: U; title: string; position?: number };
export type UpdateListOp = {
  op: "updateList";
  by: U;
  list: number;
  title?: string;
  position?: number;
};
export type DeleteListOp = { op: "deleteList"; by: U; list: number };
export type RenameBoardOp = { op: "renameBoard"; by: U; title: string };
/**
 * Restores a card: `task` ≥ 0 picks one of the model's trash (while it holds one), else one that
 * was ever deleted (restored since, or inside a deleted list's item) or an id that never existed.
 */
export type RestoreTaskOp = { op: "restoreTask"; by: U; door: Door; task: number };
/** Restores a list: `list` as `task` above, over the lists. */
export type RestoreListOp = { op: "restoreList"; by: U; door: Door; list: number };
/**
 * Reverts an event of the board: `event` ≥ 0 counts back from the newest (0: the last one,
 * modulo how many there are — board_created and member events included), -3 names the event
 * the last successful revert undid, -2 and -1 a seq that is not this board's. `asAuthor`: sent
 * by the event's author rather than `by`.
 */
export type RevertOp = { op: "revert"; by: U; asAuthor: boolean; door: Door; event: number };
export type AddMemberOp = { op: "addMember"; by: U; who: U };
export type RemoveMemberOp = { op: "removeMember"; by: U; who: U };
/** Two edits or moves of one task, sent at once, both with the task's current version. */
export type RaceOp = {
  op: "race";
  task: number;
  first: EditTaskOp | MoveTaskOp;
  second: EditTaskOp | MoveTaskOp;
};
/** Unversioned edits and deletes of distinct tasks, sent at once (they commute). */
export type BurstOp = { op: "burst"; ops: (EditTaskOp | DeleteTaskOp)[] };
/**
 * An operation sent with an idempotency key, then again with the same key (over `door` for task
 * mutations; `reorder`: its body's fields in reverse order), then, with `reuse`, the same key
 * for a different request.
 */
export type RetryOp = {
  op: "retry";
  of: SingleOp;
  door: Door;
  reuse: boolean;
  reorder?: boolean;
};
/**
 * A keyed request of an earlier `retry` (`back` counts back from the newest) sent again later, as
 * an outbox does after a reconnect: answered as the first time if its key was recorded, else run
 * as new.
 */
export type ResendOp = { op: "resend"; back: number; door: Door };

export type SingleOp =
  | CreateTaskOp
  | EditTaskOp
  | MoveTaskOp
  | DeleteTaskOp
  | CreateListOp
  | UpdateListOp
  | DeleteListOp
  | RenameBoardOp
  | AddMemberOp
  | RemoveMemberOp
  | RestoreTaskOp
  | RestoreListOp
  | RevertOp;
export type Op = SingleOp | RaceOp | BurstOp | RetryOp | ResendOp;

/**
 * One generated sequence: who besides the owner is a member at the start, how many tasks the
 * owner creates first (spread over the lists), then the operations.
 */
export interface Scenario {
  members: U[];
  tasks: number;
  ops: Op[];
}

const user = fc.oneof(
  { weight: 3, arbitrary: fc.constant<U>(0) },
  { weight: 2, arbitrary: fc.constant<U>(1) },
  { weight: 2, arbitrary: fc.constant<U>(2) },
);
const door = fc.constantFrom<Door>("rest", "ws");
/** A live task or list most of the time (≥ 0), sometimes a deleted or unknown one (< 0). */
const ref = fc.oneof(
  { weight: 12, arbitrary: fc.nat(40) },
  { weight: 1, arbitrary: fc.integer({ min: -3, max: -1 }) },
);
const word = fc.stringMatching(/^[A-Za-z][a-z0-9]{0,7}( [a-z0-9]{1,6})?$/);
/** Mostly valid titles (some padded with spaces: trimmed), a few at or past the limits. */
const title = fc.oneof(
  { weight: 8, arbitrary: word },
  { weight: 1, arbitrary: word.map((s) => `  ${s} `) },
  {
    weight: 1,
    arbitrary: fc.constantFrom(
      "Café crème",
      "日本語のタスク",
      "🚀 launch",
      "y".repeat(200),
      "🚀".repeat(100),
    ),
  },
  { weight: 1, arbitrary: fc.constantFrom("   ", "x".repeat(201), "🚀".repeat(101)) },
);
const description = fc.oneof(
  fc.constant(""),
  fc.stringMatching(/^[a-z \n\t]{0,24}$/),
  fc.constantFrom("line one\nline two", "tab\there", "ünï 💬"),
);
/** In range, past the end (clamped), or invalid. */
const position = fc.oneof(
  { weight: 6, arbitrary: fc.nat(4) },
  { weight: 2, arbitrary: fc.constantFrom(7, 60, 1_000_000) },
  { weight: 1, arbitrary: fc.constantFrom(-1, 1.5, 1_000_001) },
);
const versionMode = fc.oneof(
  { weight: 2, arbitrary: fc.constant<VersionMode>("current") },
  { weight: 1, arbitrary: fc.constant<VersionMode>("stale") },
  { weight: 2, arbitrary: fc.constant<VersionMode>("none") },
);
const assignee = fc.option(user, { nil: null });

const createTaskArb: fc.Arbitrary<CreateTaskOp> = fc.record({
  op: fc.constant("createTask" as const),
  by: user,
  door,
  list: ref,
  title,
  description,
  assignee,
  position,
}, { requiredKeys: ["op", "by", "door", "list", "title"] });
const editTaskArb: fc.Arbitrary<EditTaskOp> = fc.record({
  op: fc.constant("editTask" as const),
  by: user,
  door,
  task: ref,
  title,
  description,
  assignee,
  version: versionMode,
}, { requiredKeys: ["op", "by", "door", "task", "version"] });
const moveTaskArb: fc.Arbitrary<MoveTaskOp> = fc.record({
  op: fc.constant("moveTask" as const),
  by: user,
  door,
  task: ref,
  list: ref,
  position,
  version: versionMode,
});
const deleteTaskArb: fc.Arbitrary<DeleteTaskOp> = fc.record({
  op: fc.constant("deleteTask" as const),
  by: user,
  door,
  task: ref,
});
const createListArb: fc.Arbitrary<CreateListOp> = fc.record({
  op: fc.constant("createList" as const),
  by: user,
  title,
  position,
}, { requiredKeys: ["op", "by", "title"] });
const updateListArb: fc.Arbitrary<UpdateListOp> = fc.record({
  op: fc.constant("updateList" as const),
  by: user,
  list: ref,
  title,
  position,
}, { requiredKeys: ["op", "by", "list"] });
const deleteListArb: fc.Arbitrary<DeleteListOp> = fc.record({
  op: fc.constant("deleteList" as const),
  by: user,
  list: ref,
});
const renameBoardArb: fc.Arbitrary<RenameBoardOp> = fc.record({
  op: fc.constant("renameBoard" as const),
  by: user,
  title,
});
const addMemberArb: fc.Arbitrary<AddMemberOp> = fc.record({
  op: fc.constant("addMember" as const),
  by: user,
  who: user,
});
const removeMemberArb: fc.Arbitrary<RemoveMemberOp> = fc.record({
  op: fc.constant("removeMember" as const),
  by: user,
  who: user,
});
const restoreTaskArb: fc.Arbitrary<RestoreTaskOp> = fc.record({
  op: fc.constant("restoreTask" as const),
  by: user,
  door,
  task: ref,
});
const restoreListArb: fc.Arbitrary<RestoreListOp> = fc.record({
  op: fc.constant("restoreList" as const),
  by: user,
  door,
  list: ref,
});
/**
 * Mostly one of the last few events (undo, and redo: the undo of an undo), often any, sometimes
 * the one last reverted (undone again, as from a second tab) or one of no board's.
 */
const eventRef = fc.oneof(
  { weight: 8, arbitrary: fc.nat(2) },
  { weight: 6, arbitrary: fc.nat(60) },
  { weight: 2, arbitrary: fc.constant(-3) },
  { weight: 1, arbitrary: fc.integer({ min: -2, max: -1 }) },
);
const revertArb: fc.Arbitrary<RevertOp> = fc.record({
  op: fc.constant("revert" as const),
  by: user,
  asAuthor: fc.boolean(),
  door,
  event: eventRef,
});
const raceSide = fc.oneof(editTaskArb, moveTaskArb);
const raceArb: fc.Arbitrary<RaceOp> = fc.record({
  op: fc.constant("race" as const),
  task: fc.nat(40),
  first: raceSide,
  second: raceSide,
});
const burstArb: fc.Arbitrary<BurstOp> = fc.record({
  op: fc.constant("burst" as const),
  ops: fc.array(fc.oneof({ weight: 3, arbitrary: editTaskArb }, deleteTaskArb), {
    minLength: 2,
    maxLength: 4,
  }),
});
const retriedArb = fc.oneof(
  { weight: 3, arbitrary: createTaskArb },
  { weight: 3, arbitrary: editTaskArb },
  { weight: 3, arbitrary: moveTaskArb },
  { weight: 2, arbitrary: deleteTaskArb },
  createListArb,
  updateListArb,
  deleteListArb,
  restoreTaskArb,
  restoreListArb,
  // An undo the client's outbox sends again (redo included: the revert of a revert).
  { weight: 3, arbitrary: revertArb },
);
const resendArb: fc.Arbitrary<ResendOp> = fc.record({
  op: fc.constant("resend" as const),
  back: fc.nat(3),
  door,
});
const retryArb: fc.Arbitrary<RetryOp> = fc.record({
  op: fc.constant("retry" as const),
  of: retriedArb,
  door,
  reuse: fc.boolean(),
});

export const opArb: fc.Arbitrary<Op> = fc.oneof(
  { weight: 6, arbitrary: createTaskArb },
  { weight: 4, arbitrary: editTaskArb },
  { weight: 5, arbitrary: moveTaskArb },
  { weight: 2, arbitrary: deleteTaskArb },
  { weight: 1, arbitrary: createListArb },
  { weight: 2, arbitrary: updateListArb },
  { weight: 1, arbitrary: deleteListArb },
  { weight: 1, arbitrary: renameBoardArb },
  { weight: 1, arbitrary: addMemberArb },
  { weight: 1, arbitrary: removeMemberArb },
  { weight: 2, arbitrary: restoreTaskArb },
  { weight: 2, arbitrary: restoreListArb },
  { weight: 3, arbitrary: revertArb },
  { weight: 2, arbitrary: raceArb },
  { weight: 1, arbitrary: burstArb },
  { weight: 2, arbitrary: retryArb },
  { weight: 1, arbitrary: resendArb },
);

const initialMembers = fc.oneof(
  { weight: 3, arbitrary: fc.constant<U[]>([1, 2]) },
  { weight: 1, arbitrary: fc.constant<U[]>([1]) },
  { weight: 1, arbitrary: fc.constant<U[]>([2]) },
);

/** A board's starting members and up to `maxOps` operations. */
export function scenarioArb(maxOps: number): fc.Arbitrary<Scenario> {
  return fc.record({
    members: initialMembers,
    tasks: fc.nat(6),
    ops: fc.array(opArb, { maxLength: maxOps, size: "max" }),
  });
}

/**
 * Sequences of task mutations each retried with its body's fields in another order (for the
 * idempotency check that the order of JSON members does not make a request "another" one).
 */
export function reorderedRetryScenarioArb(maxOps: number): fc.Arbitrary<Scenario> {
  const retried = fc.oneof(createTaskArb, editTaskArb, moveTaskArb);
  return fc.record({
    members: initialMembers,
    tasks: fc.nat(3),
    ops: fc.array(
      fc.oneof(
        createTaskArb,
        fc.record({
          op: fc.constant("retry" as const),
          of: retried,
          door,
          reuse: fc.constant(false),
          reorder: fc.constant(true),
        }),
      ),
      { minLength: 1, maxLength: maxOps },
    ),
  });
}

/**
 * Sequences of changes, their undos and redos (many of the last few events, and the one last
 * undone, again), undos sent with a key and sent again later, and members leaving and coming
 * back: for the idempotency of a revert.
 */
export function undoScenarioArb(maxOps: number): fc.Arbitrary<Scenario> {
  const undo: fc.Arbitrary<RevertOp> = fc.record({
    op: fc.constant("revert" as const),
    by: user,
    asAuthor: fc.oneof({ weight: 3, arbitrary: fc.constant(true) }, fc.constant(false)),
    door,
    event: fc.oneof(
      { weight: 4, arbitrary: fc.nat(1) },
      { weight: 3, arbitrary: fc.constant(-3) },
      { weight: 1, arbitrary: fc.nat(20) },
    ),
  });
  const keyedUndo: fc.Arbitrary<RetryOp> = fc.record({
    op: fc.constant("retry" as const),
    of: undo,
    door,
    reuse: fc.constant(false),
  });
  return fc.record({
    members: initialMembers,
    tasks: fc.nat(3),
    ops: fc.array(
      fc.oneof(
        { weight: 2, arbitrary: updateListArb },
        { weight: 1, arbitrary: renameBoardArb },
        { weight: 2, arbitrary: editTaskArb },
        { weight: 1, arbitrary: deleteTaskArb },
        { weight: 1, arbitrary: deleteListArb },
        { weight: 3, arbitrary: undo },
        { weight: 3, arbitrary: keyedUndo },
        { weight: 3, arbitrary: resendArb },
        { weight: 1, arbitrary: removeMemberArb },
        { weight: 1, arbitrary: addMemberArb },
      ),
      { minLength: 1, maxLength: maxOps },
    ),
  });
}

// ---- requests: one operation resolved against the model, door-agnostic ------------------------

export type Req =
  | { kind: "createTask"; by: U; body: Record<string, unknown> }
  | { kind: "updateTask"; by: U; taskId: string; body: Record<string, unknown> }
  | { kind: "moveTask"; by: U; taskId: string; body: Record<string, unknown> }
  /** `version`: only as a revert's inverse deletes a card (src/revert.ts); no door sends it. */
  | { kind: "deleteTask"; by: U; taskId: string; version?: number }
  | { kind: "createList"; by: U; body: Record<string, unknown> }
  | { kind: "updateList"; by: U; listId: string; body: Record<string, unknown> }
  | { kind: "deleteList"; by: U; listId: string }
  | { kind: "renameBoard"; by: U; body: Record<string, unknown> }
  | { kind: "addMember"; by: U; body: Record<string, unknown> }
  | { kind: "removeMember"; by: U; userId: string }
  /** `version`: only as a revert's inverse restores a card (the deletion at that version). */
  | { kind: "restoreTask"; by: U; taskId: string; version?: number }
  | { kind: "restoreList"; by: U; listId: string }
  | { kind: "revert"; by: U; seq: number };

/** The requests the WebSocket takes too (list, board and member requests go over REST). */
const WS_KINDS = new Set([
  "createTask",
  "updateTask",
  "moveTask",
  "deleteTask",
  "restoreTask",
  "restoreList",
  "revert",
]);

/** An answer from either door, in one shape. */
export interface Answer {
  door: Door;
  ok: boolean;
  /** REST only. */
  status: number | null;
  code?: string;
  message?: string;
  /**
   * The result: a task, list, board, member, `{taskId, listId}`, a restored list's
   * `{list, tasks}` or a revert's `{event}`.
   */
  value?: Json;
  /** The current task a 409 `version_conflict` carries. */
  current?: Json;
}

// ---- the model ------------------------------------------------------------------------------

interface MTask {
  id: string;
  title: string;
  description: string;
  assigneeId: string | null;
  version: number;
  createdBy: string;
}
interface MList {
  id: string;
  title: string;
  tasks: MTask[];
}

/** A trash item: a card deleted alone, or a list with the cards it had, in order. */
type MTrash =
  | { kind: "task"; task: MTask; listId: string; position: number }
  | { kind: "list"; id: string; title: string; position: number; tasks: MTask[] };

/**
 * A keyed request: `recorded` when its key holds `answer` (the request succeeded once), else the
 * key is free and the request runs as new when sent again.
 */
interface Keyed {
  key: string;
  req: Req;
  recorded: boolean;
  answer: Answer;
}

/** How many cards and lists a board may hold (the test servers run with small limits). */
export interface Limits {
  cards: number;
  lists: number;
}

/**
 * An event the model expects: its type, author and subject (the card, list, member's user id
 * or board it is about; how it is found in the log), its `facts` — what the server's event must
 * say (`factsOf`), which is also what its inverse needs (src/revert.ts) — and, once it has been
 * matched to the log, its seq.
 */
export interface MEvent {
  type: string;
  actor: string;
  subject: string;
  facts: Json;
  revertOf?: number;
  seq?: number;
  /**
   * A card deleted in a burst: its position when it went depends on the order the burst's
   * deletes committed in, which the model does not know. The log's is taken for its trash item
   * (if within `spread` of the model's guess) — the one place the model accepts the server's
   * word; the fold of the log and the snapshot are checked as always.
   */
  loose?: { spread: number; item: MTrash };
}

/** A card's fields as events, answers and the trash show them. */
const CARD = [
  "id",
  "listId",
  "title",
  "description",
  "assigneeId",
  "version",
  "createdBy",
  "position",
];

/** What a server event says that the model predicts (and that its inverse is made of). */
export function factsOf(e: Json): Json {
  switch (e.type) {
    case "task_created":
    case "task_restored":
      return { version: e.task.version, listId: e.task.listId, position: e.task.position };
    case "task_updated":
      return { version: e.task.version, before: e.before };
    case "task_moved":
      return {
        version: e.task.version,
        listId: e.task.listId,
        position: e.task.position,
        fromListId: e.fromListId,
        fromPosition: e.fromPosition,
      };
    case "task_deleted":
      return { listId: e.listId, task: pick(e.task, CARD) };
    case "list_created":
      return { title: e.list.title, position: e.list.position };
    case "list_restored":
    case "list_deleted":
      return {
        title: e.list.title,
        position: e.list.position,
        tasks: e.tasks.map((t: Json) => pick(t, CARD)),
      };
    case "list_updated":
      return { title: e.list.title, beforeTitle: e.before?.title };
    case "list_moved":
      return {
        position: e.list.position,
        fromPosition: e.fromPosition,
        beforeTitle: e.before?.title,
      };
    case "board_updated":
      return { title: e.board.title, beforeTitle: e.before?.title };
    case "member_added":
    case "member_removed":
      return { role: e.member.role };
    default:
      return {};
  }
}

/** What a server event is about, as `MEvent.subject` names it. */
function subjectOf(e: Json): string {
  if (e.type === "task_deleted") return e.taskId;
  if (e.type === "list_deleted") return e.listId;
  if (e.type.startsWith("task_")) return e.task.id;
  if (e.type.startsWith("list_")) return e.list.id;
  if (e.type.startsWith("member_")) return e.member.userId;
  return e.boardId;
}

/** What a revert's answer `{event}` holds in the shape the ordinary mutation answers. */
function innerValue(e: Json): Json {
  if (e?.type === "task_deleted" || e?.type === "list_restored") return e;
  if (e?.type?.startsWith("task_")) return e.task;
  if (e?.type?.startsWith("list_")) return e.list;
  return e?.board;
}

/** What the model expects of one request. */
export type Prediction =
  | { ok: false; code: string; current?: Json }
  | {
    ok: true;
    /** Fields the answer must have (a subset of it, or of `view` of it). */
    expect: Record<string, unknown>;
    /** The answer in `expect`'s shape, when it is not the answer itself. */
    view?: (value: Json) => Json;
    status: number;
    /** The event it commits (`apply` fills in what only the answer tells: a new id). */
    event: MEvent;
    apply(value: Json): void;
  };

const clamp = (n: number, lo: number, hi: number) => Math.min(Math.max(n, lo), hi);
const validTitle = (text: unknown) =>
  typeof text === "string" && text.trim().length >= 1 && text.trim().length <= 200;
const validPosition = (n: unknown) =>
  Number.isInteger(n) && (n as number) >= 0 && (n as number) <= 1_000_000;
const fail = (code: string, current?: Json): Prediction => ({ ok: false, code, current });

/** The events no inverse undoes (src/revert.ts): 409 `not_revertible`. */
const NOT_REVERTIBLE = new Set([
  "board_created",
  "board_deleted",
  "member_added",
  "member_removed",
]);

/**
 * One board as the test believes it is: lists in order, each with its tasks in order; its
 * trash; and its log, with what each event's inverse needs.
 */
export class BoardState {
  lists: MList[];
  /** user id → role */
  members = new Map<string, "owner" | "member">();
  /** Every card and list ever deleted (some restored since): the refs < 0 name them. */
  deadTasks: string[] = [];
  deadLists: string[] = [];
  /** What the trash holds, by id, oldest deletion first. */
  trash = new Map<string, MTrash>();
  /** Every event the operations so far must have committed, in order; the first: board_created. */
  log: MEvent[];
  /** The seq through which `log` has been matched to the server's log (`matchLog`). */
  matchedThrough: number;
  /** The event the last successful revert undid. */
  lastReverted: number | null = null;
  /** The keyed requests sent so far (by `retry`), for `resend`. */
  keyed: Keyed[] = [];
  /** Users removed from the board (or who left) and not added again. */
  removed = new Set<string>();

  constructor(
    readonly boardId: string,
    public title: string,
    lists: { id: string; title: string }[],
    readonly limits: Limits,
    /** The cursor POST /boards answered: the seq of its board_created. */
    createdCursor: number,
  ) {
    this.lists = lists.map((l) => ({ id: l.id, title: l.title, tasks: [] }));
    this.members.set(USERS[OWNER].id, "owner");
    this.log = [{ type: "board_created", actor: USERS[OWNER].id, subject: boardId, facts: {} }];
    this.matchedThrough = createdCursor - 1;
  }

  liveTasks(): MTask[] {
    return this.lists.flatMap((l) => l.tasks);
  }

  locate(taskId: string): { list: MList; index: number; task: MTask } | null {
    for (const list of this.lists) {
      const index = list.tasks.findIndex((t) => t.id === taskId);
      if (index !== -1) return { list, index, task: list.tasks[index] };
    }
    return null;
  }

  list(listId: string): MList | undefined {
    return this.lists.find((l) => l.id === listId);
  }

  isMember(userId: string): boolean {
    return this.members.has(userId);
  }

  taskId(ref: number): string {
    const live = this.liveTasks();
    if (ref >= 0 && live.length > 0) return live[ref % live.length].id;
    const dead = this.deadTasks;
    return dead.length > 0 ? dead[Math.abs(ref) % dead.length] : "task-unknown";
  }

  /**
   * A list by ref; with `foreign`, a ref of -3 names a list of another board (the demo's
   * `list-todo` on board-1, where every test user is a member).
   */
  listId(ref: number, foreign = false): string {
    if (ref >= 0 && this.lists.length > 0) return this.lists[ref % this.lists.length].id;
    if (foreign && ref === -3) return FOREIGN_LIST;
    const dead = this.deadLists;
    return dead.length > 0 ? dead[Math.abs(ref) % dead.length] : "list-unknown";
  }

  /**
   * A trash item's id by ref (≥ 0, while the trash holds one of that kind), else one ever
   * deleted (restored since, or a card inside a deleted list's item) or one that never existed.
   */
  trashId(kind: "task" | "list", ref: number): string {
    const items = [...this.trash.entries()].filter(([, item]) => item.kind === kind);
    if (ref >= 0 && items.length > 0) return items[ref % items.length][0];
    const dead = kind === "task" ? this.deadTasks : this.deadLists;
    return dead.length > 0 ? dead[Math.abs(ref) % dead.length] : `${kind}-unknown`;
  }

  /**
   * An event's seq by ref (needs the log matched): ≥ 0 counts back from the newest; -3 the one
   * last reverted (else the newest); -1 the seq just before this board's first (another
   * board's event, if any), -2 one not written yet.
   */
  eventSeq(ref: number): number {
    if (ref === -3) return this.lastReverted ?? this.log[this.log.length - 1].seq!;
    if (ref >= 0) return this.log[this.log.length - 1 - (ref % this.log.length)].seq!;
    const before = this.log[0].seq! - 1;
    return ref === -1 && before >= 1 ? before : this.matchedThrough + 1000;
  }

  /**
   * The newest seq a member may not read (Store.replayFloor): just before the event that last
   * added them; the owner reads the whole board.
   */
  floor(userId: string): number {
    const added = this.log.findLast((e) => e.type === "member_added" && e.subject === userId);
    return added ? added.seq! - 1 : 0;
  }

  /** The version to send: the task's own, one it does not have, or none. */
  version(taskId: string, mode: VersionMode): number | undefined {
    if (mode === "none") return undefined;
    const version = this.locate(taskId)?.task.version ?? 1;
    if (mode === "current") return version;
    return version > 1 ? version - 1 : version + 1;
  }

  /** The task as the server shows it (the fields the model knows). */
  taskView(taskId: string): Record<string, unknown> {
    const found = this.locate(taskId)!;
    const { task, list, index } = found;
    return { ...task, boardId: this.boardId, listId: list.id, position: index };
  }

  /** A card as events and the trash show it, at `position` of `listId`. */
  card(task: MTask, listId: string, position: number): Record<string, unknown> {
    return pick({ ...task, listId, position }, CARD);
  }

  /** A card as it comes back from the trash: one version on, its assignee if still a member. */
  restored(task: MTask): MTask {
    const assigneeId = task.assigneeId && this.isMember(task.assigneeId) ? task.assigneeId : null;
    return { ...task, assigneeId, version: task.version + 1 };
  }

  /** For the trace: the event a revert names. */
  about(req: Req): string {
    if (req.kind !== "revert") return "";
    const e = this.log.find((m) => m.seq === req.seq);
    if (!e) return " [not an event of this board]";
    const who = USERS.find((u) => u.id === e.actor)?.name ?? e.actor;
    const of = e.revertOf === undefined ? "" : `, reverting #${e.revertOf}`;
    return ` [${e.type} by ${who} of ${e.subject}${of}]`;
  }

  /** The ordinary mutation that undoes `event` (src/revert.ts), or null: not revertible. */
  inverse(event: MEvent, by: U): Req | null {
    const f = event.facts;
    switch (event.type) {
      case "task_created":
      case "task_restored":
        return { kind: "deleteTask", by, taskId: event.subject, version: f.version };
      case "task_updated":
        return {
          kind: "updateTask",
          by,
          taskId: event.subject,
          body: { ...f.before, version: f.version },
        };
      case "task_moved":
        return {
          kind: "moveTask",
          by,
          taskId: event.subject,
          body: { listId: f.fromListId, position: f.fromPosition, version: f.version },
        };
      case "task_deleted":
        // Only the deletion this event made: the trash may hold a later one of the card.
        return { kind: "restoreTask", by, taskId: event.subject, version: f.task.version };
      case "list_created":
      case "list_restored":
        return { kind: "deleteList", by, listId: event.subject };
      case "list_updated":
        return { kind: "updateList", by, listId: event.subject, body: { title: f.beforeTitle } };
      case "list_moved":
        return {
          kind: "updateList",
          by,
          listId: event.subject,
          body: { position: f.fromPosition, title: f.beforeTitle },
        };
      case "list_deleted":
        return { kind: "restoreList", by, listId: event.subject };
      case "board_updated":
        return { kind: "renameBoard", by, body: { title: f.beforeTitle } };
      default:
        assert.ok(NOT_REVERTIBLE.has(event.type), `no inverse for ${event.type}`);
        return null;
    }
  }

  /** Turns a generated operation into a request with real ids, bodies and versions. */
  resolve(op: SingleOp): Req {
    const by = op.by;
    const uid = (u: U | null | undefined) =>
      u === undefined ? undefined : u === null ? null : USERS[u].id;
    switch (op.op) {
      case "createTask":
        return {
          kind: "createTask",
          by,
          body: defined({
            listId: this.listId(op.list),
            title: op.title,
            description: op.description,
            assigneeId: uid(op.assignee),
            position: op.position,
          }),
        };
      case "editTask": {
        const taskId = this.taskId(op.task);
        return {
          kind: "updateTask",
          by,
          taskId,
          body: defined({
            title: op.title,
            description: op.description,
            assigneeId: uid(op.assignee),
            version: this.version(taskId, op.version),
          }),
        };
      }
      case "moveTask": {
        const taskId = this.taskId(op.task);
        return {
          kind: "moveTask",
          by,
          taskId,
          body: defined({
            listId: this.listId(op.list, true),
            position: op.position,
            version: this.version(taskId, op.version),
          }),
        };
      }
      case "deleteTask":
        return { kind: "deleteTask", by, taskId: this.taskId(op.task) };
      case "createList":
        return {
          kind: "createList",
          by,
          body: defined({ title: op.title, position: op.position }),
        };
      case "updateList":
        return {
          kind: "updateList",
          by,
          listId: this.listId(op.list),
          body: defined({ title: op.title, position: op.position }),
        };
      case "deleteList":
        return { kind: "deleteList", by, listId: this.listId(op.list) };
      case "renameBoard":
        return { kind: "renameBoard", by, body: { title: op.title } };
      case "addMember":
        return { kind: "addMember", by, body: { email: USERS[op.who].email } };
      case "removeMember":
        return { kind: "removeMember", by, userId: USERS[op.who].id };
      case "restoreTask":
        return { kind: "restoreTask", by, taskId: this.trashId("task", op.task) };
      case "restoreList":
        return { kind: "restoreList", by, listId: this.trashId("list", op.list) };
      case "revert": {
        const seq = this.eventSeq(op.event);
        const author = USERS.findIndex((u) => u.id === this.log.find((e) => e.seq === seq)?.actor);
        return { kind: "revert", by: op.asAuthor && author !== -1 ? author as U : by, seq };
      }
    }
  }

  /**
   * What the server must answer, from the rules in the README: input is validated first, then
   * the target must exist and the caller be a member (404 either way), then the owner's rights
   * (403), the version (409), the assignee and the target list (400), the limits (409).
   * `inverse`: the request is a revert's inverse, which the store runs without the input
   * checks (an edit's inverse may change nothing: a `task_updated` with `before: {}`).
   */
  predict(req: Req, inverse = false): Prediction {
    const actor = USERS[req.by].id;
    const member = this.isMember(actor);
    const role = this.members.get(actor);
    const event = (type: string, subject: string, facts: Json): MEvent => ({
      type,
      actor,
      subject,
      facts,
    });
    switch (req.kind) {
      case "createTask": {
        const b = req.body as Json;
        if (!validTitle(b.title) || (b.position !== undefined && !validPosition(b.position))) {
          return fail("validation_failed");
        }
        const list = this.list(b.listId);
        if (!list || !member) return fail("not_found");
        if (b.assigneeId && !this.isMember(b.assigneeId)) return fail("invalid_assignee");
        if (this.liveTasks().length >= this.limits.cards) return fail("limit_reached");
        const n = list.tasks.length;
        const at = clamp(b.position ?? n, 0, n);
        const fields = {
          title: b.title.trim(),
          description: b.description ?? "",
          assigneeId: b.assigneeId ?? null,
          version: 1,
          createdBy: actor,
        };
        const made = event("task_created", "", { version: 1, listId: list.id, position: at });
        return {
          ok: true,
          status: 201,
          expect: { ...fields, boardId: this.boardId, listId: list.id, position: at },
          event: made,
          apply: (value) => {
            list.tasks.splice(at, 0, { id: value.id, ...fields });
            made.subject = value.id;
          },
        };
      }
      case "updateTask": {
        const b = req.body as Json;
        const none = b.title === undefined && b.description === undefined &&
          b.assigneeId === undefined;
        if ((none && !inverse) || (b.title !== undefined && !validTitle(b.title))) {
          return fail("validation_failed");
        }
        const found = this.locate(req.taskId);
        if (!found || !member) return fail("not_found");
        const { task } = found;
        if (b.version !== undefined && b.version !== task.version) {
          return fail("version_conflict", this.taskView(task.id));
        }
        if (b.assigneeId && !this.isMember(b.assigneeId)) return fail("invalid_assignee");
        const after = {
          title: b.title === undefined ? task.title : b.title.trim(),
          description: b.description ?? task.description,
          assigneeId: b.assigneeId === undefined ? task.assigneeId : b.assigneeId,
          version: task.version + 1,
        };
        const before = Object.fromEntries(
          (["title", "description", "assigneeId"] as const).filter((k) => after[k] !== task[k])
            .map((k) => [k, task[k]]),
        );
        return {
          ok: true,
          status: 200,
          expect: { ...this.taskView(task.id), ...after },
          event: event("task_updated", task.id, { version: after.version, before }),
          apply: () => Object.assign(this.locate(req.taskId)!.task, after),
        };
      }
      case "moveTask": {
        const b = req.body as Json;
        if (!validPosition(b.position)) return fail("validation_failed");
        const found = this.locate(req.taskId);
        if (!found || !member) return fail("not_found");
        const { task } = found;
        if (b.version !== undefined && b.version !== task.version) {
          return fail("version_conflict", this.taskView(task.id));
        }
        const target = this.list(b.listId);
        if (!target) return fail("invalid_list");
        const others = target.tasks.length - (target.id === found.list.id ? 1 : 0);
        const at = clamp(b.position, 0, others);
        return {
          ok: true,
          status: 200,
          expect: {
            ...this.taskView(task.id),
            listId: target.id,
            position: at,
            version: task.version + 1,
          },
          event: event("task_moved", task.id, {
            version: task.version + 1,
            listId: target.id,
            position: at,
            fromListId: found.list.id,
            fromPosition: found.index,
          }),
          apply: () => {
            const now = this.locate(req.taskId)!;
            now.list.tasks.splice(now.index, 1);
            now.task.version++;
            this.list(b.listId)!.tasks.splice(at, 0, now.task);
          },
        };
      }
      case "deleteTask": {
        const found = this.locate(req.taskId);
        if (!found || !member) return fail("not_found");
        if (req.version !== undefined && req.version !== found.task.version) {
          return fail("version_conflict", this.taskView(req.taskId));
        }
        return {
          ok: true,
          status: 200,
          expect: { taskId: req.taskId, listId: found.list.id },
          event: event("task_deleted", req.taskId, {
            listId: found.list.id,
            task: this.card(found.task, found.list.id, found.index),
          }),
          apply: () => {
            const now = this.locate(req.taskId)!;
            now.list.tasks.splice(now.index, 1);
            this.deadTasks.push(req.taskId);
            this.trash.delete(req.taskId); // (re-inserted: newest last)
            this.trash.set(req.taskId, {
              kind: "task",
              task: { ...now.task },
              listId: now.list.id,
              position: now.index,
            });
          },
        };
      }
      case "createList": {
        const b = req.body as Json;
        if (!validTitle(b.title) || (b.position !== undefined && !validPosition(b.position))) {
          return fail("validation_failed");
        }
        if (!member) return fail("not_found");
        if (this.lists.length >= this.limits.lists) return fail("limit_reached");
        const m = this.lists.length;
        const at = clamp(b.position ?? m, 0, m);
        const listTitle = b.title.trim();
        const made = event("list_created", "", { title: listTitle, position: at });
        return {
          ok: true,
          status: 201,
          expect: { boardId: this.boardId, title: listTitle, position: at },
          event: made,
          apply: (value) => {
            this.lists.splice(at, 0, { id: value.id, title: listTitle, tasks: [] });
            made.subject = value.id;
          },
        };
      }
      case "updateList": {
        const b = req.body as Json;
        if (
          (b.title === undefined && b.position === undefined) ||
          (b.title !== undefined && !validTitle(b.title)) ||
          (b.position !== undefined && !validPosition(b.position))
        ) return fail("validation_failed");
        const index = this.lists.findIndex((l) => l.id === req.listId);
        if (index === -1 || !member) return fail("not_found");
        const list = this.lists[index];
        const newTitle = b.title === undefined ? list.title : b.title.trim();
        const at = b.position === undefined ? index : clamp(b.position, 0, this.lists.length - 1);
        return {
          ok: true,
          status: 200,
          expect: { id: list.id, boardId: this.boardId, title: newTitle, position: at },
          // A change of both is a list_moved, carrying the old title when the title changed
          // (its inverse puts both back).
          event: b.position === undefined
            ? event("list_updated", list.id, { title: newTitle, beforeTitle: list.title })
            : event("list_moved", list.id, {
              position: at,
              fromPosition: index,
              beforeTitle: newTitle === list.title ? undefined : list.title,
            }),
          apply: () => {
            const from = this.lists.indexOf(list);
            this.lists.splice(from, 1);
            this.lists.splice(at, 0, list);
            list.title = newTitle;
          },
        };
      }
      case "deleteList": {
        const index = this.lists.findIndex((l) => l.id === req.listId);
        if (index === -1 || !member) return fail("not_found");
        const list = this.lists[index];
        return {
          ok: true,
          status: 200,
          expect: { id: list.id, boardId: this.boardId, title: list.title, position: index },
          event: event("list_deleted", list.id, {
            title: list.title,
            position: index,
            tasks: list.tasks.map((t, i) => this.card(t, list.id, i)),
          }),
          apply: () => {
            const at = this.lists.indexOf(list);
            this.lists.splice(at, 1);
            this.deadLists.push(list.id);
            this.deadTasks.push(...list.tasks.map((t) => t.id));
            this.trash.delete(list.id);
            this.trash.set(list.id, {
              kind: "list",
              id: list.id,
              title: list.title,
              position: at,
              tasks: list.tasks.map((t) => ({ ...t })),
            });
          },
        };
      }
      case "renameBoard": {
        const b = req.body as Json;
        if (!validTitle(b.title)) return fail("validation_failed");
        if (!member) return fail("not_found");
        if (role !== "owner") return fail("forbidden");
        const newTitle = b.title.trim();
        return {
          ok: true,
          status: 200,
          expect: { id: this.boardId, title: newTitle, ownerId: USERS[OWNER].id },
          event: event("board_updated", this.boardId, { title: newTitle, beforeTitle: this.title }),
          apply: () => this.title = newTitle,
        };
      }
      case "addMember": {
        const who = USERS.find((u) => u.email === (req.body as Json).email)!;
        if (!member) return fail("not_found");
        if (role !== "owner") return fail("forbidden");
        if (this.isMember(who.id)) return fail("already_member");
        return {
          ok: true,
          status: 201,
          expect: {
            boardId: this.boardId,
            userId: who.id,
            name: who.name,
            email: who.email,
            role: "member",
          },
          event: event("member_added", who.id, { role: "member" }),
          apply: () => {
            this.members.set(who.id, "member");
            this.removed.delete(who.id);
          },
        };
      }
      case "removeMember": {
        const self = req.userId === actor;
        if (!member) return fail("not_found");
        if (!self && role !== "owner") return fail("forbidden");
        const theirs = this.members.get(req.userId);
        if (!theirs) return fail("not_found");
        if (theirs === "owner") return fail("owner_cannot_leave");
        return {
          ok: true,
          status: 200,
          expect: { boardId: this.boardId, userId: req.userId, role: "member" },
          event: event("member_removed", req.userId, { role: "member" }),
          apply: () => {
            this.members.delete(req.userId);
            this.removed.add(req.userId);
          },
        };
      }
      case "restoreTask": {
        // Not in the trash (never deleted, restored already, deleted with its list) or not a
        // member: 404; a revert's, of another deletion than its event's: 409 version_conflict;
        // its list gone: 409 restore_conflict; then the card limit.
        const item = this.trash.get(req.taskId);
        if (!item || item.kind !== "task" || !member) return fail("not_found");
        if (req.version !== undefined && req.version !== item.task.version) {
          // The 409 carries the card as the trash keeps it.
          return fail("version_conflict", this.card(item.task, item.listId, item.position));
        }
        const list = this.list(item.listId);
        if (!list) return fail("restore_conflict");
        if (this.liveTasks().length >= this.limits.cards) return fail("limit_reached");
        const at = clamp(item.position, 0, list.tasks.length);
        const task = this.restored(item.task);
        return {
          ok: true,
          status: 200,
          expect: { ...task, boardId: this.boardId, listId: list.id, position: at },
          event: event("task_restored", task.id, {
            version: task.version,
            listId: list.id,
            position: at,
          }),
          apply: () => {
            this.list(item.listId)!.tasks.splice(at, 0, task);
            this.trash.delete(req.taskId);
          },
        };
      }
      case "restoreList": {
        const item = this.trash.get(req.listId);
        if (!item || item.kind !== "list" || !member) return fail("not_found");
        if (this.lists.length >= this.limits.lists) return fail("limit_reached");
        // As the store counts: the cards it brings, less one, must be under the limit.
        const cards = this.liveTasks().length + item.tasks.length - 1;
        if (Math.max(cards, 0) >= this.limits.cards) return fail("limit_reached");
        const at = clamp(item.position, 0, this.lists.length);
        const tasks = item.tasks.map((t) => this.restored(t));
        const cardsBack = tasks.map((t, i) => this.card(t, item.id, i));
        const listView = { id: item.id, boardId: this.boardId, title: item.title, position: at };
        return {
          ok: true,
          status: 200,
          expect: { list: listView, tasks: cardsBack },
          view: (value) => ({
            list: pick(value?.list, Object.keys(listView)),
            tasks: value?.tasks?.map((t: Json) => pick(t, CARD)),
          }),
          event: event("list_restored", item.id, {
            title: item.title,
            position: at,
            tasks: cardsBack,
          }),
          apply: () => {
            this.lists.splice(at, 0, { id: item.id, title: item.title, tasks });
            this.trash.delete(req.listId);
          },
        };
      }
      case "revert": {
        // Actions.revert: a member (404), an event of this board after the caller's replay
        // floor (404), its author or the owner (403), an event with an inverse (409
        // not_revertible); then the inverse runs as the caller, with the store's own checks.
        if (!member) return fail("not_found");
        const target = this.log.find((e) => e.seq === req.seq);
        if (!target || req.seq <= this.floor(actor)) return fail("not_found");
        if (target.actor !== actor && role !== "owner") return fail("forbidden");
        const inner = this.inverse(target, req.by);
        if (!inner) return fail("not_revertible");
        const p = this.predict(inner, true);
        if (!p.ok) return p;
        p.event.revertOf = req.seq;
        const keys = Object.keys(p.expect);
        const shown = (value: Json) => p.view ? p.view(value) : value;
        return {
          ok: true,
          status: 200,
          expect: { type: p.event.type, actorId: actor, revertOf: req.seq, v: 2, of: p.expect },
          view: (value) => {
            const e = value?.event;
            return {
              type: e?.type,
              actorId: e?.actorId,
              revertOf: e?.revertOf,
              v: e?.v,
              of: pick(shown(innerValue(e)), keys),
            };
          },
          event: p.event,
          apply: (value) => p.apply(innerValue(value.event)),
        };
      }
    }
  }
}

/** The object without its undefined fields (they would vanish from the JSON anyway). */
function defined(object: Record<string, unknown>): Record<string, unknown> {
  return Object.fromEntries(Object.entries(object).filter(([, v]) => v !== undefined));
}

// ---- the driver: REST and WebSocket ---------------------------------------------------------

/** Counts for the one summary line. */
export interface Stats {
  sequences: number;
  operations: number;
  requests: number;
  refused: number;
  conflicts: number;
  retries: number;
  races: number;
  ws: number;
  /** Writes refused because their author had been removed from (or had left) the board. */
  removedWrites: number;
  /** How many answers of each kind, by request (`createTask ok`, `revert not_found`...). */
  outcomes: Record<string, number>;
}

export const newStats = (): Stats => ({
  sequences: 0,
  operations: 0,
  requests: 0,
  refused: 0,
  conflicts: 0,
  retries: 0,
  races: 0,
  ws: 0,
  removedWrites: 0,
  outcomes: {},
});

/** What a run needs: the server, each user's token and WebSocket (USERS order), counters. */
export interface Ctx {
  server: TestServer;
  tokens: string[];
  sockets: MutationSocket[];
  stats: Stats;
  /** The card and list limits the server runs with. */
  limits: Limits;
}

/**
 * A user's WebSocket for mutation messages: each request gets a fresh `requestId` and waits for
 * the `ack` or `error` that echoes it, so several may be in flight at once on one socket.
 */
export class MutationSocket {
  #pending = new Map<string, (reply: Message) => void>();
  #counter = 0;

  constructor(readonly client: WsClient) {
    client.socket.addEventListener("message", (event) => {
      const message = JSON.parse(event.data) as Message;
      if (message.type !== "ack" && message.type !== "error") return;
      const resolve = this.#pending.get(String(message.requestId));
      if (!resolve) return;
      this.#pending.delete(String(message.requestId));
      resolve(message);
    });
  }

  async request(message: Message, timeoutMs = 15_000): Promise<Message> {
    const requestId = `m${++this.#counter}`;
    const { promise, resolve, reject } = Promise.withResolvers<Message>();
    this.#pending.set(requestId, resolve);
    const timer = setTimeout(() => {
      this.#pending.delete(requestId);
      reject(new Error(`no ack or error for WebSocket request ${JSON.stringify(message)}`));
    }, timeoutMs);
    try {
      this.client.send({ ...message, requestId });
      return await promise;
    } finally {
      clearTimeout(timer);
    }
  }
}

function restRoute(req: Req, boardId: string): { method: string; path: string; body?: unknown } {
  switch (req.kind) {
    case "createTask":
      return { method: "POST", path: "/tasks", body: req.body };
    case "updateTask":
      return { method: "PATCH", path: `/tasks/${req.taskId}`, body: req.body };
    case "moveTask":
      return { method: "PATCH", path: `/tasks/${req.taskId}/move`, body: req.body };
    case "deleteTask":
      return { method: "DELETE", path: `/tasks/${req.taskId}` };
    case "createList":
      return { method: "POST", path: `/boards/${boardId}/lists`, body: req.body };
    case "updateList":
      return { method: "PATCH", path: `/lists/${req.listId}`, body: req.body };
    case "deleteList":
      return { method: "DELETE", path: `/lists/${req.listId}` };
    case "renameBoard":
      return { method: "PATCH", path: `/boards/${boardId}`, body: req.body };
    case "addMember":
      return { method: "POST", path: `/boards/${boardId}/members`, body: req.body };
    case "removeMember":
      return { method: "DELETE", path: `/boards/${boardId}/members/${req.userId}` };
    case "restoreTask":
      return { method: "POST", path: `/tasks/${req.taskId}/restore` };
    case "restoreList":
      return { method: "POST", path: `/lists/${req.listId}/restore` };
    case "revert":
      return { method: "POST", path: `/boards/${boardId}/events/${req.seq}/revert` };
  }
}

/** The WebSocket message for a request (WS_KINDS), without its `requestId`. */
function wsMessage(req: Req, boardId: string): Message {
  switch (req.kind) {
    case "createTask":
      return { type: "create_task", ...req.body };
    case "updateTask":
      return { type: "update_task", taskId: req.taskId, ...req.body };
    case "moveTask":
      return { type: "move_task", taskId: req.taskId, ...req.body };
    case "deleteTask":
      return { type: "delete_task", taskId: req.taskId };
    case "restoreTask":
      return { type: "restore_task", taskId: req.taskId };
    case "restoreList":
      return { type: "restore_list", listId: req.listId };
    case "revert":
      return { type: "revert", boardId, seq: req.seq };
    default:
      throw new Error(`${req.kind} does not go over the WebSocket`);
  }
}

/** An `ack`'s result in the shape REST answers it. */
function ackValue(req: Req, reply: Message): Json {
  switch (req.kind) {
    case "deleteTask":
      return { taskId: reply.taskId, listId: reply.listId };
    case "restoreList":
      return { list: reply.list, tasks: reply.tasks };
    case "revert":
      return { event: reply.event };
    default:
      return reply.task;
  }
}

/** Sends one request through `door` (list, board and member requests always go over REST). */
export async function send(
  ctx: Ctx,
  boardId: string,
  req: Req,
  door: Door,
  key?: string,
): Promise<Answer> {
  ctx.stats.requests++;
  const answer = await sendOnce(ctx, boardId, req, door, key);
  const outcome = `${req.kind} ${answer.ok ? "ok" : answer.code ?? "?"}`;
  ctx.stats.outcomes[outcome] = (ctx.stats.outcomes[outcome] ?? 0) + 1;
  return answer;
}

async function sendOnce(
  ctx: Ctx,
  boardId: string,
  req: Req,
  door: Door,
  key?: string,
): Promise<Answer> {
  if (door === "ws" && WS_KINDS.has(req.kind)) {
    ctx.stats.ws++;
    const reply = await ctx.sockets[req.by].request({
      ...wsMessage(req, boardId),
      ...(key ? { idempotencyKey: key } : {}),
    });
    if (reply.type === "error") {
      return {
        door,
        ok: false,
        status: null,
        code: reply.code,
        message: reply.message,
        current: reply.task,
      };
    }
    return { door, ok: true, status: null, value: ackValue(req, reply) };
  }
  const route = restRoute(req, boardId);
  const response = await ctx.server.request(route.path, {
    method: route.method,
    token: ctx.tokens[req.by],
    ...(route.body !== undefined ? { json: route.body } : {}),
    ...(key ? { headers: { "idempotency-key": key } } : {}),
  });
  const text = await response.text();
  const body = text ? JSON.parse(text) : null;
  if (response.ok) return { door: "rest", ok: true, status: response.status, value: body };
  return {
    door: "rest",
    ok: false,
    status: response.status,
    code: body?.error?.code,
    message: body?.error?.message,
    current: body?.task,
  };
}

const STATUS: Record<string, number> = {
  validation_failed: 400,
  invalid_assignee: 400,
  invalid_list: 400,
  owner_cannot_leave: 400,
  forbidden: 403,
  not_found: 404,
  version_conflict: 409,
  already_member: 409,
  idempotency_key_reused: 409,
  limit_reached: 409,
  restore_conflict: 409,
  not_revertible: 409,
};

/** One line for the trace: who did what through which door. */
export function describe(req: Req, door: Door, key?: string): string {
  const who = USERS[req.by].name;
  const via = WS_KINDS.has(req.kind) ? door : "rest";
  const target = "taskId" in req
    ? ` ${req.taskId}`
    : "listId" in req
    ? ` ${req.listId}`
    : "userId" in req
    ? ` ${req.userId}`
    : "seq" in req
    ? ` ${req.seq}`
    : "";
  const body = "body" in req ? ` ${JSON.stringify(req.body)}` : "";
  return `${who} ${via} ${req.kind}${target}${body}${key ? ` key=${key}` : ""}`;
}

export function summarize(answer: Answer): string {
  const status = answer.status === null ? "ws" : String(answer.status);
  if (!answer.ok) return `${status} ${answer.code}`;
  const v = answer.value;
  if (v?.event) {
    const e = v.event;
    return `${status} ok ${e.type} #${e.id} of ${subjectOf(e)} (revertOf ${e.revertOf})`;
  }
  if (v?.list && v?.tasks) {
    return `${status} ok ${v.list.id} pos=${v.list.position} ${v.tasks.length} cards`;
  }
  if (v && typeof v === "object" && "position" in v) {
    return `${status} ok ${v.id ?? ""} pos=${v.position}${"version" in v ? ` v${v.version}` : ""}`;
  }
  return `${status} ok`;
}

/** Asserts that an answer is what the model predicted. */
export function checkAnswer(answer: Answer, prediction: Prediction, ignorePosition = false): void {
  if (!prediction.ok) {
    assert.equal(
      answer.ok,
      false,
      `expected ${prediction.code}, got a success: ${JSON.stringify(answer.value)}`,
    );
    assert.equal(
      answer.code,
      prediction.code,
      `expected ${prediction.code}, got ${answer.code}: ${answer.message}`,
    );
    if (answer.status !== null) assert.equal(answer.status, STATUS[prediction.code], "status");
    if (prediction.current) {
      assert.ok(answer.current, "a version_conflict carries the current task");
      assert.deepEqual(pick(answer.current, Object.keys(prediction.current)), prediction.current);
    }
    return;
  }
  assert.equal(answer.ok, true, `expected success, got ${answer.code}: ${answer.message}`);
  if (answer.status !== null) assert.equal(answer.status, prediction.status, "status");
  const keys = Object.keys(prediction.expect).filter((k) => !(ignorePosition && k === "position"));
  const value = prediction.view ? prediction.view(answer.value) : answer.value;
  assert.deepEqual(pick(value, keys), pick(prediction.expect, keys), "answer fields");
}

function pick(object: Json, keys: string[]): Record<string, unknown> {
  return Object.fromEntries(keys.map((k) => [k, object?.[k]]));
}

/** The parts of two answers that must be identical for "the same answer". */
function sameAnswer(a: Answer): Record<string, unknown> {
  return { ok: a.ok, code: a.code, message: a.message, value: a.value, current: a.current };
}

async function cursor(ctx: Ctx): Promise<number> {
  return (await expectStatus(await ctx.server.request("/healthz"), 200)).cursor;
}

// ---- running a sequence ---------------------------------------------------------------------

/** Where folding the log starts: the board as POST /boards answered it, or an empty board. */
export type FoldFrom = "created" | "empty";

/**
 * Runs one scenario on a new board, checking every answer against the model, then checks the
 * board: (a) the snapshot is the model's, (b) the log folded with `BoardModel.applyEvent` is the
 * snapshot, (c) positions are dense and nothing is orphaned. Throws with the trace on a mismatch.
 */
export async function runScenario(ctx: Ctx, scenario: Scenario, foldFrom: FoldFrom): Promise<void> {
  const trace: string[] = [];
  const owner = ctx.tokens[OWNER];
  const created = await expectStatus(
    await ctx.server.request("/boards", {
      method: "POST",
      json: { title: "Model board" },
      token: owner,
    }),
    201,
  );
  const boardId: string = created.board.id;
  const model = new BoardState(
    boardId,
    created.board.title,
    created.lists,
    ctx.limits,
    created.cursor,
  );
  trace.push(`board ${boardId} lists ${created.lists.map((l: Json) => l.id).join(",")}`);
  try {
    for (const who of scenario.members) {
      await single(ctx, model, trace, { op: "addMember", by: OWNER, who });
    }
    for (let i = 0; i < scenario.tasks; i++) {
      const title = `Task ${i}`;
      await single(ctx, model, trace, {
        op: "createTask",
        by: OWNER,
        door: "rest",
        list: i,
        title,
      });
    }
    for (const [i, op] of scenario.ops.entries()) {
      trace.push(`#${i} ${op.op}`);
      ctx.stats.operations++;
      await step(ctx, model, trace, op);
    }
    await checkBoard(ctx, model, created, foldFrom);
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    throw new Error(
      `${message}\n--- what the sequence did (board ${boardId}) ---\n${trace.join("\n")}`,
      {
        cause: error,
      },
    );
  }
  ctx.stats.sequences++;
}

async function single(ctx: Ctx, model: BoardState, trace: string[], op: SingleOp): Promise<Answer> {
  const req = model.resolve(op);
  const door = "door" in op ? op.door : "rest";
  const prediction = model.predict(req);
  const answer = await send(ctx, model.boardId, req, door);
  trace.push(`  ${describe(req, door)}${model.about(req)} → ${summarize(answer)}`);
  checkAnswer(answer, prediction);
  settle(ctx, model, req, prediction, answer);
  return answer;
}

function settle(
  ctx: Ctx,
  model: BoardState,
  req: Req,
  prediction: Prediction,
  answer: Answer,
): void {
  if (prediction.ok) {
    prediction.apply(answer.value);
    model.log.push(prediction.event);
    if (req.kind === "revert") model.lastReverted = req.seq;
    return;
  }
  ctx.stats.refused++;
  if (prediction.code === "version_conflict") ctx.stats.conflicts++;
  if (prediction.code === "not_found" && model.removed.has(USERS[req.by].id)) {
    ctx.stats.removedWrites++;
  }
}

async function step(ctx: Ctx, model: BoardState, trace: string[], op: Op): Promise<void> {
  if (needsLog(model, op)) await syncLog(ctx, model);
  switch (op.op) {
    case "race":
      return await race(ctx, model, trace, op);
    case "burst":
      return await burst(ctx, model, trace, op);
    case "retry":
      return await retry(ctx, model, trace, op);
    case "resend":
      return await resend(ctx, model, trace, op);
    default:
      await single(ctx, model, trace, op);
  }
}

/** Two versioned changes of one task at once: exactly one wins, the other gets the winner's task. */
async function race(ctx: Ctx, model: BoardState, trace: string[], op: RaceOp): Promise<void> {
  ctx.stats.races++;
  const sides = [op.first, op.second].map((side) => {
    const req = model.resolve({ ...side, task: op.task, version: "current" });
    return { req, door: side.door, prediction: model.predict(req) };
  });
  const answers = await Promise.all(sides.map((s) => send(ctx, model.boardId, s.req, s.door)));
  sides.forEach((s, i) =>
    trace.push(`  (at once) ${describe(s.req, s.door)} → ${summarize(answers[i])}`)
  );
  const expectedOk = sides.filter((s) => s.prediction.ok).length;
  if (expectedOk === 2) {
    assert.equal(
      answers.filter((a) => a.ok).length,
      1,
      "exactly one of two versioned changes wins",
    );
    const w = answers[0].ok ? 0 : 1;
    const loser = answers[1 - w];
    checkAnswer(answers[w], sides[w].prediction);
    assert.equal(
      loser.code,
      "version_conflict",
      `the loser gets version_conflict, not ${loser.code}`,
    );
    assert.deepEqual(loser.current, answers[w].value, "the loser's 409 carries the winner's task");
    settle(ctx, model, sides[w].req, sides[w].prediction, answers[w]);
    ctx.stats.refused++;
    ctx.stats.conflicts++;
    return;
  }
  const winner = sides.findIndex((s) => s.prediction.ok);
  sides.forEach((s, i) => {
    const p = s.prediction;
    // A change refused for its assignee or list is checked after the version: if the other
    // side committed first, it is refused for the version instead.
    const late = !p.ok && winner !== -1 && ["invalid_assignee", "invalid_list"].includes(p.code) &&
      answers[i].code === "version_conflict";
    if (!late) checkAnswer(answers[i], p);
  });
  for (const [i, s] of sides.entries()) settle(ctx, model, s.req, s.prediction, answers[i]);
}

/** Unversioned edits and deletes of distinct tasks at once: all apply, in whatever order. */
async function burst(ctx: Ctx, model: BoardState, trace: string[], op: BurstOp): Promise<void> {
  const seen = new Set<string>();
  const sides = [];
  for (const sub of op.ops) {
    const req = model.resolve(sub.op === "editTask" ? { ...sub, version: "none" } : sub);
    const taskId = (req as { taskId: string }).taskId;
    if (seen.has(taskId)) continue;
    seen.add(taskId);
    sides.push({ req, door: sub.door, prediction: model.predict(req) });
  }
  const answers = await Promise.all(sides.map((s) => send(ctx, model.boardId, s.req, s.door)));
  sides.forEach((s, i) =>
    trace.push(`  (at once) ${describe(s.req, s.door)} → ${summarize(answers[i])}`)
  );
  // Positions in the answers depend on the order the deletes ran in; the final board does not.
  sides.forEach((s, i) => checkAnswer(answers[i], s.prediction, true));
  for (const [i, s] of sides.entries()) settle(ctx, model, s.req, s.prediction, answers[i]);
  // Nor does the trash: where each card was when it went is read from the log (MEvent.loose).
  const deleted = sides.filter((s, i) => s.req.kind === "deleteTask" && answers[i].ok);
  if (deleted.length < 2) return;
  for (const s of deleted) {
    const taskId = (s.req as { taskId: string }).taskId;
    const event = model.log.findLast((e) => e.type === "task_deleted" && e.subject === taskId)!;
    event.loose = { spread: deleted.length - 1, item: model.trash.get(taskId)! };
  }
}

/** A keyed request, sent again with the same key: the same answer, and no second event. */
async function retry(ctx: Ctx, model: BoardState, trace: string[], op: RetryOp): Promise<void> {
  ctx.stats.retries++;
  const req = model.resolve(op.of);
  const door1 = "door" in op.of ? op.of.door : "rest";
  const key = `model-${crypto.randomUUID()}`;
  const prediction = model.predict(req);
  const first = await send(ctx, model.boardId, req, door1, key);
  trace.push(`  ${describe(req, door1, key)}${model.about(req)} → ${summarize(first)}`);
  checkAnswer(first, prediction);
  settle(ctx, model, req, prediction, first);
  const keyed: Keyed = { key, req, recorded: first.ok, answer: first };
  model.keyed.push(keyed);

  const before = await cursor(ctx);
  const again = op.reorder && "body" in req ? { ...req, body: reversed(req.body) } : req;
  const second = await send(ctx, model.boardId, again, op.door, key);
  trace.push(`  again ${describe(again, op.door, key)} → ${summarize(second)}`);
  assert.deepEqual(
    sameAnswer(second),
    sameAnswer(first),
    "a retry with the same key gets the same answer",
  );
  if (first.status !== null && second.status !== null) assert.equal(second.status, first.status);
  assert.equal(await cursor(ctx), before, "a retry with the same key commits no second event");

  if (!op.reuse) return;
  // The same key for a different request: refused when the key was recorded (the first one
  // succeeded); a refused request records nothing, so then the new one simply runs.
  const other: Req = "body" in req && "title" in req.body
    ? { ...req, body: { ...req.body, title: "reused key" } } as Req
    : {
      kind: "createTask",
      by: req.by,
      body: { listId: model.listId(0), title: "reused key" },
    };
  const expected = first.ok ? fail("idempotency_key_reused") : model.predict(other);
  const third = await send(ctx, model.boardId, other, op.door, key);
  trace.push(`  reuse ${describe(other, op.door, key)} → ${summarize(third)}`);
  checkAnswer(third, expected);
  settle(ctx, model, other, expected, third);
  if (first.ok) assert.equal(await cursor(ctx), before, "a reused key commits nothing");
  else if (third.ok) Object.assign(keyed, { req: other, recorded: true, answer: third });
}

/** The keyed request `resend` sends again, if any. */
function resent(model: BoardState, op: ResendOp): Keyed | undefined {
  const n = model.keyed.length;
  return n === 0 ? undefined : model.keyed[n - 1 - (op.back % n)];
}

/**
 * A keyed request sent again later (other requests since): if its key was recorded, the first
 * answer again — "answered with the original result and status", whatever changed since — and
 * no event; else it runs as new.
 */
async function resend(ctx: Ctx, model: BoardState, trace: string[], op: ResendOp): Promise<void> {
  const keyed = resent(model, op);
  if (!keyed) return void trace.push("  (no keyed request yet)");
  const { key, req } = keyed;
  if (keyed.recorded) {
    const before = await cursor(ctx);
    const again = await send(ctx, model.boardId, req, op.door, key);
    trace.push(
      `  later again ${describe(req, op.door, key)}${model.about(req)} → ${summarize(again)}`,
    );
    assert.deepEqual(
      sameAnswer(again),
      sameAnswer(keyed.answer),
      "a keyed request sent again later gets its first answer",
    );
    if (keyed.answer.status !== null && again.status !== null) {
      assert.equal(again.status, keyed.answer.status);
    }
    assert.equal(await cursor(ctx), before, "a keyed request sent again commits no event");
    return;
  }
  const prediction = model.predict(req);
  const answer = await send(ctx, model.boardId, req, op.door, key);
  trace.push(
    `  later again (not recorded) ${describe(req, op.door, key)}${model.about(req)} → ` +
      summarize(answer),
  );
  checkAnswer(answer, prediction);
  settle(ctx, model, req, prediction, answer);
  if (answer.ok) Object.assign(keyed, { recorded: true, answer });
}

function reversed(body: Record<string, unknown>): Record<string, unknown> {
  return Object.fromEntries(Object.entries(body).reverse());
}

/**
 * Whether the model must match its log to the server's before `op`: a revert names an event by
 * its seq; a card's restore needs the positions a burst's deletes left (MEvent.loose).
 */
function needsLog(model: BoardState, op: Op): boolean {
  const loose = () => model.log.some((e) => e.loose && e.seq === undefined);
  if (op.op === "resend") {
    const keyed = resent(model, op);
    return !!keyed && !keyed.recorded && (keyed.req.kind === "revert" ||
      (keyed.req.kind === "restoreTask" && loose()));
  }
  const one = op.op === "retry" ? op.of : op;
  return one.op === "revert" || (one.op === "restoreTask" && loose());
}

/** Reads the board's events the model has not matched yet and matches them (`matchLog`). */
async function syncLog(ctx: Ctx, model: BoardState): Promise<void> {
  matchLog(model, await readLog(ctx, model.boardId, model.matchedThrough, true));
}

/**
 * How many events one short-polling page holds at most (MAX_EVENTS in src/realtime/polling.ts):
 * a page with fewer is the end. (Were it smaller, `matchLog` would miss events and say so.)
 */
const POLL_PAGE = 500;

/**
 * Matches the server's events, in order, to the ones the model expects (by type, author and
 * subject: concurrent requests may commit in any order), giving each its seq, and checks what
 * each says (format 2, `revertOf`, `factsOf`); afterwards no expected event may be missing.
 */
export function matchLog(model: BoardState, events: Json[]): void {
  const name = (e: MEvent) => `${e.type} by ${e.actor} of ${e.subject}`;
  for (const e of events) {
    if (e.id <= model.matchedThrough) continue;
    const pending = model.log.filter((m) => m.seq === undefined);
    const m = pending.find((m) =>
      m.type === e.type && m.actor === e.actorId && m.subject === subjectOf(e)
    );
    assert.ok(
      m,
      `the log's event #${e.id} ${e.type} by ${e.actorId} of ${subjectOf(e)} is one the model ` +
        `expects (it expects ${pending.map(name).join("; ") || "none"})`,
    );
    m.seq = e.id;
    model.matchedThrough = e.id;
    assert.equal(e.v, 2, `event #${e.id} is of format 2`);
    assert.equal(e.revertOf, m.revertOf, `event #${e.id}'s revertOf`);
    const facts = factsOf(e);
    if (m.loose) {
      const got = facts.task.position;
      const guess = m.facts.task.position;
      assert.ok(
        Number.isInteger(got) && Math.abs(got - guess) <= m.loose.spread,
        `event #${e.id}: a card deleted in a burst was at ${got}, the model guessed ${guess}`,
      );
      m.facts.task.position = got;
      if (m.loose.item.kind === "task") m.loose.item.position = got;
    }
    assert.deepEqual(facts, m.facts, `event #${e.id} (${name(m)}) says what the model expects`);
  }
  const missing = model.log.filter((m) => m.seq === undefined).map(name);
  assert.deepEqual(missing, [], "every event the model expects is in the log");
}

// ---- the checks after a sequence ------------------------------------------------------------

/**
 * Every event of the board after `since`, through the short-polling endpoint, page by page until
 * an empty one (`quick`: until one that is not full, a request less).
 */
export async function readLog(
  ctx: Ctx,
  boardId: string,
  since = 0,
  quick = false,
): Promise<Json[]> {
  const events: Json[] = [];
  while (true) {
    const page = await expectStatus(
      await ctx.server.request(`/boards/${boardId}/updates?since=${since}`, {
        token: ctx.tokens[OWNER],
      }),
      200,
    );
    assert.ok(!page.resync, `the owner can replay the board's log from ${since}`);
    if (page.data.length === 0) return events;
    events.push(...page.data);
    if (quick && page.data.length < POLL_PAGE) return events;
    since = page.data[page.data.length - 1].id;
  }
}

/**
 * A board in one comparable shape: lists in order, then each list's tasks in order, positions
 * as their index (the client keeps order in arrays, so its copies' `position` fields may be
 * stale by design), members by user id.
 */
function comparable(
  board: Json,
  lists: Json[],
  tasksOf: (listId: string) => Json[],
  members: Json[],
) {
  return {
    board,
    lists: lists.map((l, i) => ({ ...l, position: i })),
    tasks: lists.flatMap((l) => tasksOf(l.id).map((t, i) => ({ ...t, position: i }))),
    members: [...members].sort((a, b) => a.userId.localeCompare(b.userId)),
  };
}

function snapshotShape(snapshot: Json) {
  const lists = [...snapshot.lists].sort((a, b) => a.position - b.position);
  const tasksOf = (listId: string) =>
    snapshot.tasks.filter((t: Json) => t.listId === listId).sort((a: Json, b: Json) =>
      a.position - b.position
    );
  return comparable(snapshot.board, lists, tasksOf, snapshot.members);
}

function foldShape(model: BoardModel) {
  return comparable(model.board, model.lists, (id) => model.columns.get(id) ?? [], model.members);
}

/** Folds `events` with the client's own model, from the board as created or from nothing. */
export function fold(created: Json, events: Json[], from: FoldFrom): BoardModel {
  const start = from === "created" ? created : {
    board: { id: created.board.id, title: "", ownerId: "", createdAt: "", updatedAt: "" },
    lists: [],
    tasks: [],
    members: [],
    cursor: 0,
  };
  const client = new BoardModel(structuredClone(start));
  for (const event of events) client.applyEvent(event);
  return client;
}

async function checkBoard(
  ctx: Ctx,
  model: BoardState,
  created: Json,
  foldFrom: FoldFrom,
): Promise<void> {
  const boardId = model.boardId;
  const snapshot = await expectStatus(
    await ctx.server.request(`/boards/${boardId}`, { token: ctx.tokens[OWNER] }),
    200,
  );

  // (c) dense positions, no orphans, no task twice.
  const listIds = snapshot.lists.map((l: Json) => l.id);
  assert.deepEqual(
    snapshot.lists.map((l: Json) => l.position).sort((a: number, b: number) => a - b),
    listIds.map((_: string, i: number) => i),
    "list positions are 0..n-1",
  );
  const taskIds = snapshot.tasks.map((t: Json) => t.id);
  assert.equal(new Set(taskIds).size, taskIds.length, "no task appears twice");
  for (const task of snapshot.tasks) {
    assert.ok(listIds.includes(task.listId), `task ${task.id}'s list ${task.listId} exists`);
    assert.equal(task.boardId, boardId, `task ${task.id} is on the board`);
  }
  for (const listId of listIds) {
    const positions = snapshot.tasks.filter((t: Json) => t.listId === listId).map((t: Json) =>
      t.position
    )
      .sort((a: number, b: number) => a - b);
    assert.deepEqual(
      positions,
      positions.map((_: number, i: number) => i),
      `positions in ${listId} are dense`,
    );
  }

  // (a) the board is the model's.
  const shape = snapshotShape(snapshot);
  assert.equal(snapshot.board.title, model.title, "board title");
  assert.deepEqual(
    shape.lists.map((l) => ({ id: l.id, title: l.title })),
    model.lists.map((l) => ({ id: l.id, title: l.title })),
    "lists, in order, as the model predicts",
  );
  assert.deepEqual(
    shape.tasks.map((t: Json) =>
      pick(t, [
        "id",
        "listId",
        "title",
        "description",
        "assigneeId",
        "version",
        "createdBy",
        "position",
      ])
    ),
    model.lists.flatMap((l) =>
      l.tasks.map((t, i) => ({
        ...pick(t, ["id"]),
        listId: l.id,
        ...pick(t, ["title", "description", "assigneeId", "version", "createdBy"]),
        position: i,
      }))
    ),
    "tasks, list by list in order, as the model predicts",
  );
  assert.deepEqual(
    shape.members.map((m: Json) => [m.userId, m.role]),
    [...model.members].sort(([a], [b]) => a.localeCompare(b)),
    "members as the model predicts",
  );
  const tasks = await expectStatus(
    await ctx.server.request(`/boards/${boardId}/tasks`, { token: ctx.tokens[OWNER] }),
    200,
  );
  assert.deepEqual(
    tasks,
    shape.tasks,
    "GET /boards/:id/tasks is the snapshot's tasks in list then position order",
  );

  // The log: one event per successful mutation, in order, with its actor.
  const events = await readLog(ctx, boardId);
  for (const [i, event] of events.entries()) {
    assert.equal(event.boardId, boardId);
    if (i > 0) assert.ok(event.id > events[i - 1].id, "event ids increase");
  }
  assert.ok(events.at(-1)!.id <= snapshot.cursor, "the snapshot includes every event");
  const after = events.filter((e) => e.id > created.cursor);
  const revert = (of: number | undefined) => of === undefined ? "" : ` reverting #${of}`;
  assert.deepEqual(
    after.map((e) => `${e.type}@${e.actorId}${revert(e.revertOf)}`).sort(),
    model.log.slice(1).map((e) => `${e.type}@${e.actor}${revert(e.revertOf)}`).sort(),
    "exactly one event per successful mutation, none for refused ones or retries",
  );
  // Each, in order, with what it says.
  matchLog(model, events);

  // The trash is the model's: what each deleted card and list was, and where.
  const trash = await expectStatus(
    await ctx.server.request(`/boards/${boardId}/trash`, { token: ctx.tokens[OWNER] }),
    200,
  );
  const byId = (a: Json, b: Json) => a.id.localeCompare(b.id);
  assert.deepEqual(
    trash.items.map((item: Json) =>
      item.kind === "task"
        ? { kind: "task", id: item.id, listId: item.listId, task: pick(item.task, CARD) }
        : {
          kind: "list",
          id: item.id,
          title: item.title,
          position: item.list.position,
          tasks: item.tasks.map((t: Json) => pick(t, CARD)),
        }
    ).sort(byId),
    [...model.trash.values()].map((item) =>
      item.kind === "task"
        ? {
          kind: "task",
          id: item.task.id,
          listId: item.listId,
          task: model.card(item.task, item.listId, item.position),
        }
        : {
          kind: "list",
          id: item.id,
          title: item.title,
          position: item.position,
          tasks: item.tasks.map((t, i) => model.card(t, item.id, i)),
        }
    ).sort(byId),
    "the trash holds what the model's does",
  );
  const times = trash.items.map((item: Json) => item.deletedAt);
  assert.deepEqual(times, [...times].sort().reverse(), "the trash lists the newest deletion first");

  // (b) the client's own fold of the log is the snapshot.
  const client = fold(created, events, foldFrom);
  assert.equal(client.deleted, false);
  assert.deepEqual(
    foldShape(client),
    shape,
    `folding the log with BoardModel.applyEvent (from the board ${
      foldFrom === "created" ? "as POST /boards answered it" : "empty, cursor 0"
    }) gives the snapshot`,
  );
}
