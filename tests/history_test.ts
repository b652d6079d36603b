/**
 * The event log as a feature (issue 11), server side: event format 2 (`v: 2`, before-values on
 * updates, the full content on deletes) on the live stream and in `GET /boards/:id/history`;
 * history paging and filters; the trash and restoring cards and lists; reverting an event (undo,
 * redo, who may, what cannot be undone, conflicts); the same actions over the WebSocket; the
 * per-user "seen" cursor and unread counts; a restore crossing instances. Each change writes and
 * delivers exactly one event. Runs on both stores (`LIVEBOARD_TEST_STORE=postgres`).
 */
import assert from "node:assert/strict";
import { withCluster } from "./cluster_helpers.ts";
import {
  execDb,
  expectError,
  expectStatus,
  postgresAvailable,
  redisAvailable,
  skipUnless,
  startTestServer,
  type TestServer,
  withEvents,
} from "./helpers.ts";
import {
  ALICE,
  allPages,
  boardStream,
  BOB,
  cardsByList,
  CAROL,
  createTask,
  getTask,
  history,
  ISO_MS,
  joinedSocket,
  type Json,
  listIds,
  listOrder,
  NORMAL,
  one,
  onlyEvent,
  pageIds,
  refused,
  revertPath,
  streamEvents,
} from "./history_helpers.ts";
import { type Message, WsClient } from "./ws_helpers.ts";

const TASK_TYPES = ["task_created", "task_updated", "task_moved", "task_deleted", "task_restored"];

/** Reverts `seq` on board-1 as `token`, expecting one event of `type` with `revertOf: seq`. */
async function revert(
  server: TestServer,
  token: string,
  seq: number,
  type: string,
  boardId = "board-1",
): Promise<Json> {
  const { body, event } = await one(
    server,
    revertPath(boardId, seq),
    { method: "POST", token },
    200,
    type,
  );
  assert.deepEqual(Object.keys(body), ["event"], "the answer is {event}");
  assert.deepEqual(body.event, event, "the answer is the event written");
  assert.equal(event.revertOf, seq, "the event names what it reverts");
  assert.equal(event.v, 2);
  return event;
}

// ---- event format 2 ------------------------------------------------------------------------

Deno.test("every change carries v: 2 and what undoes it, the same on the live stream and in the history", async () => {
  await using server = await startTestServer(NORMAL);
  const alice = await server.login(ALICE);
  const bob = await server.login(BOB);
  const stream = await boardStream(server, bob);
  try {
    const written: Json[] = [];
    const change = async (path: string, method: string, json: unknown, type: string) => {
      const status = method === "POST" ? 201 : 200;
      const { event } = await one(server, path, { method, json, token: alice }, status, type);
      written.push(event);
      return event;
    };

    const extra = await change(
      "/tasks",
      "POST",
      { listId: "list-in-progress", title: "Second in progress", description: "Below task-3" },
      "task_created",
    );
    // task_updated: `before` holds exactly the fields the update changed.
    const renamed = await change(
      "/tasks/task-1",
      "PATCH",
      { title: "Lay out the board" },
      "task_updated",
    );
    assert.deepEqual(renamed.before, { title: "Design the board layout" });
    assert.equal(renamed.task.title, "Lay out the board");
    const edited = await change(
      "/tasks/task-1",
      "PATCH",
      { title: "Lay out the board", description: "Columns only.", assigneeId: null },
      "task_updated",
    );
    assert.deepEqual(edited.before, {
      description: "Columns, cards, avatars.",
      assigneeId: "user-1",
    }, "an unchanged title is not in `before`");
    const unchanged = await change(
      "/tasks/task-1",
      "PATCH",
      { title: "Lay out the board" },
      "task_updated",
    );
    assert.deepEqual(unchanged.before, {}, "nothing changed: `before` is {}");
    const assigned = await change(
      "/tasks/task-1",
      "PATCH",
      { assigneeId: "user-2" },
      "task_updated",
    );
    assert.deepEqual(assigned.before, { assigneeId: null });
    const moved = await change(
      "/tasks/task-1/move",
      "PATCH",
      { listId: "list-done", position: 1 },
      "task_moved",
    );
    assert.equal(moved.fromListId, "list-todo");
    assert.equal(moved.fromPosition, 0);

    // task_deleted: the full card as it was.
    const task2 = await getTask(server, alice, "task-2");
    const deleted = await change("/tasks/task-2", "DELETE", undefined, "task_deleted");
    assert.equal(deleted.taskId, "task-2");
    assert.equal(deleted.listId, "list-todo");
    assert.deepEqual(deleted.task, task2);

    // list_updated and list_moved.
    const listRenamed = await change(
      "/lists/list-done",
      "PATCH",
      { title: "Shipped" },
      "list_updated",
    );
    assert.deepEqual(listRenamed.before, { title: "Done" });
    assert.equal(listRenamed.list.title, "Shipped");
    const added = await change("/boards/board-1/lists", "POST", { title: "Later" }, "list_created");
    const listMoved = await change(
      `/lists/${added.list.id}`,
      "PATCH",
      { position: 0 },
      "list_moved",
    );
    assert.equal(listMoved.fromPosition, 3);

    // list_deleted: the list and its cards as they were, by position.
    const { lists } = await listIds(server, alice);
    const inProgress = lists.find((list) => list.id === "list-in-progress");
    const inProgressCards = (await cardsByList(server, alice))["list-in-progress"];
    assert.deepEqual(inProgressCards.map((t) => t.id), ["task-3", extra.task.id]);
    const listDeleted = await change(
      "/lists/list-in-progress",
      "DELETE",
      undefined,
      "list_deleted",
    );
    assert.equal(listDeleted.listId, "list-in-progress");
    assert.deepEqual(listDeleted.list, inProgress);
    assert.deepEqual(listDeleted.tasks, inProgressCards);

    // board_updated.
    const boardRenamed = await change(
      "/boards/board-1",
      "PATCH",
      { title: "Product" },
      "board_updated",
    );
    assert.deepEqual(boardRenamed.before, { title: "Product Board" });
    assert.equal(boardRenamed.board.title, "Product");

    for (const event of written) {
      assert.equal(event.v, 2, `${event.type} is format 2`);
      assert.equal(event.revertOf, undefined, `${event.type} reverts nothing`);
    }

    // The live stream carries the same events, once each, in order.
    const live = await streamEvents(stream, written.length);
    assert.deepEqual(live, written);

    // So does the history, newest first.
    const { events, next } = await history(server, bob, "board-1", { limit: 200 });
    assert.deepEqual(events, [...written].reverse());
    assert.equal(next, null);
  } finally {
    await stream.close();
  }
});

Deno.test("task_restored and list_restored events are format 2 and reach a socket the same as the history", async () => {
  await using server = await startTestServer(NORMAL);
  const alice = await server.login(ALICE);
  const carol = await server.login(CAROL);
  await using watcher = await joinedSocket(server, carol);
  await one(server, "/tasks/task-2", { method: "DELETE", token: alice }, 200, "task_deleted");
  await one(server, "/lists/list-done", { method: "DELETE", token: alice }, 200, "list_deleted");
  await watcher.next("task_deleted");
  await watcher.next("list_deleted");
  const task = await one(
    server,
    "/tasks/task-2/restore",
    { method: "POST", token: alice },
    200,
    "task_restored",
  );
  const live1 = await onlyEvent(watcher, "task_restored");
  const list = await one(
    server,
    "/lists/list-done/restore",
    { method: "POST", token: alice },
    200,
    "list_restored",
  );
  const live2 = await onlyEvent(watcher, "list_restored");
  assert.equal(task.event.v, 2);
  assert.equal(list.event.v, 2);
  assert.deepEqual(task.event.task, task.body);
  assert.deepEqual(list.event.list, list.body.list);
  assert.deepEqual(list.event.tasks, list.body.tasks);
  const { events } = await history(server, carol, "board-1", { limit: 2 });
  assert.deepEqual(events, [list.event, task.event]);
  assert.deepEqual([live2, live1], [list.event, task.event]);
});

