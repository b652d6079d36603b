import assert from "node:assert/strict";
import { connectionCounts, startTestServer, waitFor, waitForConnections } from "./helpers.ts";
import { CLOSE_REASONS } from "../src/realtime/close_reasons.ts";
import type { WsSocket } from "../src/realtime/ws.ts";
import { frameOf } from "../src/realtime/ws_protocol.ts";
import { type Message, RawWsClient, WsClient, wsUrl } from "./ws_helpers.ts";

const BOB = "bob@example.com";

Deno.test("invalid JSON gets the reference error and the socket stays open", async () => {
  await using server = await startTestServer();
  await using client = await WsClient.open(server);
  client.send("hello, server");
  const error = await client.next("error");
  assert.match(client.raw.at(-1)!, /^\{"type":"error","error":"Invalid JSON",/);
  assert.equal(error.code, "invalid_json");
  assert.match(error.message, /^Invalid JSON: /);
  await client.drain();
  assert.equal(client.readyState, WebSocket.OPEN);
});

Deno.test("unknown types and invalid fields get precise errors", async () => {
  await using server = await startTestServer();
  await using client = await WsClient.open(server);
  const cases: [unknown, string, RegExp][] = [
    [{ type: "dance" }, "unknown_type", /^Unknown message type "dance"; expected one of join, /],
    [[1, 2], "invalid_message", /JSON object/],
    [{ boardId: "board-1" }, "invalid_message", /"type"/],
    [{ type: "join" }, "validation_failed", /^Invalid "boardId": /],
    [{ type: "join", boardId: "board-1", cursor: -1 }, "validation_failed", /"cursor": must be 0/],
    [{ type: "join", boardId: "board-1", room: 2 }, "validation_failed", /Unknown field "room"/],
    [{ type: "cursor", boardId: "board-1", x: "1", y: 2 }, "validation_failed", /^Invalid "x": /],
    [{ type: "typing", boardId: 7 }, "validation_failed", /^Invalid "boardId": /],
    [{ type: "create_task", listId: "list-todo" }, "validation_failed", /^Invalid "requestId"/],
  ];
  for (const [message, code, pattern] of cases) {
    client.send(JSON.stringify(message));
    const error = await client.next("error");
    assert.equal(error.code, code, JSON.stringify(message));
    assert.match(error.message, pattern);
    assert.equal(error.requestId, undefined);
  }
  // When the requestId is readable, the error carries it even if other fields are wrong.
  client.send({ type: "move_task", requestId: "m1", listId: "list-done", position: 0 });
  const error = await client.next("error");
  assert.equal(error.requestId, "m1");
  assert.match(error.message, /^Invalid "taskId": /);
  // A binary frame is not part of the protocol.
  client.socket.send(new Uint8Array([1, 2, 3]));
  assert.equal((await client.next("error")).code, "binary_unsupported");
  await client.drain();
  assert.equal(client.readyState, WebSocket.OPEN);
});

Deno.test("a frame over the size limit closes the socket with 1009", async () => {
  await using server = await startTestServer({ wsMaxMessageBytes: 1024 });
  await using client = await WsClient.open(server);
  // At the limit is fine (an unknown field pads the frame to exactly 1024 bytes).
  const base = JSON.stringify({ type: "ping", pad: "" });
  client.send(JSON.stringify({ type: "ping", pad: "x".repeat(1024 - base.length) }));
  assert.match((await client.next("error")).message, /Unknown field "pad"/);
  // One multi-byte character over it is not.
  client.send(JSON.stringify({ type: "ping", pad: "é".repeat(600) }));
  const closed = await client.closed;
  assert.equal(closed.code, 1009);
  assert.match(closed.reason, /message_too_big/);
});

Deno.test("typing and cursor floods are cut to the rate limit with one error", async () => {
  await using server = await startTestServer({ wsEphemeralRate: 1 });
  await using sender = await WsClient.open(server);
  await using other = await WsClient.open(server);
  sender.send({ type: "join", boardId: "board-1" });
  other.send({ type: "join", boardId: "board-1" });
  await sender.next("presence");
  await other.next("presence");
  for (let i = 0; i < 30; i++) sender.send({ type: "cursor", boardId: "board-1", x: i, y: i });
  const errors = (await sender.drain()).filter((m) => m.type === "error");
  assert.equal(errors.length, 1);
  assert.equal(errors[0].code, "rate_limited");
  assert.match(errors[0].message, /at most 1 per second/);
  const relayed = (await other.drain()).filter((m) => m.type === "cursor_moved");
  // A burst of 2 (two seconds' worth), plus at most one token refilled meanwhile.
  assert.ok(relayed.length >= 2 && relayed.length <= 3, `${relayed.length} relayed`);
  assert.deepEqual(relayed.slice(0, 2).map((m) => m.x), [0, 1]);
  // Stopping typing is never limited.
  sender.send({ type: "stop_typing", boardId: "board-1" });
  assert.equal((await sender.drain()).filter((m) => m.type === "error").length, 0);
});

Deno.test("a user's sockets are capped: one more gets an error and close 4029", async () => {
  await using server = await startTestServer({ wsMaxConnectionsPerUser: 2 });
  const bobToken = await server.login(BOB);
  await using first = await WsClient.open(server, { token: bobToken });
  const second = await WsClient.open(server, { token: bobToken });
  const third = new WsClient(wsUrl(server), { authorization: `Bearer ${bobToken}` });
  const closed = await third.closed;
  assert.equal(closed.code, 4029);
  assert.match(closed.reason, /do not reconnect/);
  assert.equal(third.received[0].code, "too_many_connections");
  // Other users are not affected, and a closed socket frees its place.
  await using guest = await WsClient.open(server);
  await second.close();
  await waitFor(async () => (await connectionCounts(server)).byTransport.websocket === 2);
  await using again = await WsClient.open(server, { token: bobToken });
  assert.equal(again.received[0].type, "connected");
  assert.equal(first.readyState, WebSocket.OPEN);
  assert.equal(guest.readyState, WebSocket.OPEN);
});

Deno.test("a socket that stops reading is closed as slow (4008) and memory stays bounded", async () => {
  const budget = 64 * 1024;
  await using server = await startTestServer({ wsBufferBytes: budget });
  const bobToken = await server.login(BOB);
  await using watcher = await WsClient.open(server);
  await using writer = await WsClient.open(server);
  watcher.send({ type: "join", boardId: "board-1" });
  await watcher.next("presence");

  using reader = await RawWsClient.connect(server, "/ws", { Authorization: `Bearer ${bobToken}` });
  await reader.sendText(JSON.stringify({ type: "join", boardId: "board-1" }));
  await watcher.next("user_joined");

  // Fill the reader's socket with ~10 KB events until the server gives up on it. The kernel's
  // socket buffers take a few MB first; after that the server's own queue grows.
  const description = "d".repeat(9_000);
  let eventBytes = 0;
  let batches = 0;
  const batch = async () => {
    const tag = batches++;
    for (let i = 0; i < 20; i++) {
      writer.send({
        type: "update_task",
        requestId: `${tag}-${i}`,
        taskId: "task-1",
        description: `${tag}-${i} ${description}`,
      });
    }
    for (let i = 0; i < 20; i++) {
      const ack = await writer.next("ack", (m) => m.requestId === `${tag}-${i}`);
      eventBytes += 10_000 + JSON.stringify(ack.task).length;
    }
    writer.unread().length > 1000 && (await writer.drain());
  };
  const gone = () => watcher.received.some((m: Message) => m.type === "user_left");
  while (!gone() && batches < 200) await batch();
  assert.ok(gone(), "the reader was disconnected");
  const sentBeforeClose = eventBytes;
  // More events after the close are not queued for it.
  for (let i = 0; i < 10; i++) await batch();

  const { close, dataBytes } = await reader.readUntilClose();
  assert.equal(close?.closeCode, 4008);
  assert.match(close?.text ?? "", /^slow: .*\(reconnect\)$/);
  assert.ok(dataBytes <= sentBeforeClose, `${dataBytes} read, ${sentBeforeClose} produced`);
  assert.ok(dataBytes < eventBytes - 1_500_000, "events after the close were not queued");
  assert.equal((await connectionCounts(server)).byTransport.websocket, 2);
});

/** A socket whose send buffer the test controls. */
class FakeSocket implements WsSocket {
  readyState = 1;
  bufferedAmount = 0;
  sent: string[] = [];
  closedWith?: [number | undefined, string | undefined];
  send(text: string) {
    this.sent.push(text);
  }
  close(code?: number, reason?: string) {
    this.closedWith = [code, reason];
    this.readyState = 3;
  }
}

Deno.test("over budget, ephemeral messages are dropped first; over twice it, the socket closes", async () => {
  const budget = 10_000;
  await using server = await startTestServer({ wsBufferBytes: budget });
  const { websockets, store } = server.services;
  const user = (await store.getUser("user-guest"))!;
  const socket = new FakeSocket();
  const connection = websockets.accept(socket, { user, sessionHash: null, isAdmin: false });
  connection.onOpen();
  assert.equal(JSON.parse(socket.sent[0]).type, "connected");

  socket.bufferedAmount = budget + 1;
  connection.sendEphemeral(frameOf('{"type":"cursor_moved"}'));
  connection.send(frameOf('{"type":"task_created"}'));
  assert.deepEqual(socket.sent.slice(1).map((text) => JSON.parse(text).type), ["task_created"]);
  assert.equal(socket.closedWith, undefined);

  // A burst that the runtime flushes at once is forgiven...
  socket.bufferedAmount = 2 * budget + 1;
  connection.send(frameOf('{"type":"task_updated"}'));
  socket.bufferedAmount = 0;
  await new Promise((resolve) => setTimeout(resolve, 50));
  assert.equal(connection.closed, false);
  // ...a buffer that stays over twice the budget is not.
  socket.bufferedAmount = 2 * budget + 1;
  connection.send(frameOf('{"type":"task_moved"}'));
  await waitFor(() => connection.closed, { what: "the slow socket to close" });
  assert.deepEqual(socket.closedWith?.[0], CLOSE_REASONS.slow.code);
  await waitForConnections(server, 0);
});

Deno.test("a socket whose buffer does not drain for a whole heartbeat period is closed as slow", async () => {
  await using server = await startTestServer({ wsHeartbeatMs: 50 });
  const { websockets, store } = server.services;
  const user = (await store.getUser("user-guest"))!;
  const socket = new FakeSocket();
  const connection = websockets.accept(socket, { user, sessionHash: null, isAdmin: false });
  connection.onOpen();
  socket.bufferedAmount = 500; // some bytes wait, below the budget, and never move
  await waitFor(() => connection.closed, { what: "the stalled socket to close" });
  assert.equal(socket.closedWith?.[0], CLOSE_REASONS.slow.code);
});

Deno.test("graceful shutdown closes open sockets with 1001 (reconnect)", async () => {
  const server = await startTestServer();
  const clients = await Promise.all([1, 2, 3].map(() => WsClient.open(server)));
  clients[0].send({ type: "join", boardId: "board-1" });
  await clients[0].next("presence");
  await server.shutdown();
  for (const client of clients) {
    const closed = await client.closed;
    assert.equal(closed.code, 1001);
    // Deno's own server shutdown may close the socket first, with its own wording.
    assert.match(closed.reason, /shutting down/i);
  }
});

Deno.test("a member removed while still catching up leaves the room at once and hears no more of it", async () => {
  const budget = 10_000;
  await using server = await startTestServer({ wsBufferBytes: budget });
  const { websockets, store } = server.services;
  const from = await store.cursor();
  for (let i = 0; i < 30; i++) {
    await store.createTask("user-1", { listId: "list-todo", title: `backlog ${i}` });
  }
  const bob = (await store.getUser("user-2"))!;
  const socket = new FakeSocket();
  const connection = websockets.accept(socket, { user: bob, sessionHash: null, isAdmin: false });
  connection.onOpen();
  // Bob's buffer stays over budget (not over twice it): his catch-up waits for it to drain.
  socket.bufferedAmount = budget + 1;
  connection.onMessage(JSON.stringify({ type: "join", boardId: "board-1", cursor: from }));
  await waitFor(() => websockets.rooms.isIn("board-1", connection), { what: "Bob in the room" });
  const replayed = () => socket.sent.filter((text) => text.includes('"backlog ')).length;
  assert.ok(replayed() < 30, "the catch-up is still waiting");

  await store.removeMember("user-1", "board-1", "user-2");
  assert.equal(websockets.rooms.isIn("board-1", connection), false, "out of the room at once");
  const errors = socket.sent.map((text) => JSON.parse(text)).filter((m) => m.type === "error");
  assert.deepEqual(errors.map((m) => [m.code, m.boardId]), [["forbidden", "board-1"]]);

  // The room's ephemeral traffic no longer reaches him, and he can no longer send any.
  socket.bufferedAmount = 0;
  await using alice = await WsClient.open(server, {
    token: await server.login("alice@example.com"),
  });
  await using carol = await WsClient.open(server, {
    token: await server.login("carol@example.com"),
  });
  for (const client of [alice, carol]) {
    client.send({ type: "join", boardId: "board-1" });
    await client.next("presence");
  }
  const before = socket.sent.length;
  alice.send({ type: "typing", boardId: "board-1", taskId: "task-1" });
  await carol.next("user_typing"); // the relay has happened
  connection.onMessage(JSON.stringify({ type: "typing", boardId: "board-1" }));
  await waitFor(() => socket.sent.length > before, { what: "Bob's answer" });
  const after = socket.sent.slice(before).map((text) => JSON.parse(text));
  assert.ok(!after.some((m) => m.type === "user_typing"), JSON.stringify(after));
  assert.equal(after[0].code, "not_joined");
  connection.close(CLOSE_REASONS.clientGone);
});
