/**
 * The model-based property test's parts (tests/model_test.ts): generated operation sequences as
 * plain data (so fast-check can shrink them and print them), a simple model of one board that
 * predicts every answer, a driver that sends each operation through REST or the WebSocket, and
 * the checks run after each sequence — the snapshot against the model, the event log folded with
 * the client's own `BoardModel.applyEvent` against the snapshot, dense positions and no orphans.
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
  | RemoveMemberOp;
export type Op = SingleOp | RaceOp | BurstOp | RetryOp;

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
);
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
  { weight: 2, arbitrary: raceArb },
  { weight: 1, arbitrary: burstArb },
  { weight: 2, arbitrary: retryArb },
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

// ---- requests: one operation resolved against the model, door-agnostic ------------------------

export type Req =
  | { kind: "createTask"; by: U; body: Record<string, unknown> }
  | { kind: "updateTask"; by: U; taskId: string; body: Record<string, unknown> }
  | { kind: "moveTask"; by: U; taskId: string; body: Record<string, unknown> }
  | { kind: "deleteTask"; by: U; taskId: string }
  | { kind: "createList"; by: U; body: Record<string, unknown> }
  | { kind: "updateList"; by: U; listId: string; body: Record<string, unknown> }
  | { kind: "deleteList"; by: U; listId: string }
  | { kind: "renameBoard"; by: U; body: Record<string, unknown> }
  | { kind: "addMember"; by: U; body: Record<string, unknown> }
  | { kind: "removeMember"; by: U; userId: string };

const TASK_KINDS = new Set(["createTask", "updateTask", "moveTask", "deleteTask"]);

/** An answer from either door, in one shape. */
export interface Answer {
  door: Door;
  ok: boolean;
  /** REST only. */
  status: number | null;
  code?: string;
  message?: string;
  /** The result: a task, list, board, member, or `{taskId, listId}`. */
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

/** What the model expects of one request. */
export type Prediction =
  | { ok: false; code: string; current?: Json }
  | {
    ok: true;
    /** Fields the answer must have (a subset of it). */
    expect: Record<string, unknown>;
    status: number;
    event: string;
    apply(value: Json): void;
  };

const clamp = (n: number, lo: number, hi: number) => Math.min(Math.max(n, lo), hi);
const validTitle = (text: unknown) =>
  typeof text === "string" && text.trim().length >= 1 && text.trim().length <= 200;
const validPosition = (n: unknown) =>
  Number.isInteger(n) && (n as number) >= 0 && (n as number) <= 1_000_000;
const fail = (code: string, current?: Json): Prediction => ({ ok: false, code, current });

/** One board as the test believes it is: lists in order, each with its tasks in order. */
export class BoardState {
  lists: MList[];
  /** user id → role */
  members = new Map<string, "owner" | "member">();
  deadTasks: string[] = [];
  deadLists: string[] = [];
  /** `type@actor` of every event the operations so far must have committed. */
  events: string[] = [];
  /** Users removed from the board (or who left) and not added again. */
  removed = new Set<string>();

  constructor(
    readonly boardId: string,
    public title: string,
    lists: { id: string; title: string }[],
  ) {
    this.lists = lists.map((l) => ({ id: l.id, title: l.title, tasks: [] }));
    this.members.set(USERS[OWNER].id, "owner");
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
    }
  }