// ---- history --------------------------------------------------------------------------------

Deno.test("history pages newest first through more events than a page, without gaps or repeats", async () => {
  await using server = await startTestServer(NORMAL);
  const alice = await server.login(ALICE);
  const bob = await server.login(BOB);
  const carol = await server.login(CAROL);
  const { events: logged } = await withEvents(server, async () => {
    for (let i = 0; i < 54; i++) {
      await createTask(server, alice, "list-todo", `Card ${i}`);
      // Another board's events in between: not in board-1's history.
      if (i % 10 === 0) await createTask(server, carol, "list-b2-ideas", `Elsewhere ${i}`);
    }
    await createTask(server, bob, "list-done", "Bob's");
  });
  const expected = logged.filter((e) => e.boardId === "board-1").map((e) => e.id).reverse();
  assert.equal(expected.length, 55);

  // Default limit: 50.
  const first = await history(server, bob, "board-1");
  assert.deepEqual(first.events.map((e) => e.id), expected.slice(0, 50));
  assert.notEqual(first.next, null);
  const rest = await history(server, bob, "board-1", { before: first.next! });
  assert.deepEqual(rest.events.map((e) => e.id), expected.slice(50));
  assert.equal(rest.next, null, "nothing older");

  for (const limit of [1, 7, 11, 50, 200]) {
    const pages = await allPages(server, bob, "board-1", {}, limit);
    assert.deepEqual(pageIds(pages), expected, `limit ${limit}: every event once, in order`);
    assert.equal(pages.length, Math.ceil(55 / limit), `limit ${limit}: no empty last page`);
    for (const page of pages.slice(0, -1)) assert.equal(page.events.length, limit);
  }

  // `before` is exclusive.
  const older = await history(server, bob, "board-1", { before: expected[10], limit: 3 });
  assert.deepEqual(older.events.map((e) => e.id), expected.slice(11, 14));
  for (const event of first.events) {
    assert.equal(event.boardId, "board-1");
    assert.equal(event.v, 2);
    assert.match(event.at, ISO_MS);
  }
});

Deno.test("history after a seq holds only the newer events, newest first, and pages with limit", async () => {
  await using server = await startTestServer(NORMAL);
  const alice = await server.login(ALICE);
  for (let i = 0; i < 5; i++) await createTask(server, alice, "list-todo", `Old ${i}`);
  const mark = await server.services.store.cursor();
  const { events: newer } = await withEvents(server, async () => {
    for (let i = 0; i < 8; i++) await createTask(server, alice, "list-todo", `New ${i}`);
  });
  const expected = newer.map((e) => e.id).reverse();

  const all = await history(server, alice, "board-1", { after: mark });
  assert.deepEqual(all.events.map((e) => e.id), expected);
  assert.equal(all.next, null, "nothing older than the page after `after`");

  const pages = await allPages(server, alice, "board-1", { after: mark }, 3);
  assert.deepEqual(pageIds(pages), expected, "after + limit + before: each newer event once");

  const none = await history(server, alice, "board-1", { after: expected[0] });
  assert.deepEqual(none, { events: [], next: null });
});

Deno.test("history filters by card and by person, also across pages", async () => {
  await using server = await startTestServer(NORMAL);
  const alice = await server.login(ALICE);
  const bob = await server.login(BOB);
  const carol = await server.login(CAROL);
  const { events } = await withEvents(server, async () => {
    const card = await createTask(server, alice, "list-todo", "Followed");
    await createTask(server, bob, "list-todo", "Noise");
    await one(
      server,
      `/tasks/${card.id}`,
      { method: "PATCH", json: { title: "Followed, renamed" }, token: bob },
      200,
      "task_updated",
    );
    await one(
      server,
      "/tasks/task-2",
      { method: "PATCH", json: { title: "Other card" }, token: bob },
      200,
      "task_updated",
    );
    await one(
      server,
      `/tasks/${card.id}/move`,
      { method: "PATCH", json: { listId: "list-done", position: 0 }, token: carol },
      200,
      "task_moved",
    );
    await one(
      server,
      "/lists/list-done",
      { method: "PATCH", json: { title: "Finished" }, token: bob },
      200,
      "list_updated",
    );
    await one(server, `/tasks/${card.id}`, { method: "DELETE", token: alice }, 200, "task_deleted");
    await one(
      server,
      `/tasks/${card.id}/restore`,
      { method: "POST", token: bob },
      200,
      "task_restored",
    );
  });
  const logged = events as Json[];
  const cardId = logged[0].task.id as string;
  const ofCard = logged.filter((e) =>
    TASK_TYPES.includes(e.type) && (e.task?.id ?? e.taskId) === cardId
  ).map((e) => e.id).reverse();
  assert.equal(ofCard.length, 5);
  const byBob = logged.filter((e) => e.actorId === "user-2").map((e) => e.id).reverse();
  assert.equal(byBob.length, 5);

  const card = await history(server, carol, "board-1", { taskId: cardId });
  assert.deepEqual(card.events.map((e) => e.id), ofCard);
  assert.deepEqual(card.events.map((e) => e.type), [
    "task_restored",
    "task_deleted",
    "task_moved",
    "task_updated",
    "task_created",
  ]);
  assert.equal(card.next, null);
  assert.deepEqual(
    pageIds(await allPages(server, carol, "board-1", { taskId: cardId }, 2)),
    ofCard,
  );

  const person = await history(server, carol, "board-1", { actorId: "user-2" });
  assert.deepEqual(person.events.map((e) => e.id), byBob);
  assert.ok(person.events.every((e) => e.actorId === "user-2"));
  assert.deepEqual(
    pageIds(await allPages(server, carol, "board-1", { actorId: "user-2" }, 2)),
    byBob,
  );

  const both = await history(server, carol, "board-1", { taskId: cardId, actorId: "user-2" });
  assert.deepEqual(both.events.map((e) => e.type), ["task_restored", "task_updated"]);
  const nobody = await history(server, carol, "board-1", { actorId: "user-nobody" });
  assert.deepEqual(nobody, { events: [], next: null });
  const noCard = await history(server, carol, "board-1", { taskId: "task-nowhere" });
  assert.deepEqual(noCard, { events: [], next: null });
});

Deno.test("history refuses bad query values with 400 validation_failed", async () => {
  await using server = await startTestServer(NORMAL);
  const alice = await server.login(ALICE);
  await createTask(server, alice, "list-todo", "One");
  for (
    const query of [
      "limit=0",
      "limit=201",
      "limit=-1",
      "limit=abc",
      "limit=1.5",
      "limit=1e2",
      "before=abc",
      "before=1.5",
      "after=abc",
      "after=-3",
    ]
  ) {
    const response = await server.request(`/boards/board-1/history?${query}`, { token: alice });
    await expectError(response, 400, "validation_failed").catch((error) => {
      throw new Error(`${query}: ${error.message}`);
    });
  }
  // The bounds themselves are fine.
  assert.equal((await history(server, alice, "board-1", { limit: 1 })).events.length, 1);
  assert.equal((await history(server, alice, "board-1", { limit: 200 })).events.length, 1);
});

