/**
 * The room channel across instances: a board's room messages on the Redis channel
 * `room:{board}`, tagged with the sending instance so it ignores its own. Best effort, like
 * every room message: presence heals by snapshots, typing expires, cursors move on.
 */
import type { RedisLink } from "./redis.ts";
import type { RoomChannel, RoomRelayMessage } from "./rooms.ts";

export class RedisRoomChannel implements RoomChannel {
  constructor(readonly link: RedisLink, readonly instanceId: string) {}

  publish(boardId: string, message: RoomRelayMessage): void {
    this.link.publish(`room:${boardId}`, JSON.stringify({ from: this.instanceId, ...message }));
  }

  follow(boardId: string, handler: (message: RoomRelayMessage) => void): () => void {
    return this.link.subscribe(`room:${boardId}`, (text) => {
      const { from, ...message } = JSON.parse(text) as RoomRelayMessage & { from: string };
      if (from !== this.instanceId) handler(message as RoomRelayMessage);
    });
  }
}
