/**
 * Board actions: the one implementation of every read and mutation, with its validation and
 * authorization, behind both doors (REST routes and WebSocket messages). Reads check membership
 * here; mutations are checked by the store inside their own transaction (so a member removed
 * concurrently cannot write once more). A non-member gets the same 404 as for a board that does
 * not exist, so learns nothing. Events reach the bus through the store's commit listener, never
 * from here.
 */
import { type Caller, DEMO_GUEST_ID } from "./auth.ts";
import { DomainError, forbidden, notFound } from "./errors.ts";
import {
  addMemberSchema,
  createBoardSchema,
  createListSchema,
  createTaskSchema,
  moveTaskSchema,
  parseInput,
  renameBoardSchema,
  updateListSchema,
  updateTaskSchema,
} from "./schemas.ts";
import type { Role, Store } from "./store/store.ts";

export class Actions {
  constructor(readonly store: Store) {}

  /** The caller's role on the board; 404 when the board is missing or not theirs to see. */
  async requireMember(caller: Caller, boardId: string): Promise<Role> {
    const role = await this.store.memberRole(boardId, caller.user.id);
    if (!role) throw notFound("Board", boardId);
    return role;
  }

  async #requireOwner(caller: Caller, boardId: string): Promise<void> {
    if (await this.requireMember(caller, boardId) !== "owner") {
      throw forbidden(`Only the owner of board "${boardId}" can do that`);
    }
  }

  // ---- boards and members ---------------------------------------------------------------

  listBoards(caller: Caller) {
    return this.store.boardsForUser(caller.user.id);
  }

  async createBoard(caller: Caller, input: unknown) {
    const { title } = parseInput(createBoardSchema, input);
    return (await this.store.createBoard(caller.user.id, title)).value;
  }

  async getBoard(caller: Caller, boardId: string) {
    await this.requireMember(caller, boardId);
    const snapshot = await this.store.snapshot(boardId);
    if (!snapshot) throw notFound("Board", boardId);
    return snapshot;
  }

  async renameBoard(caller: Caller, boardId: string, input: unknown) {
    const { title } = parseInput(renameBoardSchema, input);
    return (await this.store.renameBoard(caller.user.id, boardId, title)).value;
  }

  async deleteBoard(caller: Caller, boardId: string) {
    return (await this.store.deleteBoard(caller.user.id, boardId)).value;
  }

  async listMembers(caller: Caller, boardId: string) {
    await this.requireMember(caller, boardId);
    return this.store.listMembers(boardId);
  }

  async addMember(caller: Caller, boardId: string, input: unknown) {
    const { email } = parseInput(addMemberSchema, input);
    // Checked before the lookup too, so that only an owner learns whether an account exists.
    await this.#requireOwner(caller, boardId);
    const found = await this.store.findUserByEmail(email);
    if (!found) throw new DomainError("user_not_found", `No account uses "${email}"`);
    return (await this.store.addMember(caller.user.id, boardId, found.user.id)).value;
  }

  async removeMember(caller: Caller, boardId: string, userId: string) {
    if (userId === DEMO_GUEST_ID) {
      // Every anonymous visitor is this one user: removing it would lock them all out.
      await this.requireMember(caller, boardId);
      throw forbidden("The demo guest is shared by every visitor and cannot be removed");
    }
    // The store checks the caller may (themselves: a member; anyone else: the owner).
    return (await this.store.removeMember(caller.user.id, boardId, userId)).value;
  }

  // ---- lists ------------------------------------------------------------------------------

  async createList(caller: Caller, boardId: string, input: unknown) {
    const { title, position } = parseInput(createListSchema, input);
    return (await this.store.createList(caller.user.id, boardId, title, position)).value;
  }

  async updateList(caller: Caller, listId: string, input: unknown) {
    const changes = parseInput(updateListSchema, input);
    return (await this.store.updateList(caller.user.id, listId, changes)).value;
  }

  async deleteList(caller: Caller, listId: string) {
    return (await this.store.deleteList(caller.user.id, listId)).value;
  }

  // ---- tasks ------------------------------------------------------------------------------

  async #taskOfMember(caller: Caller, taskId: string) {
    const found = await this.store.taskForMember(taskId, caller.user.id);
    if (!found) throw notFound("Task", taskId);
    return found.task;
  }

  async listTasks(caller: Caller, boardId: string) {
    await this.requireMember(caller, boardId);
    return this.store.tasksForBoard(boardId);
  }

  getTask(caller: Caller, taskId: string) {
    return this.#taskOfMember(caller, taskId);
  }

  async createTask(caller: Caller, input: unknown) {
    const fields = parseInput(createTaskSchema, input);
    return (await this.store.createTask(caller.user.id, fields)).value;
  }

  async updateTask(caller: Caller, taskId: string, input: unknown) {
    const changes = parseInput(updateTaskSchema, input);
    return (await this.store.updateTask(caller.user.id, taskId, changes)).value;
  }

  async moveTask(caller: Caller, taskId: string, input: unknown) {
    const move = parseInput(moveTaskSchema, input);
    return (await this.store.moveTask(caller.user.id, taskId, move)).value;
  }

  async deleteTask(caller: Caller, taskId: string) {
    const task = (await this.store.deleteTask(caller.user.id, taskId)).value;
    return { taskId: task.id, listId: task.listId };
  }
}