Deno.test("history and trash are 404 to a non-member and for a board that does not exist, 401 without a session", async () => {
  await using server = await startTestServer(NORMAL);
  const bob = await server.login(BOB);
  const carol = await server.login(CAROL);
  await createTask(server, carol, "list-b2-ideas", "Carol's secret");
  for (const path of ["/boards/board-2/history", "/boards/board-2/trash"]) {
    const error = await expectError(await server.request(path, { token: bob }), 404, "not_found");
    assert.doesNotMatch(JSON.stringify(error), /secret|Roadmap/);
  }
  for (const path of ["/boards/board-nowhere/history", "/boards/board-nowhere/trash"]) {
    await expectError(await server.request(path, { token: bob }), 404, "not_found");
  }
  for (const path of ["/boards/board-1/history", "/boards/board-1/trash"]) {
    await expectError(await server.request(path), 401, "unauthorized");
  }
});

Deno.test("a member added later reads history only from when they joined", async () => {
  await using server = await startTestServer(NORMAL);
  const bob = await server.login(BOB);
  const carol = await server.login(CAROL);
  const { body: early, event: created } = await one(
    server,
    "/tasks",
    { method: "POST", json: { listId: "list-b2-ideas", title: "Before Bob" }, token: carol },
    201,
    "task_created",
  );
  const { event: renamed } = await one(
    server,
    `/tasks/${early.id}`,
    { method: "PATCH", json: { title: "Still before Bob" }, token: carol },
    200,
    "task_updated",
  );
  const { event: added } = await one(
    server,
    "/boards/board-2/members",
    { method: "POST", json: { email: BOB }, token: carol },
    201,
    "member_added",
  );
  const { event: later } = await one(
    server,
    `/tasks/${early.id}`,
    { method: "PATCH", json: { title: "After Bob joined" }, token: carol },
    200,
    "task_updated",
  );

  const seen = await history(server, bob, "board-2");
  const ids = seen.events.map((e) => e.id);
  assert.ok(ids.includes(later.id), "what happened after joining");
  assert.ok(ids.every((id) => id >= added.id), `nothing from before joining: ${ids}`);
  assert.equal(seen.next, null, "nothing older that Bob may read");
  assert.doesNotMatch(JSON.stringify(seen), /Before Bob/);
  assert.deepEqual(await history(server, bob, "board-2", { before: added.id }), {
    events: [],
    next: null,
  });
  const card = await history(server, bob, "board-2", { taskId: early.id });
  assert.deepEqual(card.events.map((e) => e.id), [later.id]);
  // The owner reads it all.
  const owner = await history(server, carol, "board-2");
  assert.deepEqual(owner.events.map((e) => e.id), [later.id, added.id, renamed.id, created.id]);
  // Nor may Bob revert what he cannot read (he is neither its author nor the owner anyway).
  await refused(
    server,
    revertPath("board-2", renamed.id),
    { method: "POST", token: bob },
    404,
    "not_found",
  );
});

// ---- trash and restore ------------------------------------------------------------------------

Deno.test("a deleted card is in the trash with its full content, newest deletion first", async () => {
  await using server = await startTestServer(NORMAL);
  const alice = await server.login(ALICE);
  const bob = await server.login(BOB);
  assert.deepEqual(
    await expectStatus(await server.request("/boards/board-1/trash", { token: bob }), 200),
    { items: [], next: null },
  );
  const task2 = await getTask(server, alice, "task-2");
  const task4 = await getTask(server, alice, "task-4");
  // task-4 first: the newest deletion (task-2) sorts first although its id sorts lower.
  await one(server, "/tasks/task-4", { method: "DELETE", token: bob }, 200, "task_deleted");
  await new Promise((resolve) => setTimeout(resolve, 5)); // a later millisecond
  await one(server, "/tasks/task-2", { method: "DELETE", token: alice }, 200, "task_deleted");

  const { items } = await expectStatus(
    await server.request("/boards/board-1/trash", { token: bob }),
    200,
  );
  assert.deepEqual(items.map((item: Json) => item.id), ["task-2", "task-4"]);
  const expected = [
    { item: items[0], task: task2, by: "user-1" },
    { item: items[1], task: task4, by: "user-2" },
  ];
  for (const { item, task, by } of expected) {
    assert.deepEqual(Object.keys(item).sort(), [
      "boardId",
      "deletedAt",
      "deletedBy",
      "id",
      "kind",
      "listId",
      "task",
      "title",
    ]);
    assert.equal(item.kind, "task");
    assert.equal(item.boardId, "board-1");
    assert.equal(item.listId, task.listId);
    assert.equal(item.title, task.title);
    assert.equal(item.deletedBy, by);
    assert.match(item.deletedAt, ISO_MS);
    assert.deepEqual(item.task, task);
  }
  assert.ok(items[0].deletedAt > items[1].deletedAt);
  // Reading the trash writes nothing; another board's trash is its own.
  const carol = await server.login(CAROL);
  await one(server, "/tasks/task-5", { method: "DELETE", token: carol }, 200, "task_deleted");
  const board2 = await expectStatus(
    await server.request("/boards/board-2/trash", { token: carol }),
    200,
  );
  assert.deepEqual(board2.items.map((item: Json) => item.id), ["task-5"]);
  const again = await expectStatus(
    await server.request("/boards/board-1/trash", { token: carol }),
    200,
  );
  assert.deepEqual(again.items.map((item: Json) => item.id), ["task-2", "task-4"]);
});

Deno.test("a restored card comes back at its old place with its id and version + 1, as one task_restored event another client sees", async () => {
  await using server = await startTestServer(NORMAL);
  const alice = await server.login(ALICE);
  const carol = await server.login(CAROL);
  await using watcher = await joinedSocket(server, carol);
  const before = await getTask(server, alice, "task-2");
  assert.equal(before.position, 1);
  await one(server, "/tasks/task-2", { method: "DELETE", token: alice }, 200, "task_deleted");
  await watcher.next("task_deleted");
  await expectError(await server.request("/tasks/task-2", { token: alice }), 404, "not_found");

  const { body: restored, event } = await one(
    server,
    "/tasks/task-2/restore",
    { method: "POST", token: alice },
    200,
    "task_restored",
  );
  assert.deepEqual(restored, {
    ...before,
    version: before.version + 1,
    updatedAt: restored.updatedAt,
  });
  assert.match(restored.updatedAt, ISO_MS);
  assert.deepEqual(await getTask(server, alice, "task-2"), restored);
  assert.deepEqual(await listOrder(server, alice, "list-todo"), ["task-1", "task-2"]);
  assert.equal(event.actorId, "user-1");
  assert.deepEqual(event.task, restored);
  const live = await onlyEvent(watcher, "task_restored");
  assert.deepEqual(live, event);
  const trash = await expectStatus(
    await server.request("/boards/board-1/trash", { token: alice }),
    200,
  );
  assert.deepEqual(trash.items, [], "no longer in the trash");

  // Restoring twice, a card never deleted, a card that does not exist: 404, nothing written.
  for (const id of ["task-2", "task-1", "task-nowhere"]) {
    await refused(
      server,
      `/tasks/${id}/restore`,
      { method: "POST", token: alice },
      404,
      "not_found",
    );
  }
  assert.deepEqual((await watcher.drain()).filter((m) => typeof m.id === "number"), []);
});

