/**
 * Board rooms for WebSocket connections: who is in which board's room, the presence messages
 * (a full `presence` snapshot to the joiner, `user_joined` / `user_left` diffs to the others,
 * decided by `Presence` so that a user with several tabs counts once), and the relay of typing
 * and cursor messages to everyone in the room but the sender. Nothing crosses boards. Typing
 * expires without a refresh; one shared ticker sweeps the rooms where someone is typing.
 * Board events do not pass through here: each member receives them from its own `EventFeed`.
 *
 * Across instances (a `RoomChannel`), a room follows its board's channel while it has members
 * here: what one instance announces (joins, leaves, typing, cursors) reaches the members of
 * every other. Each instance expires remote typers by itself, so a typer whose instance dies
 * stops showing within the typing timeout; refreshes travel so that a live typer does not.
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
  /** Typing on another instance: expired here, never announced from here. */
  remote: boolean;
}

class Room {
  /** Members, each with whether it has had its presence snapshot (diffs go only to those). */
  readonly members = new Map<RoomMember, { ready: boolean }>();
  /** Who is typing, by user. */
  readonly typing = new Map<string, Typing>();
  /** Stops following the board's channel (other instances). */
  unfollow: () => void = () => {};

  constructor(readonly boardId: string) {}
}

/** What travels between instances on a board's room channel. */
export type RoomRelayMessage =
  | { kind: "message"; message: ServerMessage; except?: string; ephemeral: boolean }
  | {
    kind: "typing_refresh";
    userId: string;
    name: string;
    connectionId: string;
    taskId: string | null;
  };

/** The room messages of other instances (Redis pub/sub); absent on one instance. */
export interface RoomChannel {
  publish(boardId: string, message: RoomRelayMessage): void;
  /** Receives the board's messages from the other instances until the returned stop is called. */
  follow(boardId: string, handler: (message: RoomRelayMessage) => void): () => void;
}

const typingMessage = (
  boardId: string,
  userId: string,
  name: string,
  taskId: string | null,
  typing: boolean,
): ServerMessage => ({ type: "user_typing", boardId, userId, name, taskId, typing });

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

  constructor(
    readonly presence: Presence,
    readonly options: RoomsOptions,
    readonly channel?: RoomChannel,
  ) {
    const sweepMs = Math.max(10, Math.min(1000, Math.floor(options.typingTimeoutMs / 5)));
    this.#typingSweep = new Ticker(sweepMs, (room) => this.#expireTyping(room));
    // A user whose instance went silent: this instance reaped them, so it tells everyone.
    presence.onExpire((boardId, { userId, name }) =>
      this.#announce(boardId, { type: "user_left", boardId, userId, name })
    );
    presence.onRestore((firsts) =>
      this.#restored(firsts).catch((error) => log.warn(`presence restore failed: ${error}`))
    );
  }

  #room(boardId: string): Room {
    let room = this.#rooms.get(boardId);
    if (!room) {
      this.#rooms.set(boardId, room = new Room(boardId));
      const created = room;
      if (this.channel) {
        room.unfollow = this.channel.follow(boardId, (m) => this.#onRemote(created, m));
      }
    }
    return room;
  }

  /**
   * Adds a member to a board's room: the member gets the `presence` snapshot, and the others get
   * `user_joined` when this is the user's first connection there.
   */
  async join(boardId: string, member: RoomMember): Promise<void> {
    const room = this.#room(boardId);
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
      this.#announce(boardId, { type: "user_joined", boardId, userId, name }, member.connectionId);
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
      this.#announce(boardId, { type: "user_left", boardId, userId, name });
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
    const { userId, name, connectionId } = member;
    this.#setTyping(room, userId, { taskId, connectionId, name, remote: false });
    if (current?.taskId === taskId) {
      // Others already show it; the other instances only need to keep it from expiring.
      this.channel?.publish(boardId, {
        kind: "typing_refresh",
        userId,
        name,
        connectionId,
        taskId,
      });
      return;
    }
    this.#announce(boardId, typingMessage(boardId, userId, name, taskId, true), connectionId, true);
  }

  #setTyping(room: Room, userId: string, typing: Omit<Typing, "expiresAt">): void {
    room.typing.set(userId, {
      ...typing,
      expiresAt: performance.now() + this.options.typingTimeoutMs,
    });
    this.#typingSweep.add(room);
  }

  /** Relays a pointer position to everyone in the room but the sender. */
  cursor(boardId: string, member: RoomMember, x: number, y: number): void {
    const room = this.#rooms.get(boardId);
    if (!room?.members.has(member)) return;
    const { userId, name } = member;
    const message: ServerMessage = { type: "cursor_moved", boardId, userId, name, x, y };
    this.#announce(boardId, message, member.connectionId, true);
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
    const { name, taskId, connectionId } = typing;
    const message = typingMessage(room.boardId, userId, name, taskId, false);
    // A remote typer is expired by every instance itself: only this one's members hear it here.
    if (typing.remote) this.#broadcast(room, message, connectionId, true);
    else this.#announce(room.boardId, message, connectionId, true);
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
    room.unfollow();
    room.typing.clear();
    this.#typingSweep.delete(room);
  }

  /** Tells this instance's members of the room (if any) and every other instance's. */
  #announce(boardId: string, message: ServerMessage, except?: string, ephemeral = false): void {
    const room = this.#rooms.get(boardId);
    if (room) this.#broadcast(room, message, except, ephemeral);
    this.channel?.publish(boardId, { kind: "message", message, except, ephemeral });
  }

  /** A message from another instance for a room that has members here. */
  #onRemote(room: Room, relayed: RoomRelayMessage): void {
    if (this.#rooms.get(room.boardId) !== room) return; // dropped meanwhile
    if (relayed.kind === "typing_refresh") {
      const { userId, name, connectionId, taskId } = relayed;
      const shown = room.typing.get(userId)?.taskId === taskId;
      this.#setTyping(room, userId, { taskId, connectionId, name, remote: true });
      if (shown) return;
      // Its start was missed (this room is newer than it): show it now.
      const message = typingMessage(room.boardId, userId, name, taskId, true);
      return this.#broadcast(room, message, connectionId, true);
    }
    const { message, except, ephemeral } = relayed;
    if (message.type === "user_typing") {
      const { userId, name, taskId } = message;
      if (message.typing) {
        this.#setTyping(room, userId, { taskId, connectionId: except ?? "", name, remote: true });
      } else {
        room.typing.delete(userId);
        if (room.typing.size === 0) this.#typingSweep.delete(room);
      }
    }
    this.#broadcast(room, message, except, ephemeral);
  }

  /**
   * Presence was lost and this instance's viewers were added again: its members get a fresh
   * snapshot, and a user who was nobody's anymore is announced as joined again.
   */
  async #restored(firsts: Map<string, PresenceEntry[]>): Promise<void> {
    for (const [boardId, entries] of firsts) {
      for (const { userId, name, connectionId } of entries) {
        this.#announce(boardId, { type: "user_joined", boardId, userId, name }, connectionId);
      }
      const room = this.#rooms.get(boardId);
      if (!room) continue;
      const users = await this.presence.list(boardId);
      for (const [member, state] of room.members) {
        if (state.ready) member.send(encode({ type: "presence", boardId, users }));
      }
    }
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
