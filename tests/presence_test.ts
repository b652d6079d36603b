/** Rooms and the rate limiter in-process, without sockets (presence: presence_contract_test.ts). */
import assert from "node:assert/strict";
import { MemoryPresence } from "../src/realtime/presence_memory.ts";
import { TokenBucket } from "../src/realtime/rate_limit.ts";
import { type RoomMember, Rooms } from "../src/realtime/rooms.ts";
import type { Frame } from "../src/realtime/ws_protocol.ts";
import { waitFor } from "./helpers.ts";
import type { Message } from "./ws_helpers.ts";

/** A room member that records what it is sent. */
class Member implements RoomMember {
  inbox: Message[] = [];
  constructor(readonly userId: string, readonly connectionId: string) {}
  get name() {
    return this.userId.toUpperCase();
  }
  send(frame: Frame) {
    assert.equal(frame.bytes, new TextEncoder().encode(frame.text).length);
    this.inbox.push(JSON.parse(frame.text));
  }
  sendEphemeral(frame: Frame) {
    this.send(frame);
  }
  take(): Message[] {
    return this.inbox.splice(0);
  }
}

Deno.test("rooms send a snapshot to the joiner and diffs to the others", async () => {
  const rooms = new Rooms(new MemoryPresence(), { typingTimeoutMs: 60_000 });
  const ann1 = new Member("ann", "a1");
  const ann2 = new Member("ann", "a2");
  const ben = new Member("ben", "b1");
  await rooms.join("board", ann1);
  assert.deepEqual(ann1.take(), [{
    type: "presence",
    boardId: "board",
    users: [{ userId: "ann", name: "ANN", connections: 1 }],
  }]);
  await rooms.join("board", ben);
  assert.deepEqual(ann1.take(), [{
    type: "user_joined",
    boardId: "board",
    userId: "ben",
    name: "BEN",
  }]);
  assert.equal(ben.take()[0].users.length, 2);
  await rooms.join("board", ann2);
  assert.deepEqual(ben.take(), [], "a second tab is not a new viewer");
  assert.deepEqual(ann1.take(), []);
  assert.deepEqual(rooms.counts(), { board: { sockets: 3, users: 2 } });

  await rooms.leave("board", ann1);
  assert.deepEqual(ben.take(), []);
  await rooms.leave("board", ann2);
  await rooms.leave("board", ann2);
  assert.deepEqual(ben.take(), [{
    type: "user_left",
    boardId: "board",
    userId: "ann",
    name: "ANN",
  }]);
  await rooms.leave("board", ben);
  assert.deepEqual(rooms.counts(), {});
  rooms.stop();
});

Deno.test("relays reach the room but not the sender, and never another board", async () => {
  const rooms = new Rooms(new MemoryPresence(), { typingTimeoutMs: 60_000 });
  const ann = new Member("ann", "a1");
  const annTab = new Member("ann", "a2");
  const ben = new Member("ben", "b1");
  const elsewhere = new Member("cat", "c1");
  for (const member of [ann, annTab, ben]) await rooms.join("one", member);
  await rooms.join("two", elsewhere);
  for (const member of [ann, annTab, ben, elsewhere]) member.take();

  rooms.cursor("one", ann, 5, 6);
  rooms.typing("one", ann, "t1", true);
  assert.deepEqual(ann.take(), []);
  assert.deepEqual(elsewhere.take(), []);
  for (const member of [annTab, ben]) {
    assert.deepEqual(member.take().map((m) => m.type), ["cursor_moved", "user_typing"]);
  }
  // A member not in the room cannot relay into it.
  rooms.cursor("one", elsewhere, 1, 1);
  assert.deepEqual(ben.take(), []);
  rooms.stop();
});

Deno.test("typing expires without a refresh, via one shared sweep", async () => {
  const rooms = new Rooms(new MemoryPresence(), { typingTimeoutMs: 30 });
  const ann = new Member("ann", "a1");
  const ben = new Member("ben", "b1");
  await rooms.join("board", ann);
  await rooms.join("board", ben);
  ben.take();
  rooms.typing("board", ann, null, true);
  assert.equal(ben.take()[0].typing, true);
  await waitFor(() => ben.inbox.length > 0, { what: "typing to expire" });
  assert.deepEqual(ben.take(), [{
    type: "user_typing",
    boardId: "board",
    userId: "ann",
    name: "ANN",
    taskId: null,
    typing: false,
  }]);
  // Stopping when not typing says nothing.
  rooms.typing("board", ann, null, false);
  assert.deepEqual(ben.take(), []);
  rooms.stop();
});

Deno.test("the token bucket allows a burst, then the refill rate", () => {
  let now = 0;
  const bucket = new TokenBucket(10, 20, () => now);
  let allowed = 0;
  for (let i = 0; i < 50; i++) if (bucket.take()) allowed++;
  assert.equal(allowed, 20);
  now += 500; // half a second: 5 tokens
  allowed = 0;
  for (let i = 0; i < 50; i++) if (bucket.take()) allowed++;
  assert.equal(allowed, 5);
  now += 60_000; // never more than the burst
  allowed = 0;
  for (let i = 0; i < 50; i++) if (bucket.take()) allowed++;
  assert.equal(allowed, 20);
});
