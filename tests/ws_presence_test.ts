import assert from "node:assert/strict";
import { expectStatus, startTestServer, waitFor, waitForConnections } from "./helpers.ts";
import { type Message, RawWsClient, roomCounts, WsClient } from "./ws_helpers.ts";

const BOB = "bob@example.com";
const count = (messages: Message[], type: string) => messages.filter((m) => m.type === type).length;

Deno.test("three tabs of one user are one viewer: one user_joined, one user_left", async () => {
  await using server = await startTestServer();
  const bobToken = await server.login(BOB);
  await using watcher = await WsClient.open(server);
  watcher.send({ type: "join", boardId: "board-1" });
  await watcher.next("presence");

  const tabs = await Promise.all([1, 2, 3].map(() => WsClient.open(server, { token: bobToken })));
  for (const tab of tabs) {
    tab.send({ type: "join", boardId: "board-1" });
    await tab.next("presence");
  }
  const last = tabs[2].received.find((m) => m.type === "presence")!;
  assert.deepEqual(last.users, [
    { userId: "user-guest", name: "Demo Guest", connections: 1 },
    { userId: "user-2", name: "Bob", connections: 3 },
  ]);
  const joined = await watcher.drain();
  assert.equal(count(joined, "user_joined"), 1);
  assert.deepEqual(joined.find((m) => m.type === "user_joined"), {
    type: "user_joined",
    boardId: "board-1",
    userId: "user-2",
    name: "Bob",
  });
  assert.deepEqual(await roomCounts(server), { "board-1": { sockets: 4, users: 2 } });

  // Two tabs go (one leaves, one closes): Bob is still there.
  tabs[0].send({ type: "leave", boardId: "board-1" });
  await tabs[0].drain();
  await tabs[1].close();
  await waitFor(async () => (await roomCounts(server))["board-1"].sockets === 2);
  assert.equal(count(await watcher.drain(), "user_left"), 0);

  await tabs[2].close();
  const left = await watcher.next("user_left");
  assert.deepEqual(left, { type: "user_left", boardId: "board-1", userId: "user-2", name: "Bob" });
  assert.equal(count(await watcher.drain(), "user_left"), 0);
  await tabs[0].close();
});

Deno.test("a socket that stops answering pings is dropped from presence within a heartbeat", async () => {
  await using server = await startTestServer({ wsHeartbeatMs: 300, typingTimeoutMs: 60_000 });
  const bobToken = await server.login(BOB);
  await using watcher = await WsClient.open(server);
  watcher.send({ type: "join", boardId: "board-1" });
  await watcher.next("presence");

  using silent = await RawWsClient.connect(server, "/ws", { Authorization: `Bearer ${bobToken}` });
  await silent.sendText(JSON.stringify({ type: "join", boardId: "board-1" }));
  await silent.sendText(JSON.stringify({ type: "typing", boardId: "board-1", taskId: "task-1" }));
  assert.equal((await watcher.next("user_joined")).userId, "user-2");
  assert.equal((await watcher.next("user_typing")).typing, true);

  // From here on the raw client neither reads nor answers the server's pings.
  const stopped = await watcher.next("user_typing", () => true, 5000);
  assert.equal(stopped.typing, false);
  assert.equal(stopped.userId, "user-2");
  assert.equal((await watcher.next("user_left", () => true, 5000)).userId, "user-2");
  await waitForConnections(server, 1);
  assert.deepEqual(await roomCounts(server), { "board-1": { sockets: 1, users: 1 } });

  // The watcher answers pings by itself (as browsers and wscat do) and is still connected.
  await new Promise((resolve) => setTimeout(resolve, 700));
  await watcher.drain();
  assert.equal(watcher.readyState, WebSocket.OPEN);

  // The silent client finds the server's ping and then its close frame.
  const frames = [];
  for (let frame = await silent.readFrame(); frame; frame = await silent.readFrame()) {
    frames.push(frame);
    if (frame.opcode === 0x8) break;
  }
  assert.ok(frames.some((frame) => frame.opcode === 0x9), "the server sent a ping");
  assert.equal(frames.at(-1)?.opcode, 0x8);
});