  /**
   * What the server must answer, from the rules in the README: input is validated first, then
   * the target must exist and the caller be a member (404 either way), then the owner's rights
   * (403), the version (409), the assignee and the target list (400).
   */
  predict(req: Req): Prediction {
    const actor = USERS[req.by].id;
    const member = this.isMember(actor);
    const role = this.members.get(actor);
    const event = (type: string) => `${type}@${actor}`;
    switch (req.kind) {
      case "createTask": {
        const b = req.body as Json;
        if (!validTitle(b.title) || (b.position !== undefined && !validPosition(b.position))) {
          return fail("validation_failed");
        }
        const list = this.list(b.listId);
        if (!list || !member) return fail("not_found");
        if (b.assigneeId && !this.isMember(b.assigneeId)) return fail("invalid_assignee");
        const n = list.tasks.length;
        const at = clamp(b.position ?? n, 0, n);
        const fields = {
          title: b.title.trim(),
          description: b.description ?? "",
          assigneeId: b.assigneeId ?? null,
          version: 1,
          createdBy: actor,
        };
        return {
          ok: true,
          status: 201,
          expect: { ...fields, boardId: this.boardId, listId: list.id, position: at },
          event: event("task_created"),
          apply: (value) => list.tasks.splice(at, 0, { id: value.id, ...fields }),
        };
      }
      case "updateTask": {
        const b = req.body as Json;
        const none = b.title === undefined && b.description === undefined &&
          b.assigneeId === undefined;
        if (none || (b.title !== undefined && !validTitle(b.title))) {
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
        return {
          ok: true,
          status: 200,
          expect: { ...this.taskView(task.id), ...after },
          event: event("task_updated"),
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
          event: event("task_moved"),
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
        return {
          ok: true,
          status: 200,
          expect: { taskId: req.taskId, listId: found.list.id },
          event: event("task_deleted"),
          apply: () => {
            const now = this.locate(req.taskId)!;
            now.list.tasks.splice(now.index, 1);
            this.deadTasks.push(req.taskId);
          },
        };
      }
      case "createList": {
        const b = req.body as Json;
        if (!validTitle(b.title) || (b.position !== undefined && !validPosition(b.position))) {
          return fail("validation_failed");
        }
        if (!member) return fail("not_found");
        const m = this.lists.length;
        const at = clamp(b.position ?? m, 0, m);
        const listTitle = b.title.trim();
        return {
          ok: true,
          status: 201,
          expect: { boardId: this.boardId, title: listTitle, position: at },
          event: event("list_created"),
          apply: (value) => this.lists.splice(at, 0, { id: value.id, title: listTitle, tasks: [] }),
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
          event: event(b.position === undefined ? "list_updated" : "list_moved"),
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
          event: event("list_deleted"),
          apply: () => {
            this.lists.splice(this.lists.indexOf(list), 1);
            this.deadLists.push(list.id);
            this.deadTasks.push(...list.tasks.map((t) => t.id));
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
          event: event("board_updated"),
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
          event: event("member_added"),
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
          event: event("member_removed"),
          apply: () => {
            this.members.delete(req.userId);
            this.removed.add(req.userId);
          },
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
  /** How many answers of each kind (`ok` or the error code). */
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
  }
}

const WS_TYPES: Record<string, string> = {
  createTask: "create_task",
  updateTask: "update_task",
  moveTask: "move_task",
  deleteTask: "delete_task",
};

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
  const outcome = answer.ok ? "ok" : answer.code ?? "?";
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
  if (door === "ws" && TASK_KINDS.has(req.kind)) {
    ctx.stats.ws++;
    const reply = await ctx.sockets[req.by].request({
      type: WS_TYPES[req.kind],
      ...("taskId" in req ? { taskId: req.taskId } : {}),
      ...("body" in req ? req.body : {}),
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
    const value = "task" in reply ? reply.task : { taskId: reply.taskId, listId: reply.listId };
    return { door, ok: true, status: null, value };
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
};

/** One line for the trace: who did what through which door. */
export function describe(req: Req, door: Door, key?: string): string {
  const who = USERS[req.by].name;
  const via = TASK_KINDS.has(req.kind) ? door : "rest";
  const target = "taskId" in req
    ? ` ${req.taskId}`
    : "listId" in req
    ? ` ${req.listId}`
    : "userId" in req
    ? ` ${req.userId}`
    : "";
  const body = "body" in req ? ` ${JSON.stringify(req.body)}` : "";
  return `${who} ${via} ${req.kind}${target}${body}${key ? ` key=${key}` : ""}`;
}

export function summarize(answer: Answer): string {
  const status = answer.status === null ? "ws" : String(answer.status);
  if (!answer.ok) return `${status} ${answer.code}`;
  const v = answer.value;
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
  assert.deepEqual(pick(answer.value, keys), pick(prediction.expect, keys), "answer fields");
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
  const model = new BoardState(boardId, created.board.title, created.lists);
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
  trace.push(`  ${describe(req, door)} → ${summarize(answer)}`);
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
    model.events.push(prediction.event);
    return;
  }
  ctx.stats.refused++;
  if (prediction.code === "version_conflict") ctx.stats.conflicts++;
  if (prediction.code === "not_found" && model.removed.has(USERS[req.by].id)) {
    ctx.stats.removedWrites++;
  }
}

async function step(ctx: Ctx, model: BoardState, trace: string[], op: Op): Promise<void> {
  switch (op.op) {
    case "race":
      return await race(ctx, model, trace, op);
    case "burst":
      return await burst(ctx, model, trace, op);
    case "retry":
      return await retry(ctx, model, trace, op);
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
}

/** A keyed request, sent again with the same key: the same answer, and no second event. */
async function retry(ctx: Ctx, model: BoardState, trace: string[], op: RetryOp): Promise<void> {
  ctx.stats.retries++;
  const req = model.resolve(op.of);
  const door1 = "door" in op.of ? op.of.door : "rest";
  const key = `model-${crypto.randomUUID()}`;
  const prediction = model.predict(req);
  const first = await send(ctx, model.boardId, req, door1, key);
  trace.push(`  ${describe(req, door1, key)} → ${summarize(first)}`);
  checkAnswer(first, prediction);
  settle(ctx, model, req, prediction, first);

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
}

function reversed(body: Record<string, unknown>): Record<string, unknown> {
  return Object.fromEntries(Object.entries(body).reverse());
}

// ---- the checks after a sequence ------------------------------------------------------------

/** Every event of the board from cursor 0, through the short-polling endpoint, page by page. */
export async function readLog(ctx: Ctx, boardId: string): Promise<Json[]> {
  const events: Json[] = [];
  let since = 0;
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
  assert.deepEqual(
    after.map((e) => `${e.type}@${e.actorId}`).sort(),
    [...model.events].sort(),
    "exactly one event per successful mutation, none for refused ones or retries",
  );

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
