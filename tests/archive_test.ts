/**
 * The archive (issue 11): a card or list archived leaves the board as one event, stays out of the
 * trash and is never pruned, is found by searching its title or content, and comes back as one
 * event at its old place; archiving is revertible like any change, and works over the socket.
 * Runs on both stores (`LIVEBOARD_TEST_STORE=postgres`).
 */
import assert from "node:assert/strict";
import { expectError, expectStatus, startTestServer, type TestServer } from "./helpers.ts";
import {
  ALICE,
  BOB,
  createTask,
  getTask,
  joinedSocket,
  type Json,
  listIds,
  listOrder,
  NORMAL,
  one,
  onlyEvent,
  refused,
  revertPath,
} from "./history_helpers.ts";

async function archiveOf(server: TestServer, token: string, q?: string): Promise<Json[]> {
  const query = q === undefined ? "" : `?q=${encodeURIComponent(q)}`;
  const body = await expectStatus(
    await server.request(`/boards/board-1/archive${query}`, { token }),
    200,
  );
  return body.items;
}

Deno.test("an archived card leaves the board as one task_archived event and is kept out of the trash", async () => {
  await using server = await startTestServer(NORMAL);
  const alice = await server.login(ALICE);
  const bob = await server.login(BOB);
  await using watcher = await joinedSocket(server, bob);
  const card = await getTask(server, alice, "task-2");

  const { body, event } = await one(
    server,
    "/tasks/task-2/archive",
    { method: "POST", token: alice },
    200,
    "task_archived",
  );
  assert.deepEqual(body, card);
  assert.deepEqual(event.task, card);
  assert.equal(event.v, 2);
  assert.deepEqual(await onlyEvent(watcher, "task_archived"), event);
  await expectError(await server.request("/tasks/task-2", { token: alice }), 404, "not_found");
  assert.deepEqual(await listOrder(server, alice, "list-todo"), ["task-1"]);

  const items = await archiveOf(server, bob);
  assert.deepEqual(items.map((i) => [i.kind, i.id, i.deletedBy]), [["task", "task-2", "user-1"]]);
  assert.deepEqual(items[0].task, card);
  const trash = await expectStatus(
    await server.request("/boards/board-1/trash", { token: bob }),
    200,
  );
  assert.deepEqual(trash.items, [], "archived is not deleted");
  // It is not in the trash, so it cannot be restored from there.
  await refused(
    server,
    "/tasks/task-2/restore",
    { method: "POST", token: alice },
    404,
    "not_found",
  );
});

Deno.test("an unarchived card comes back at its old place, version + 1, as one task_unarchived event", async () => {
  await using server = await startTestServer(NORMAL);
  const alice = await server.login(ALICE);
  const card = await getTask(server, alice, "task-1");
  await one(
    server,
    "/tasks/task-1/archive",
    { method: "POST", token: alice },
    200,
    "task_archived",
  );
  const { body, event } = await one(
    server,
    "/tasks/task-1/unarchive",
    { method: "POST", token: alice },
    200,
    "task_unarchived",
  );
  assert.deepEqual(body, { ...card, version: card.version + 1, updatedAt: body.updatedAt });
  assert.deepEqual(event.task, body);
  assert.deepEqual(await listOrder(server, alice, "list-todo"), ["task-1", "task-2"]);
  assert.deepEqual(await archiveOf(server, alice), []);
  // Twice, or a card that was deleted rather than archived: 404, nothing written.
  await refused(
    server,
    "/tasks/task-1/unarchive",
    { method: "POST", token: alice },
    404,
    "not_found",
  );
  await one(server, "/tasks/task-2", { method: "DELETE", token: alice }, 200, "task_deleted");
  await refused(
    server,
    "/tasks/task-2/unarchive",
    { method: "POST", token: alice },
    404,
    "not_found",
  );
});