Deno.test("typing reaches the others, refreshes quietly, stops on request and expires", async () => {
  await using server = await startTestServer({ typingTimeoutMs: 300 });
  const bobToken = await server.login(BOB);
  await using typist = await WsClient.open(server, { token: bobToken });
  await using other = await WsClient.open(server);
  typist.send({ type: "join", boardId: "board-1" });
  other.send({ type: "join", boardId: "board-1" });
  await typist.next("presence");
  await other.next("presence");

  typist.send({ type: "typing", boardId: "board-1", taskId: "task-2" });
  typist.send({ type: "typing", boardId: "board-1", taskId: "task-2" });
  assert.deepEqual(await other.next("user_typing"), {
    type: "user_typing",
    boardId: "board-1",
    userId: "user-2",
    name: "Bob",
    taskId: "task-2",
    typing: true,
  });
  typist.send({ type: "stop_typing", boardId: "board-1", taskId: "task-2" });
  const stopped = await other.next("user_typing");
  assert.equal(stopped.typing, false);
  assert.equal(stopped.taskId, "task-2");
  // The refresh of the same task was not repeated, and the typist hears none of it.
  assert.equal(count(await other.drain(), "user_typing"), 0);
  assert.equal(count(await typist.drain(), "user_typing"), 0);

  typist.send({ type: "typing", boardId: "board-1", taskId: "task-3" });
  assert.equal((await other.next("user_typing")).typing, true);
  const expired = await other.next("user_typing", () => true, 5000);
  assert.equal(expired.typing, false);
  assert.equal(expired.taskId, "task-3");
  assert.equal(count(await typist.drain(), "user_typing"), 0);
});

Deno.test("leaving the room clears that socket's typing indicator", async () => {
  await using server = await startTestServer({ typingTimeoutMs: 60_000 });
  const bobToken = await server.login(BOB);
  await using typist = await WsClient.open(server, { token: bobToken });
  await using other = await WsClient.open(server);
  typist.send({ type: "join", boardId: "board-1" });
  other.send({ type: "join", boardId: "board-1" });
  await typist.next("presence");
  await other.next("presence");
  typist.send({ type: "typing", boardId: "board-1" });
  assert.equal((await other.next("user_typing")).typing, true);
  typist.send({ type: "leave", boardId: "board-1" });
  assert.equal((await other.next("user_typing")).typing, false);
  assert.equal((await other.next("user_left")).userId, "user-2");
});

Deno.test("cursor positions reach everyone in the room but the sender", async () => {
  await using server = await startTestServer();
  const bobToken = await server.login(BOB);
  await using sender = await WsClient.open(server, { token: bobToken });
  await using sameUserOtherTab = await WsClient.open(server, { token: bobToken });
  await using other = await WsClient.open(server);
  await using notInRoom = await WsClient.open(server);
  for (const socket of [sender, sameUserOtherTab, other]) {
    socket.send({ type: "join", boardId: "board-1" });
    await socket.next("presence");
  }
  sender.send({ type: "cursor", boardId: "board-1", x: 120.5, y: -4 });
  const expected = {
    type: "cursor_moved",
    boardId: "board-1",
    userId: "user-2",
    name: "Bob",
    x: 120.5,
    y: -4,
  };
  assert.deepEqual(await other.next("cursor_moved"), expected);
  assert.deepEqual(await sameUserOtherTab.next("cursor_moved"), expected);
  assert.equal(count(await sender.drain(), "cursor_moved"), 0);
  assert.equal(count(await notInRoom.drain(), "cursor_moved"), 0);
});

Deno.test("typing and cursor before joining the board are refused with not_joined", async () => {
  await using server = await startTestServer();
  await using client = await WsClient.open(server);
  client.send({ type: "cursor", boardId: "board-1", x: 1, y: 1 });
  const error = await client.next("error");
  assert.equal(error.code, "not_joined");
  assert.equal(error.boardId, "board-1");
  client.send({ type: "typing", boardId: "board-1" });
  assert.equal((await client.next("error")).code, "not_joined");
  client.send({ type: "leave", boardId: "board-1" });
  assert.equal((await client.next("error")).code, "not_joined");
  client.send({ type: "join", boardId: "board-1" });
  await client.next("presence");
  client.send({ type: "join", boardId: "board-1" });
  assert.equal((await client.next("error")).code, "already_joined");
  await expectStatus(await server.request("/healthz"), 200);
});
