/**
 * Board rooms for WebSocket connections: who is in which board's room, the presence messages
 * (a full `presence` snapshot to the joiner, `user_joined` / `user_left` diffs to the others,
 * decided by `Presence` so that a user with several tabs counts once), and the relay of typing
 * and cursor messages to everyone in the room but the sender. Nothing crosses boards. Typing
 * expires without a refresh; one shared ticker sweeps the rooms where someone is typing.
 * Board events do not pass through here: each member receives them from its own `EventFeed`.
 */
import { log } from "../log.ts";
import type { Presence, PresenceEntry } from "./presence.ts";
import { Ticker } from "./ticker.ts";
import { encode, type Frame, type ServerMessage } from "./ws_protocol.ts";

/** A connection as a room sees it. */
export interface RoomMember extends PresenceEntry {
  /** Sends a frame the member must get (presence changes). */
  send(frame: Frame): void;
  /** Sends a frame the member may miss when it is behind (typing, cursors). */
  sendEphemeral(frame: Frame): void;
}

interface Typing {
  taskId: string | null;
  connectionId: string;
  name: string;
  expiresAt: number;
}

class Room {
  /** Members, each with whether it has had its presence snapshot (diffs go only to those). */
  readonly members = new Map<RoomMember, { ready: boolean }>();
  /** Who is typing, by user. */
  readonly typing = new Map<string, Typing>();

  constructor(readonly boardId: string) {}
}

export interface RoomsOptions {
  typingTimeoutMs: number;
}

export interface RoomCounts {
  sockets: number;
  users: number;
}

export class Rooms {
  #rooms = new Map<string, Room>();
  #typingSweep: Ticker<Room>;

  constructor(readonly presence: Presence, readonly options: RoomsOptions) {
    const sweepMs = Math.max(10, Math.min(1000, Math.floor(options.typingTimeoutMs / 5)));
    this.#typingSweep = new Ticker(sweepMs, (room) => this.#expireTyping(room));
  }

  /**
   * Adds a member to a board's room: the member gets the `presence` snapshot, and the others get
   * `user_joined` when this is the user's first connection there.
   */
  async join(boardId: string, member: RoomMember): Promise<void> {
    let room = this.#rooms.get(boardId);
    if (!room) this.#rooms.set(boardId, room = new Room(boardId));
    if (room.members.has(member)) return;
    const state = { ready: false };
    room.members.set(member, state);
    const first = await this.presence.add(boardId, member);
    const users = await this.presence.list(boardId);
    if (room.members.get(member) !== state) return; // left while joining
    state.ready = true;
    member.send(encode({ type: "presence", boardId, users }));
    if (first) {
      const { userId, name } = member;
      this.#broadcast(room, { type: "user_joined", boardId, userId, name }, member.connectionId);
    }
  }

  /**
   * Removes a member (idempotent): its typing state is cleared, and the others get `user_left`
   * when it was the user's last connection there.
   */
  async leave(boardId: string, member: RoomMember): Promise<void> {
    const room = this.#rooms.get(boardId);
    if (!room?.members.delete(member)) return;
    const typing = room.typing.get(member.userId);
    if (typing?.connectionId === member.connectionId) this.#stopTyping(room, member.userId);
    if (room.members.size === 0) this.#dropRoom(room);
    if (await this.presence.remove(boardId, member)) {
      const { userId, name } = member;
      const current = this.#rooms.get(boardId);
      if (current) this.#broadcast(current, { type: "user_left", boardId, userId, name });
    }
  }

  /** True when the member is in the board's room and has had its snapshot. */
  isIn(boardId: string, member: RoomMember): boolean {
    return this.#rooms.get(boardId)?.members.get(member)?.ready ?? false;
  }

  /**
   * Starts or refreshes (typing = true) or ends a member's typing indicator. Others hear of a
   * change only: a refresh of the same task just extends the expiry.
   */
  typing(boardId: string, member: RoomMember, taskId: string | null, typing: boolean): void {
    const room = this.#rooms.get(boardId);
    if (!room?.members.has(member)) return;
    if (!typing) {
      if (room.typing.has(member.userId)) this.#stopTyping(room, member.userId);
      return;
    }
    const current = room.typing.get(member.userId);
    room.typing.set(member.userId, {
      taskId,
      connectionId: member.connectionId,
      name: member.name,
      expiresAt: performance.now() + this.options.typingTimeoutMs,
    });
    this.#typingSweep.add(room);
    if (current?.taskId === taskId) return;
    const { userId, name } = member;
    this.#broadcast(
      room,
      { type: "user_typing", boardId, userId, name, taskId, typing: true },
      member.connectionId,
      true,
    );
  }

  /** Relays a pointer position to everyone in the room but the sender. */
  cursor(boardId: string, member: RoomMember, x: number, y: number): void {
    const room = this.#rooms.get(boardId);
    if (!room?.members.has(member)) return;
    const { userId, name } = member;
    const message: ServerMessage = { type: "cursor_moved", boardId, userId, name, x, y };
    this.#broadcast(room, message, member.connectionId, true);
  }

  /** Sockets and distinct users per board room. */
  counts(): Record<string, RoomCounts> {
    const counts: Record<string, RoomCounts> = {};
    for (const [boardId, room] of this.#rooms) {
      const users = new Set([...room.members.keys()].map((member) => member.userId));
      counts[boardId] = { sockets: room.members.size, users: users.size };
    }
    return counts;
  }

  stop(): void {
    this.#typingSweep.stop();
  }

  #stopTyping(room: Room, userId: string): void {
    const typing = room.typing.get(userId);
    if (!typing) return;
    room.typing.delete(userId);
    if (room.typing.size === 0) this.#typingSweep.delete(room);
    const { boardId } = room;
    const { name, taskId, connectionId } = typing;
    this.#broadcast(
      room,
      { type: "user_typing", boardId, userId, name, taskId, typing: false },
      connectionId,
      true,
    );
  }

  #expireTyping(room: Room): void {
    const now = performance.now();
    for (const [userId, typing] of [...room.typing]) {
      if (typing.expiresAt <= now) this.#stopTyping(room, userId);
    }
    if (room.typing.size === 0) this.#typingSweep.delete(room);
  }

  #dropRoom(room: Room): void {
    this.#rooms.delete(room.boardId);
    room.typing.clear();
    this.#typingSweep.delete(room);
  }

  /** Encodes once and sends to every member that has its snapshot, but the connection `except`. */
  #broadcast(room: Room, message: ServerMessage, except?: string, ephemeral = false): void {
    const frame = encode(message);
    for (const [member, state] of [...room.members]) {
      if (member.connectionId === except || !state.ready) continue;
      try {
        if (ephemeral) member.sendEphemeral(frame);
        else member.send(frame);
      } catch (error) {
        log.warn(`room ${room.boardId}: sending to ${member.connectionId} failed: ${error}`);
      }
    }
  }
}