Deno.test("a restored card's position is clamped to its list and its assignee cleared when no longer a member", async () => {
  await using server = await startTestServer(NORMAL);
  const alice = await server.login(ALICE);
  const last = await createTask(server, alice, "list-todo", "Last");
  assert.equal(last.position, 2);
  await one(server, `/tasks/${last.id}`, { method: "DELETE", token: alice }, 200, "task_deleted");
  await one(server, "/tasks/task-1", { method: "DELETE", token: alice }, 200, "task_deleted");
  const { body } = await one(
    server,
    `/tasks/${last.id}/restore`,
    { method: "POST", token: alice },
    200,
    "task_restored",
  );
  assert.equal(body.position, 1, "the end of a list that now holds one card");
  assert.deepEqual(await listOrder(server, alice, "list-todo"), ["task-2", last.id]);

  // task-3 is Bob's; Bob leaves the board while it is in the trash.
  await one(server, "/tasks/task-3", { method: "DELETE", token: alice }, 200, "task_deleted");
  await one(
    server,
    "/boards/board-1/members/user-2",
    { method: "DELETE", token: alice },
    200,
    "member_removed",
  );
  const { body: task3, event } = await one(
    server,
    "/tasks/task-3/restore",
    { method: "POST", token: alice },
    200,
    "task_restored",
  );
  assert.equal(task3.assigneeId, null);
  assert.equal(event.task.assigneeId, null);
});

Deno.test("restore is 404 for another board's card and 409 limit_reached at the card limit", async () => {
  await using server = await startTestServer({ ...NORMAL, maxCardsPerBoard: 4 });
  const alice = await server.login(ALICE);
  const bob = await server.login(BOB);
  const carol = await server.login(CAROL);
  await one(server, "/tasks/task-5", { method: "DELETE", token: carol }, 200, "task_deleted");
  await refused(server, "/tasks/task-5/restore", { method: "POST", token: bob }, 404, "not_found");

  await one(server, "/tasks/task-2", { method: "DELETE", token: alice }, 200, "task_deleted");
  await createTask(server, alice, "list-todo", "Takes the last place");
  const error = await refused(
    server,
    "/tasks/task-2/restore",
    { method: "POST", token: alice },
    409,
    "limit_reached",
  );
  assert.equal(error.limit, "cardsPerBoard");
  const trash = await expectStatus(
    await server.request("/boards/board-1/trash", { token: alice }),
    200,
  );
  assert.deepEqual(trash.items.map((item: Json) => item.id), ["task-2"], "still in the trash");
});

Deno.test("a card whose list was deleted is 409 restore_conflict until the list is restored", async () => {
  await using server = await startTestServer(NORMAL);
  const alice = await server.login(ALICE);
  await one(server, "/tasks/task-3", { method: "DELETE", token: alice }, 200, "task_deleted");
  await one(
    server,
    "/lists/list-in-progress",
    { method: "DELETE", token: alice },
    200,
    "list_deleted",
  );
  await refused(
    server,
    "/tasks/task-3/restore",
    { method: "POST", token: alice },
    409,
    "restore_conflict",
  );
  const { body } = await one(
    server,
    "/lists/list-in-progress/restore",
    { method: "POST", token: alice },
    200,
    "list_restored",
  );
  assert.deepEqual(body.tasks, [], "task-3 was deleted before its list, on its own");
  await one(
    server,
    "/tasks/task-3/restore",
    { method: "POST", token: alice },
    200,
    "task_restored",
  );
  assert.deepEqual(await listOrder(server, alice, "list-in-progress"), ["task-3"]);
});

Deno.test("a restored list comes back at its place with its cards in order, as one list_restored event", async () => {
  await using server = await startTestServer(NORMAL);
  const alice = await server.login(ALICE);
  const bob = await server.login(BOB);
  await using watcher = await joinedSocket(server, bob);
  const second = await createTask(server, alice, "list-in-progress", "Second");
  const third = await createTask(server, alice, "list-in-progress", "Third");
  const { lists } = await listIds(server, alice);
  const list = lists.find((l) => l.id === "list-in-progress")!;
  const cards = (await cardsByList(server, alice))["list-in-progress"];
  assert.deepEqual(cards.map((t) => t.id), ["task-3", second.id, third.id]);
  await one(
    server,
    "/lists/list-in-progress",
    { method: "DELETE", token: bob },
    200,
    "list_deleted",
  );
  assert.deepEqual((await listIds(server, alice)).ids, ["list-todo", "list-done"]);

  // One trash item for the list, holding its cards; the cards are not items of their own.
  const { items } = await expectStatus(
    await server.request("/boards/board-1/trash", { token: alice }),
    200,
  );
  assert.equal(items.length, 1);
  const [item] = items;
  assert.deepEqual(Object.keys(item).sort(), [
    "boardId",
    "deletedAt",
    "deletedBy",
    "id",
    "kind",
    "list",
    "tasks",
    "title",
  ]);
  assert.equal(item.kind, "list");
  assert.equal(item.id, "list-in-progress");
  assert.equal(item.boardId, "board-1");
  assert.equal(item.title, "In progress");
  assert.equal(item.deletedBy, "user-2");
  assert.match(item.deletedAt, ISO_MS);
  assert.deepEqual(item.list, list);
  assert.deepEqual(item.tasks, cards);
  // A card deleted with its list cannot be restored on its own.
  await refused(
    server,
    `/tasks/${second.id}/restore`,
    { method: "POST", token: alice },
    404,
    "not_found",
  );

  await watcher.drain();
  const { body, event } = await one(
    server,
    "/lists/list-in-progress/restore",
    { method: "POST", token: alice },
    200,
    "list_restored",
  );
  assert.deepEqual(Object.keys(body).sort(), ["list", "tasks"]);
  assert.equal(body.list.id, "list-in-progress");
  assert.equal(body.list.title, "In progress");
  assert.equal(body.list.position, 1);
  assert.deepEqual(body.tasks.map((t: Json) => [t.id, t.listId, t.position]), [
    ["task-3", "list-in-progress", 0],
    [second.id, "list-in-progress", 1],
    [third.id, "list-in-progress", 2],
  ]);
  for (const [i, task] of body.tasks.entries()) {
    assert.equal(task.title, cards[i].title);
    assert.equal(task.description, cards[i].description);
    assert.equal(task.assigneeId, cards[i].assigneeId);
  }
  assert.deepEqual(event.list, body.list);
  assert.deepEqual(event.tasks, body.tasks);
  assert.deepEqual(await onlyEvent(watcher, "list_restored"), event);
  assert.deepEqual((await listIds(server, alice)).ids, [
    "list-todo",
    "list-in-progress",
    "list-done",
  ]);
  assert.deepEqual(await listOrder(server, alice, "list-in-progress"), [
    "task-3",
    second.id,
    third.id,
  ]);
  assert.deepEqual(
    (await expectStatus(await server.request("/boards/board-1/trash", { token: alice }), 200))
      .items,
    [],
  );
  // Twice, never deleted, another board's: 404.
  await refused(
    server,
    "/lists/list-in-progress/restore",
    { method: "POST", token: alice },
    404,
    "not_found",
  );
  await refused(
    server,
    "/lists/list-todo/restore",
    { method: "POST", token: alice },
    404,
    "not_found",
  );
  const carol = await server.login(CAROL);
  await one(
    server,
    "/lists/list-b2-doing",
    { method: "DELETE", token: carol },
    200,
    "list_deleted",
  );
  await refused(
    server,
    "/lists/list-b2-doing/restore",
    { method: "POST", token: alice },
    404,
    "not_found",
  );
});