Deno.test("an archived list takes its cards along and comes back with them in order", async () => {
  await using server = await startTestServer(NORMAL);
  const alice = await server.login(ALICE);
  const { ids: lists } = await listIds(server, alice);
  const cards = await listOrder(server, alice, "list-todo");
  const { event } = await one(
    server,
    "/lists/list-todo/archive",
    { method: "POST", token: alice },
    200,
    "list_archived",
  );
  assert.deepEqual(event.tasks.map((t: Json) => t.id), cards);
  assert.deepEqual(
    (await listIds(server, alice)).ids,
    lists.filter((id: string) => id !== "list-todo"),
  );
  const [item] = await archiveOf(server, alice);
  assert.equal(item.kind, "list");
  assert.deepEqual(item.tasks.map((t: Json) => t.id), cards);

  const { body, event: back } = await one(
    server,
    "/lists/list-todo/unarchive",
    { method: "POST", token: alice },
    200,
    "list_unarchived",
  );
  assert.equal(body.list.position, 0);
  assert.deepEqual(body.tasks.map((t: Json) => t.id), cards);
  assert.deepEqual(back.tasks, body.tasks);
  assert.deepEqual((await listIds(server, alice)).ids, lists);
  assert.deepEqual(await listOrder(server, alice, "list-todo"), cards);
});

Deno.test("the archive is searched by title and content whatever the letter case", async () => {
  await using server = await startTestServer(NORMAL);
  const alice = await server.login(ALICE);
  const created = await expectStatus(
    await server.request("/tasks", {
      method: "POST",
      token: alice,
      json: { listId: "list-done", title: "Über-Release notes", description: "Ship the ZEBRA" },
    }),
    201,
  );
  await one(
    server,
    `/tasks/${created.id}/archive`,
    { method: "POST", token: alice },
    200,
    "task_archived",
  );
  await one(
    server,
    "/lists/list-todo/archive",
    { method: "POST", token: alice },
    200,
    "list_archived",
  );
  const todoCard = (await archiveOf(server, alice)).find((i) => i.kind === "list")!.tasks[0].title;

  const ids = async (q: string) => (await archiveOf(server, alice, q)).map((i) => i.id);
  assert.deepEqual(await ids("über"), [created.id], "a title, Unicode case folded");
  assert.deepEqual(await ids("zebra"), [created.id], "a description");
  assert.deepEqual(await ids(todoCard.toUpperCase()), ["list-todo"], "a card of an archived list");
  assert.deepEqual(await ids("100%_"), [], "the search is text, not a pattern");
  assert.equal((await ids("")).length, 2, "an empty search lists everything");
  await expectError(
    await server.request(`/boards/board-1/archive?q=${"x".repeat(201)}`, { token: alice }),
    400,
    "validation_failed",
  );
  await expectError(
    await server.request("/boards/board-1/archive?nope=1", { token: alice }),
    400,
    "validation_failed",
  );
  const carol = await server.login("carol@example.com");
  await expectError(
    await server.request("/boards/board-2/archive", { token: alice }),
    404,
    "not_found",
  );
  assert.ok(carol);
});

Deno.test("archiving is reverted like any change: the revert unarchives, and its revert archives again", async () => {
  await using server = await startTestServer(NORMAL);
  const alice = await server.login(ALICE);
  const { event } = await one(
    server,
    "/tasks/task-1/archive",
    { method: "POST", token: alice },
    200,
    "task_archived",
  );
  const { body: undone } = await one(
    server,
    revertPath("board-1", event.id),
    { method: "POST", token: alice },
    200,
    "task_unarchived",
  );
  assert.equal(undone.event.revertOf, event.id);
  const { body: redone } = await one(
    server,
    revertPath("board-1", undone.event.id),
    { method: "POST", token: alice },
    200,
    "task_archived",
  );
  assert.equal(redone.event.revertOf, undone.event.id);
  assert.deepEqual((await archiveOf(server, alice)).map((i) => i.id), ["task-1"]);
});

