/**
 * The store contract: every read and every mutation of boards, lists, tasks, members, accounts
 * and the durable event log. Each mutation commits atomically together with exactly one event
 * row and returns both (several mutations may share one transaction as long as each succeeds or
 * fails alone); the event goes to the `onCommit` listener (the bus) right after the commit, in
 * seq order, before the mutation's promise resolves. Methods return Promises so a PostgreSQL
 * store can implement the same contract.
 */

export type Role = "owner" | "member";

export interface User {
  id: string;
  email: string;
  name: string;
  isAdmin: boolean;
  createdAt: string;
}

export interface Board {
  id: string;
  title: string;
  ownerId: string;
  createdAt: string;
  updatedAt: string;
}

export interface BoardSummary extends Board {
  role: Role;
}

export interface List {
  id: string;
  boardId: string;
  title: string;
  position: number;
  createdAt: string;
  updatedAt: string;
}

export interface Task {
  id: string;
  boardId: string;
  listId: string;
  title: string;
  description: string;
  assigneeId: string | null;
  position: number;
  version: number;
  createdBy: string | null;
  createdAt: string;
  updatedAt: string;
}

export interface Member {
  boardId: string;
  userId: string;
  name: string;
  email: string;
  role: Role;
  addedAt: string;
}

/** A board as one consistent read: with `cursor`, the seq of the newest event it includes. */
export interface Snapshot {
  board: Board;
  lists: List[];
  tasks: Task[];
  members: Member[];
  cursor: number;
}

/** One row of the event log as it goes on the wire: `{type, id, boardId, actorId, at, ...payload}`. */
export interface BoardEvent {
  /** The global, monotonically increasing sequence number: the event cursor. */
  id: number;
  type: string;
  boardId: string;
  actorId: string | null;
  at: string;
  [field: string]: unknown;
}

/** What every mutation returns: its result and the event it committed with it. */
export interface Mutation<T> {
  value: T;
  event: BoardEvent;
}

export interface NewTask {
  listId: string;
  title: string;
  description?: string;
  assigneeId?: string | null;
  position?: number;
}

export interface TaskChanges {
  title?: string;
  description?: string;
  assigneeId?: string | null;
  /** When given, the update is refused with 409 unless it equals the stored version. */
  version?: number;
}

export interface TaskMove {
  listId: string;
  position: number;
  version?: number;
}

export interface ListChanges {
  title?: string;
  position?: number;
}

export interface RetentionPolicy {
  maxCount: number;
  maxAgeMs: number;
}

export interface Store {
  /**
   * Registers the function that receives each event right after its transaction commits, in
   * commit (= seq) order. Wiring points this at the bus; transports rely on the order.
   */
  onCommit(listener: (event: BoardEvent) => void): void;

  // Accounts and sessions.
  createUser(input: { email: string; name: string; passwordHash: string }): Promise<User>;
  findUserByEmail(email: string): Promise<{ user: User; passwordHash: string | null } | null>;
  getUser(id: string): Promise<User | null>;
  createSession(tokenHash: string, userId: string, expiresAt: Date): Promise<void>;
  /** The user of an unexpired session, or null. */
  findSessionUser(tokenHash: string): Promise<User | null>;
  deleteSession(tokenHash: string): Promise<void>;
  /** Deletes the sessions that have expired; returns their token hashes. */
  deleteExpiredSessions(): Promise<string[]>;

  // Boards and membership.
  boardsForUser(userId: string): Promise<BoardSummary[]>;
  /** The user's role on the board, or null when not a member or the board does not exist. */
  memberRole(boardId: string, userId: string): Promise<Role | null>;
  snapshot(boardId: string): Promise<Snapshot | null>;
  createBoard(actorId: string, title: string): Promise<Mutation<Snapshot>>;
  renameBoard(actorId: string, boardId: string, title: string): Promise<Mutation<Board>>;
  deleteBoard(actorId: string, boardId: string): Promise<Mutation<{ boardId: string }>>;
  listMembers(boardId: string): Promise<Member[]>;
  addMember(actorId: string, boardId: string, userId: string): Promise<Mutation<Member>>;
  removeMember(actorId: string, boardId: string, userId: string): Promise<Mutation<Member>>;

  // Lists.
  getList(listId: string): Promise<List | null>;
  /** The list with the user's role on its board, in one read; null when either is missing. */
  listForMember(listId: string, userId: string): Promise<{ list: List; role: Role } | null>;
  createList(
    actorId: string,
    boardId: string,
    title: string,
    position?: number,
  ): Promise<Mutation<List>>;
  updateList(actorId: string, listId: string, changes: ListChanges): Promise<Mutation<List>>;
  deleteList(actorId: string, listId: string): Promise<Mutation<List>>;

  // Tasks.
  getTask(taskId: string): Promise<Task | null>;
  /** The task with the user's role on its board, in one read; null when either is missing. */
  taskForMember(taskId: string, userId: string): Promise<{ task: Task; role: Role } | null>;
  tasksForBoard(boardId: string): Promise<Task[]>;
  /** Tasks of the board whose updatedAt is strictly after `since`. */
  tasksUpdatedSince(boardId: string, since: Date): Promise<Task[]>;
  createTask(actorId: string, input: NewTask): Promise<Mutation<Task>>;
  updateTask(actorId: string, taskId: string, changes: TaskChanges): Promise<Mutation<Task>>;
  moveTask(actorId: string, taskId: string, move: TaskMove): Promise<Mutation<Task>>;
  deleteTask(actorId: string, taskId: string): Promise<Mutation<Task>>;

  // The event log.
  /** The seq of the newest event (0 when none was ever written). */
  cursor(): Promise<number>;
  /** Events of these boards with seq > after, oldest first, at most `limit`. */
  eventsAfter(boardIds: string[], after: number, limit: number): Promise<BoardEvent[]>;
  /** Every event with seq <= this value may have been pruned: older cursors must resync. */
  prunedThrough(): Promise<number>;
  /** Deletes events outside the retention window; returns how many went. */
  prune(policy: RetentionPolicy): Promise<number>;

  close(): Promise<void>;
}