Deno.test("a restored list whose place is gone goes to the end", async () => {
  await using server = await startTestServer(NORMAL);
  const alice = await server.login(ALICE);
  await one(server, "/lists/list-done", { method: "DELETE", token: alice }, 200, "list_deleted");
  await one(
    server,
    "/lists/list-in-progress",
    { method: "DELETE", token: alice },
    200,
    "list_deleted",
  );
  const { body } = await one(
    server,
    "/lists/list-done/restore",
    { method: "POST", token: alice },
    200,
    "list_restored",
  );
  assert.equal(body.list.position, 1);
  assert.deepEqual((await listIds(server, alice)).ids, ["list-todo", "list-done"]);
  assert.deepEqual(body.tasks.map((t: Json) => t.id), ["task-4"]);
});

Deno.test("restore takes an Idempotency-Key: the retry answers the same and writes one event", async () => {
  await using server = await startTestServer(NORMAL);
  const alice = await server.login(ALICE);
  await one(server, "/tasks/task-2", { method: "DELETE", token: alice }, 200, "task_deleted");
  await one(server, "/lists/list-done", { method: "DELETE", token: alice }, 200, "list_deleted");
  for (
    const [path, type] of [["/tasks/task-2/restore", "task_restored"], [
      "/lists/list-done/restore",
      "list_restored",
    ]]
  ) {
    const send = () =>
      server.request(path, {
        method: "POST",
        headers: { "idempotency-key": `key-${type}` },
        token: alice,
      });
    const { result, events } = await withEvents(server, async () => {
      const first = await expectStatus(await send(), 200);
      return [first, await expectStatus(await send(), 200)];
    });
    assert.deepEqual(result[1], result[0], `${path}: the same answer`);
    assert.deepEqual(events.map((e) => e.type), [type], `${path}: one event`);
  }
  // Without the key the retry is 404: it is no longer in the trash.
  await refused(
    server,
    "/tasks/task-2/restore",
    { method: "POST", token: alice },
    404,
    "not_found",
  );
});

// ---- revert ---------------------------------------------------------------------------------

Deno.test("reverting an update sets the before-values back, and reverting the revert redoes it", async () => {
  await using server = await startTestServer(NORMAL);
  const alice = await server.login(ALICE);
  const bob = await server.login(BOB);
  await using watcher = await joinedSocket(server, bob);
  const original = await getTask(server, alice, "task-1");
  const { event: edit } = await one(
    server,
    "/tasks/task-1",
    { method: "PATCH", json: { title: "Changed", assigneeId: "user-3" }, token: alice },
    200,
    "task_updated",
  );
  await watcher.next("task_updated");

  const undo = await revert(server, alice, edit.id, "task_updated");
  assert.deepEqual(await onlyEvent(watcher, "task_updated"), undo);
  assert.equal(undo.task.title, original.title);
  assert.equal(undo.task.assigneeId, original.assigneeId);
  assert.equal(undo.task.description, original.description);
  assert.equal(undo.task.version, edit.task.version + 1);
  assert.deepEqual(undo.before, { title: "Changed", assigneeId: "user-3" });
  assert.equal(undo.actorId, "user-1");
  const now = await getTask(server, alice, "task-1");
  assert.deepEqual(
    [now.title, now.assigneeId, now.version],
    [original.title, original.assigneeId, edit.task.version + 1],
  );

  const redo = await revert(server, alice, undo.id, "task_updated");
  assert.equal(redo.task.title, "Changed");
  assert.equal(redo.task.assigneeId, "user-3");
  assert.deepEqual(redo.before, { title: original.title, assigneeId: original.assigneeId });
  assert.equal((await getTask(server, alice, "task-1")).title, "Changed");
});

Deno.test("reverting a move moves the card back to where it was", async () => {
  await using server = await startTestServer(NORMAL);
  const alice = await server.login(ALICE);
  const { event: move } = await one(
    server,
    "/tasks/task-1/move",
    { method: "PATCH", json: { listId: "list-done", position: 1 }, token: alice },
    200,
    "task_moved",
  );
  assert.deepEqual(await listOrder(server, alice, "list-done"), ["task-4", "task-1"]);
  const undo = await revert(server, alice, move.id, "task_moved");
  assert.equal(undo.task.listId, "list-todo");
  assert.equal(undo.task.position, 0);
  assert.equal(undo.fromListId, "list-done");
  assert.equal(undo.fromPosition, 1);
  assert.deepEqual(await listOrder(server, alice, "list-todo"), ["task-1", "task-2"]);
  assert.deepEqual(await listOrder(server, alice, "list-done"), ["task-4"]);
});

Deno.test("reverting a create deletes the card, reverting that restores it, and reverting a delete restores", async () => {
  await using server = await startTestServer(NORMAL);
  const alice = await server.login(ALICE);
  const bob = await server.login(BOB);
  const { body: card, event: created } = await one(
    server,
    "/tasks",
    { method: "POST", json: { listId: "list-todo", title: "Short-lived" }, token: bob },
    201,
    "task_created",
  );
  const deleted = await revert(server, bob, created.id, "task_deleted");
  assert.equal(deleted.taskId, card.id);
  assert.deepEqual(deleted.task, card);
  await expectError(await server.request(`/tasks/${card.id}`, { token: bob }), 404, "not_found");

  const back = await revert(server, bob, deleted.id, "task_restored");
  assert.equal(back.task.id, card.id);
  assert.equal(back.task.version, card.version + 1);
  assert.deepEqual(await listOrder(server, bob, "list-todo"), ["task-1", "task-2", card.id]);

  const { event: del } = await one(
    server,
    "/tasks/task-1",
    { method: "DELETE", token: bob },
    200,
    "task_deleted",
  );
  const restored = await revert(server, bob, del.id, "task_restored");
  assert.equal(restored.task.id, "task-1");
  assert.equal(restored.task.position, 0);
  assert.deepEqual(await listOrder(server, alice, "list-todo"), ["task-1", "task-2", card.id]);
  // Undoing the restore deletes it again.
  await revert(server, bob, restored.id, "task_deleted");
  assert.deepEqual(await listOrder(server, alice, "list-todo"), ["task-2", card.id]);
});

Deno.test("list and board changes are reverted: rename, move, create, delete and the board's title", async () => {
  await using server = await startTestServer(NORMAL);
  const alice = await server.login(ALICE);
  const { event: renamed } = await one(
    server,
    "/lists/list-todo",
    { method: "PATCH", json: { title: "Backlog" }, token: alice },
    200,
    "list_updated",
  );
  const undoRename = await revert(server, alice, renamed.id, "list_updated");
  assert.equal(undoRename.list.title, "To do");
  assert.deepEqual(undoRename.before, { title: "Backlog" });

  const { event: moved } = await one(
    server,
    "/lists/list-done",
    { method: "PATCH", json: { position: 0 }, token: alice },
    200,
    "list_moved",
  );
  await revert(server, alice, moved.id, "list_moved");
  assert.deepEqual((await listIds(server, alice)).ids, [
    "list-todo",
    "list-in-progress",
    "list-done",
  ]);

  const { event: created } = await one(
    server,
    "/boards/board-1/lists",
    { method: "POST", json: { title: "Extra", position: 1 }, token: alice },
    201,
    "list_created",
  );
  await revert(server, alice, created.id, "list_deleted");
  assert.deepEqual((await listIds(server, alice)).ids, [
    "list-todo",
    "list-in-progress",
    "list-done",
  ]);

  const { event: deleted } = await one(
    server,
    "/lists/list-in-progress",
    { method: "DELETE", token: alice },
    200,
    "list_deleted",
  );
  const restored = await revert(server, alice, deleted.id, "list_restored");
  assert.deepEqual(restored.tasks.map((t: Json) => t.id), ["task-3"]);
  assert.deepEqual((await listIds(server, alice)).ids, [
    "list-todo",
    "list-in-progress",
    "list-done",
  ]);
  assert.deepEqual(await listOrder(server, alice, "list-in-progress"), ["task-3"]);
  // Undoing the restore deletes the list again.
  await revert(server, alice, restored.id, "list_deleted");
  assert.deepEqual((await listIds(server, alice)).ids, ["list-todo", "list-done"]);

  const { event: board } = await one(
    server,
    "/boards/board-1",
    { method: "PATCH", json: { title: "Renamed board" }, token: alice },
    200,
    "board_updated",
  );
  const undoBoard = await revert(server, alice, board.id, "board_updated");
  assert.equal(undoBoard.board.title, "Product Board");
  assert.deepEqual(undoBoard.before, { title: "Renamed board" });
});