Deno.test("archive_task, unarchive_task, archive_list and unarchive_list over a socket are acked with one event each", async () => {
  await using server = await startTestServer(NORMAL);
  const alice = await server.login(ALICE);
  await using socket = await joinedSocket(server, alice);
  const steps: [Json & { type: string }, string, string][] = [
    [{ type: "archive_task", taskId: "task-1" }, "task_archived", "task"],
    [{ type: "unarchive_task", taskId: "task-1" }, "task_unarchived", "task"],
    [{ type: "archive_list", listId: "list-done" }, "list_archived", "list"],
    [{ type: "unarchive_list", listId: "list-done" }, "list_unarchived", "list"],
  ];
  for (const [i, [message, type, field]] of steps.entries()) {
    socket.send({ ...message, requestId: i });
    const ack = await socket.next("ack", (m) => m.requestId === i);
    assert.ok(ack[field], `${message.type} acks with ${field}`);
    await onlyEvent(socket, type);
  }
  socket.send({ type: "unarchive_task", taskId: "task-1", requestId: "again" });
  const error = await socket.next("error", (m) => m.requestId === "again");
  assert.equal(error.code, "not_found");
});

Deno.test("the trash and the archive come in pages, newest first, and a search pages through its matches only", async () => {
  await using server = await startTestServer(NORMAL);
  const alice = await server.login(ALICE);
  const made: string[] = [];
  for (let i = 0; i < 7; i++) {
    made.push(
      (await createTask(server, alice, "list-todo", `${i % 2 === 0 ? "Even" : "Odd"} ${i}`)).id,
    );
  }
  for (const id of made.slice(0, 5)) {
    await expectStatus(
      await server.request(`/tasks/${id}`, { method: "DELETE", token: alice }),
      200,
    );
  }
  for (const id of made.slice(5)) {
    await expectStatus(
      await server.request(`/tasks/${id}/archive`, { method: "POST", token: alice }),
      200,
    );
  }
  const page = async (path: string) =>
    await expectStatus(await server.request(path, { token: alice }), 200);
  /** Every item of a paged shelf, two at a time, following `next`. */
  const walk = async (path: string) => {
    const seen: string[] = [];
    let next: number | null = null;
    let pages = 0;
    do {
      const sep = path.includes("?") ? "&" : "?";
      const body = await page(`${path}${sep}limit=2${next === null ? "" : `&before=${next}`}`);
      assert.ok(body.items.length <= 2, "a page holds at most `limit`");
      seen.push(...body.items.map((item: Json) => item.id));
      next = body.next;
      pages++;
    } while (next !== null);
    return { seen, pages };
  };

  const trash = await walk("/boards/board-1/trash");
  assert.deepEqual(trash.seen, made.slice(0, 5).reverse(), "newest deletion first, each once");
  assert.equal(trash.pages, 3);
  assert.deepEqual(
    (await page("/boards/board-1/trash?limit=5")).next,
    null,
    "no next page when the page holds the last item",
  );

  // Two more archived: "Even 0" … are deleted, so the archive holds Odd 5, Even 6 and these.
  for (const title of ["Even 7", "Odd 8", "Even 9"]) {
    const id = (await createTask(server, alice, "list-todo", title)).id;
    made.push(id);
    await expectStatus(
      await server.request(`/tasks/${id}/archive`, { method: "POST", token: alice }),
      200,
    );
  }
  const archive = await walk("/boards/board-1/archive");
  assert.deepEqual(archive.seen, made.slice(5).reverse());
  const evens = await walk("/boards/board-1/archive?q=even");
  assert.deepEqual(evens.seen, [made[9], made[7], made[6]], "only matches, still newest first");
  assert.equal(evens.pages, 2);

  for (const bad of ["limit=0", "limit=101", "limit=x", "before=-1", "since=1"]) {
    await expectError(
      await server.request(`/boards/board-1/trash?${bad}`, { token: alice }),
      400,
      "validation_failed",
    );
  }
});