Deno.test("a stale revert is 409 version_conflict with the current card and writes nothing", async () => {
  await using server = await startTestServer(NORMAL);
  const alice = await server.login(ALICE);
  const bob = await server.login(BOB);
  const { event: edit } = await one(
    server,
    "/tasks/task-1",
    { method: "PATCH", json: { title: "Alice's" }, token: alice },
    200,
    "task_updated",
  );
  const { event: move } = await one(
    server,
    "/tasks/task-2/move",
    { method: "PATCH", json: { listId: "list-done", position: 0 }, token: alice },
    200,
    "task_moved",
  );
  const created = await createTask(server, alice, "list-todo", "New");
  const createdSeq = await server.services.store.cursor();
  // Bob edits all three since.
  for (const id of ["task-1", "task-2", created.id]) {
    await one(
      server,
      `/tasks/${id}`,
      { method: "PATCH", json: { description: "Bob was here" }, token: bob },
      200,
      "task_updated",
    );
  }
  for (const [seq, id] of [[edit.id, "task-1"], [move.id, "task-2"], [createdSeq, created.id]]) {
    const current = await getTask(server, alice, id as string);
    const error = await refused(
      server,
      revertPath("board-1", seq as number),
      { method: "POST", token: alice },
      409,
      "version_conflict",
    );
    assert.deepEqual(error.task, current, "the answer carries the current card");
    assert.deepEqual(await getTask(server, alice, id as string), current, "nothing changed");
  }
});

Deno.test("reverting a card's deletion after its list was deleted is 409 restore_conflict", async () => {
  await using server = await startTestServer(NORMAL);
  const alice = await server.login(ALICE);
  const { event } = await one(
    server,
    "/tasks/task-3",
    { method: "DELETE", token: alice },
    200,
    "task_deleted",
  );
  await one(
    server,
    "/lists/list-in-progress",
    { method: "DELETE", token: alice },
    200,
    "list_deleted",
  );
  await refused(
    server,
    revertPath("board-1", event.id),
    { method: "POST", token: alice },
    409,
    "restore_conflict",
  );
});

Deno.test("only the event's author or the board's owner may revert it", async () => {
  await using server = await startTestServer(NORMAL);
  const alice = await server.login(ALICE);
  const bob = await server.login(BOB);
  const carol = await server.login(CAROL);
  const { event: bobs } = await one(
    server,
    "/tasks/task-2",
    { method: "PATCH", json: { title: "Bob's title" }, token: bob },
    200,
    "task_updated",
  );
  const { event: alices } = await one(
    server,
    "/tasks/task-3",
    { method: "PATCH", json: { title: "Alice's title" }, token: alice },
    200,
    "task_updated",
  );
  await refused(
    server,
    revertPath("board-1", bobs.id),
    { method: "POST", token: carol },
    403,
    "forbidden",
  );
  await refused(
    server,
    revertPath("board-1", alices.id),
    { method: "POST", token: bob },
    403,
    "forbidden",
  );
  assert.equal((await getTask(server, alice, "task-2")).title, "Bob's title");
  // The owner may revert Bob's change.
  const undo = await revert(server, alice, bobs.id, "task_updated");
  assert.equal(undo.actorId, "user-1");
  assert.equal(undo.task.title, "Write the onboarding guide");
  // And Bob his own.
  const { event: again } = await one(
    server,
    "/tasks/task-2",
    { method: "PATCH", json: { title: "Bob, again" }, token: bob },
    200,
    "task_updated",
  );
  await revert(server, bob, again.id, "task_updated");
  // A board change is the owner's anyway: a member cannot revert it.
  const { event: boardRenamed } = await one(
    server,
    "/boards/board-1",
    { method: "PATCH", json: { title: "Owner's" }, token: alice },
    200,
    "board_updated",
  );
  await refused(
    server,
    revertPath("board-1", boardRenamed.id),
    { method: "POST", token: bob },
    403,
    "forbidden",
  );
});

Deno.test("board_created, member_added and member_removed cannot be reverted: 409 not_revertible", async () => {
  await using server = await startTestServer(NORMAL);
  const alice = await server.login(ALICE);
  const { body: snapshot, event: created } = await one(
    server,
    "/boards",
    { method: "POST", json: { title: "Fresh" }, token: alice },
    201,
    "board_created",
  );
  const boardId = snapshot.board.id as string;
  assert.equal(created.v, 2);
  const { event: added } = await one(
    server,
    `/boards/${boardId}/members`,
    { method: "POST", json: { email: BOB }, token: alice },
    201,
    "member_added",
  );
  const { event: removed } = await one(
    server,
    `/boards/${boardId}/members/user-2`,
    { method: "DELETE", token: alice },
    200,
    "member_removed",
  );
  for (const event of [created, added, removed]) {
    await refused(
      server,
      revertPath(boardId, event.id),
      { method: "POST", token: alice },
      409,
      "not_revertible",
    );
  }
});

Deno.test("an event written before format 2 reads back as v: 1 without the new fields and cannot be reverted", async () => {
  await using server = await startTestServer(NORMAL);
  const alice = await server.login(ALICE);
  const { event } = await one(
    server,
    "/tasks/task-1",
    { method: "PATCH", json: { title: "Written long ago" }, token: alice },
    200,
    "task_updated",
  );
  // The row as the code before format 2 wrote it: the payload is the fields, without v or before.
  await execDb(
    server,
    "UPDATE events SET payload = ? WHERE seq = ?",
    JSON.stringify({
      task: event.task,
    }),
    event.id,
  );
  const { events } = await history(server, alice, "board-1");
  assert.equal(events.length, 1);
  assert.equal(events[0].v, 1);
  assert.equal(events[0].before, undefined);
  assert.deepEqual(events[0].task, event.task);
  await refused(
    server,
    revertPath("board-1", event.id),
    { method: "POST", token: alice },
    409,
    "not_revertible",
  );
  assert.equal((await getTask(server, alice, "task-1")).title, "Written long ago");
});

Deno.test("reverting an unknown seq or another board's seq is 404", async () => {
  await using server = await startTestServer(NORMAL);
  const alice = await server.login(ALICE);
  const carol = await server.login(CAROL);
  const { event: board2 } = await one(
    server,
    "/tasks/task-5",
    { method: "PATCH", json: { title: "Carol's" }, token: carol },
    200,
    "task_updated",
  );
  const { event: board1 } = await one(
    server,
    "/tasks/task-1",
    { method: "PATCH", json: { title: "Carol on board-1" }, token: carol },
    200,
    "task_updated",
  );
  // Carol is a member of both boards and the author: still not that board's event.
  await refused(
    server,
    revertPath("board-1", board2.id),
    { method: "POST", token: carol },
    404,
    "not_found",
  );
  await refused(
    server,
    revertPath("board-2", board1.id),
    { method: "POST", token: carol },
    404,
    "not_found",
  );
  await refused(
    server,
    revertPath("board-1", 999_999),
    { method: "POST", token: alice },
    404,
    "not_found",
  );
  // A non-member learns nothing about board-2's events.
  await refused(
    server,
    revertPath("board-2", board2.id),
    { method: "POST", token: alice },
    404,
    "not_found",
  );
  await refused(
    server,
    revertPath("board-nowhere", board1.id),
    { method: "POST", token: alice },
    404,
    "not_found",
  );
});

Deno.test("revert takes an Idempotency-Key: the retry answers the same and writes one event", async () => {
  await using server = await startTestServer(NORMAL);
  const alice = await server.login(ALICE);
  const { event: edit } = await one(
    server,
    "/tasks/task-1",
    { method: "PATCH", json: { title: "To undo" }, token: alice },
    200,
    "task_updated",
  );
  const send = () =>
    server.request(revertPath("board-1", edit.id), {
      method: "POST",
      headers: { "idempotency-key": "undo-1" },
      token: alice,
    });
  const { result, events } = await withEvents(server, async () => {
    const first = await expectStatus(await send(), 200);
    return [first, await expectStatus(await send(), 200)];
  });
  assert.deepEqual(result[1], result[0]);
  assert.deepEqual(events.map((e) => e.type), ["task_updated"]);
});

// ---- WebSocket -----------------------------------------------------------------------------

Deno.test("restore_task, restore_list and revert over a socket are acked with the documented fields, one event each", async () => {
  await using server = await startTestServer(NORMAL);
  const alice = await server.login(ALICE);
  const carol = await server.login(CAROL);
  await using actor = await WsClient.open(server, { token: alice });
  await using watcher = await joinedSocket(server, carol);
  await one(server, "/tasks/task-2", { method: "DELETE", token: alice }, 200, "task_deleted");
  await one(server, "/lists/list-done", { method: "DELETE", token: alice }, 200, "list_deleted");
  const { event: edit } = await one(
    server,
    "/tasks/task-1",
    { method: "PATCH", json: { title: "Over the socket" }, token: alice },
    200,
    "task_updated",
  );
  await watcher.drain();

  const send = async (message: Message, type: string) => {
    const { result, events } = await withEvents(server, async () => {
      actor.send(message);
      return await actor.next("ack", (m) => m.requestId === message.requestId);
    });
    assert.deepEqual(events.map((e) => e.type), [type], `${message.type}: one ${type} event`);
    assert.deepEqual(await onlyEvent(watcher, type), events[0]);
    return { ack: result, event: events[0] };
  };

  const task = await send(
    { type: "restore_task", requestId: "r1", taskId: "task-2" },
    "task_restored",
  );
  assert.deepEqual(Object.keys(task.ack).sort(), ["requestId", "task", "type"]);
  assert.equal(task.ack.task.id, "task-2");
  assert.deepEqual(task.ack.task, task.event.task);
  assert.deepEqual(await getTask(server, alice, "task-2"), task.ack.task);

  const list = await send(
    { type: "restore_list", requestId: 2, listId: "list-done" },
    "list_restored",
  );
  assert.deepEqual(Object.keys(list.ack).sort(), ["list", "requestId", "tasks", "type"]);
  assert.equal(list.ack.list.id, "list-done");
  assert.deepEqual(list.ack.tasks.map((t: Json) => t.id), ["task-4"]);
  assert.deepEqual([list.ack.list, list.ack.tasks], [list.event.list, list.event.tasks]);

  const undo = await send(
    { type: "revert", requestId: "r3", boardId: "board-1", seq: edit.id },
    "task_updated",
  );
  assert.deepEqual(Object.keys(undo.ack).sort(), ["event", "requestId", "type"]);
  assert.deepEqual(undo.ack.event, undo.event);
  assert.equal(undo.ack.event.revertOf, edit.id);
  assert.equal((await getTask(server, alice, "task-1")).title, "Design the board layout");

  // idempotencyKey: the retry is acked the same, nothing written twice.
  const { event: again } = await one(
    server,
    "/tasks/task-1",
    { method: "PATCH", json: { title: "Once more" }, token: alice },
    200,
    "task_updated",
  );
  await watcher.drain();
  const { result, events } = await withEvents(server, async () => {
    const message = {
      type: "revert",
      boardId: "board-1",
      seq: again.id,
      idempotencyKey: "ws-undo",
    };
    actor.send({ ...message, requestId: "k1" });
    const first = await actor.next("ack", (m) => m.requestId === "k1");
    actor.send({ ...message, requestId: "k2" });
    const second = await actor.next("ack", (m) => m.requestId === "k2");
    return [first, second];
  });
  assert.deepEqual(result[1].event, result[0].event);
  assert.equal(events.length, 1);
});

Deno.test("socket restore and revert errors carry the REST codes and the requestId, and write nothing", async () => {
  await using server = await startTestServer(NORMAL);
  const alice = await server.login(ALICE);
  const bob = await server.login(BOB);
  await using client = await WsClient.open(server, { token: bob });
  const { body: bobsBoard, event: boardCreated } = await one(
    server,
    "/boards",
    { method: "POST", json: { title: "Bob's own" }, token: bob },
    201,
    "board_created",
  );
  const { event: alicesEdit } = await one(
    server,
    "/tasks/task-1",
    { method: "PATCH", json: { title: "Alice's" }, token: alice },
    200,
    "task_updated",
  );
  const { event: bobsEdit } = await one(
    server,
    "/tasks/task-2",
    { method: "PATCH", json: { title: "Bob's" }, token: bob },
    200,
    "task_updated",
  );
  await one(
    server,
    "/tasks/task-2",
    { method: "PATCH", json: { title: "Alice's since" }, token: alice },
    200,
    "task_updated",
  );
  await one(server, "/tasks/task-3", { method: "DELETE", token: bob }, 200, "task_deleted");
  await one(
    server,
    "/lists/list-in-progress",
    { method: "DELETE", token: bob },
    200,
    "list_deleted",
  );

  const cases: [Message, string][] = [
    [{ type: "restore_task", taskId: "task-1" }, "not_found"],
    [{ type: "restore_task", taskId: "task-5" }, "not_found"],
    [{ type: "restore_task", taskId: "task-3" }, "restore_conflict"],
    [{ type: "restore_list", listId: "list-todo" }, "not_found"],
    [{ type: "revert", boardId: "board-1", seq: 999_999 }, "not_found"],
    [{ type: "revert", boardId: "board-1", seq: alicesEdit.id }, "forbidden"],
    [{ type: "revert", boardId: "board-1", seq: bobsEdit.id }, "version_conflict"],
    [{ type: "revert", boardId: bobsBoard.board.id, seq: boardCreated.id }, "not_revertible"],
    [{ type: "revert", boardId: "board-1" }, "validation_failed"],
    [{ type: "restore_task" }, "validation_failed"],
  ];
  let n = 0;
  for (const [message, code] of cases) {
    const requestId = `bad-${++n}`;
    const { result: error, events } = await withEvents(server, async () => {
      client.send({ ...message, requestId });
      return await client.next("error", (m) => m.requestId === requestId);
    });
    assert.equal(error.code, code, `${JSON.stringify(message)}: ${JSON.stringify(error)}`);
    assert.equal(typeof error.message, "string");
    assert.deepEqual(events, [], `${JSON.stringify(message)} writes nothing`);
    if (code === "version_conflict") assert.equal(error.task.title, "Alice's since");
  }
  assert.equal(client.readyState, WebSocket.OPEN);
});

// ---- while you were away ---------------------------------------------------------------------

/** The caller's GET /boards summary of one board. */
async function summary(server: TestServer, token: string, boardId = "board-1"): Promise<Json> {
  const boards: Json[] = await expectStatus(await server.request("/boards", { token }), 200);
  const board = boards.find((b) => b.id === boardId);
  assert.ok(board, `${boardId} is listed`);
  return board;
}

function putSeen(server: TestServer, token: string, body: unknown, boardId = "board-1") {
  return server.request(`/boards/${boardId}/seen`, {
    method: "PUT",
    ...(typeof body === "string"
      ? { body, headers: { "content-type": "application/json" } }
      : { json: body }),
    token,
  });
}

Deno.test("PUT seen stores the cursor per user and board, only forward, without an event", async () => {
  await using server = await startTestServer(NORMAL);
  const alice = await server.login(ALICE);
  const bob = await server.login(BOB);
  for (let i = 0; i < 6; i++) await createTask(server, alice, "list-todo", `Card ${i}`);
  const head = await server.services.store.cursor();
  assert.equal((await summary(server, bob)).seenCursor, 0, "0 when never set");

  const { events } = await withEvents(server, async () => {
    assert.deepEqual(await expectStatus(await putSeen(server, bob, { cursor: head - 1 }), 200), {
      cursor: head - 1,
    });
    assert.deepEqual(await expectStatus(await putSeen(server, bob, { cursor: head - 3 }), 200), {
      cursor: head - 1,
    }, "a lower cursor keeps the stored one");
    assert.deepEqual(await expectStatus(await putSeen(server, bob, { cursor: head }), 200), {
      cursor: head,
    });
  });
  assert.deepEqual(events, [], "no event");
  // Another device of Bob's sees it; Alice's is her own.
  const bobElsewhere = await server.login(BOB);
  assert.equal((await summary(server, bobElsewhere)).seenCursor, head);
  assert.equal((await summary(server, alice)).seenCursor, 0);
  // Per board: Carol's board-2 cursor is apart from her board-1 one.
  const carol = await server.login(CAROL);
  await expectStatus(await putSeen(server, carol, { cursor: 2 }, "board-2"), 200);
  assert.equal((await summary(server, carol, "board-2")).seenCursor, 2);
  assert.equal((await summary(server, carol, "board-1")).seenCursor, 0);
});

Deno.test("GET /boards counts unread events by other people after the seen cursor", async () => {
  await using server = await startTestServer(NORMAL);
  const alice = await server.login(ALICE);
  const bob = await server.login(BOB);
  const carol = await server.login(CAROL);
  const first = await summary(server, bob);
  assert.equal(first.seenCursor, 0);
  assert.equal(first.unread, 0);

  await createTask(server, alice, "list-todo", "Alice 1");
  await createTask(server, bob, "list-todo", "Bob 1");
  const mark = await server.services.store.cursor();
  await expectStatus(await putSeen(server, bob, { cursor: mark }), 200);
  await createTask(server, alice, "list-todo", "Alice 2");
  await createTask(server, alice, "list-todo", "Alice 3");
  await createTask(server, bob, "list-todo", "Bob 2");
  await createTask(server, carol, "list-todo", "Carol 1");
  await createTask(server, carol, "list-b2-ideas", "Carol on board-2");

  const bobs = await summary(server, bob);
  assert.equal(bobs.seenCursor, mark);
  assert.equal(bobs.unread, 3, "Alice's two and Carol's one; not his own, not board-2's");
  const alices = await summary(server, alice);
  assert.equal(alices.seenCursor, 0);
  assert.equal(alices.unread, 3, "Bob's two and Carol's one");
  assert.equal((await summary(server, carol, "board-2")).unread, 0, "only Carol wrote there");

  await expectStatus(
    await putSeen(server, bob, { cursor: await server.services.store.cursor() }),
    200,
  );
  assert.equal((await summary(server, bob)).unread, 0);
});

Deno.test("unread counts stop at 999", async () => {
  await using server = await startTestServer(NORMAL);
  const alice = await server.login(ALICE);
  const bob = await server.login(BOB);
  for (let batch = 0; batch < 100; batch++) {
    const answers = await Promise.all(
      Array.from({ length: 10 }, (_, i) =>
        server.request("/tasks/task-1", {
          method: "PATCH",
          json: { description: `edit ${batch}-${i}` },
          token: alice,
        })),
    );
    for (const answer of answers) await expectStatus(answer, 200);
  }
  const head = await server.services.store.cursor();
  assert.ok(head >= 1000);
  assert.equal((await summary(server, bob)).unread, 999, "1,000 unread, counted as 999");
  await expectStatus(await putSeen(server, bob, { cursor: head - 999 }), 200);
  assert.equal((await summary(server, bob)).unread, 999, "exactly 999");
  await expectStatus(await putSeen(server, bob, { cursor: head - 998 }), 200);
  assert.equal((await summary(server, bob)).unread, 998);
});

Deno.test("PUT seen refuses bad bodies with 400 and another board with 404", async () => {
  await using server = await startTestServer(NORMAL);
  const bob = await server.login(BOB);
  for (
    const body of [
      {},
      { cursor: -1 },
      { cursor: 1.5 },
      { cursor: "3" },
      { cursor: null },
      { cursor: 3, extra: true },
      [3],
      3,
    ]
  ) {
    await expectError(await putSeen(server, bob, body), 400, "validation_failed").catch(
      (error) => {
        throw new Error(`${JSON.stringify(body)}: ${error.message}`);
      },
    );
  }
  await expectError(await putSeen(server, bob, "{not json"), 400, "invalid_json");
  await expectError(await putSeen(server, bob, { cursor: 1 }, "board-2"), 404, "not_found");
  await expectError(await putSeen(server, bob, { cursor: 1 }, "board-nowhere"), 404, "not_found");
  assert.equal((await summary(server, bob)).seenCursor, 0, "nothing stored");
});

// ---- across instances -------------------------------------------------------------------------

Deno.test({
  name: "a restore made on one instance reaches a socket on another exactly once",
  ignore: skipUnless(postgresAvailable && redisAvailable, "PostgreSQL and Redis"),
  sanitizeOps: false,
  sanitizeResources: false,
  fn: () =>
    withCluster(2, async ({ instances: [a, b] }) => {
      // Demo mode: requests without a session act as the guest, a member of board-1.
      await expectStatus(await a.request("/tasks/task-2", { method: "DELETE" }), 200);
      const client = new WsClient(b.wsUrl);
      try {
        await client.next("connected");
        client.send({ type: "join", boardId: "board-1" });
        await client.next("presence");
        const restored = await expectStatus(
          await a.request("/tasks/task-2/restore", { method: "POST" }),
          200,
        );
        const event = await client.next("task_restored", () => true, 8000);
        assert.deepEqual(event.task, restored);
        assert.equal(event.v, 2);
        // The revert of that restore, made on B, reaches the same socket once too.
        const undo = await expectStatus(
          await b.request(`/boards/board-1/events/${event.id}/revert`, { method: "POST" }),
          200,
        );
        const deleted = await client.next("task_deleted", () => true, 8000);
        assert.deepEqual(deleted, undo.event);
        await new Promise((resolve) => setTimeout(resolve, 300));
        const more = (await client.drain()).filter((m) => typeof m.id === "number");
        assert.deepEqual(more, [], "each event once");
      } finally {
        await client.close();
      }
    }),
});
