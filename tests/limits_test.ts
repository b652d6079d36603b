/**
 * What a board and a user may hold (MAX_CARDS_PER_BOARD, MAX_LISTS_PER_BOARD,
 * MAX_BOARDS_PER_USER): one more is 409 `limit_reached` naming the limit, writes nothing, and holds
 * under concurrent creates, on both stores (`deno task test:postgres`).
 */
import assert from "node:assert/strict";
import { expectError, expectStatus, startTestServer, withEvents } from "./helpers.ts";

const LIMITS = { maxCardsPerBoard: 6, maxListsPerBoard: 4, maxBoardsPerUser: 3 };

Deno.test("a board takes cards up to its limit, even when ten are created at once, then 409 limit_reached", async () => {
  await using server = await startTestServer(LIMITS);
  const token = await server.login("alice@example.com");
  const board = await expectStatus(
    await server.request("/boards", { method: "POST", token, json: { title: "Small" } }),
    201,
  );
  const listId = board.lists[0].id;
  const create = (title: string) =>
    server.request("/tasks", { method: "POST", token, json: { listId, title } });
  const answers = await Promise.all(Array.from({ length: 10 }, (_, i) => create(`Card ${i}`)));
  const statuses = answers.map((answer) => answer.status).sort();
  assert.deepEqual(statuses, [201, 201, 201, 201, 201, 201, 409, 409, 409, 409]);
  for (const answer of answers) await answer.body?.cancel();
  const { events } = await withEvents(server, async () => {
    const refused = await expectError(await create("One too many"), 409, "limit_reached");
    assert.equal(refused.limit, "cardsPerBoard");
    assert.equal(refused.max, 6);
  });
  assert.deepEqual(events, [], "a refused create writes nothing");
  const tasks = await expectStatus(
    await server.request(`/boards/${board.board.id}/tasks`, { token }),
    200,
  );
  assert.equal(tasks.length, 6);
  await expectStatus(
    await server.request(`/tasks/${tasks[0].id}`, { method: "DELETE", token }),
    200,
  );
  await expectStatus(await create("Room again"), 201);
});

Deno.test("a board takes lists up to its limit (its three default lists count)", async () => {
  await using server = await startTestServer(LIMITS);
  const token = await server.login("alice@example.com");
  const board = await expectStatus(
    await server.request("/boards", { method: "POST", token, json: { title: "Lists" } }),
    201,
  );
  const addList = (title: string) =>
    server.request(`/boards/${board.board.id}/lists`, { method: "POST", token, json: { title } });
  await expectStatus(await addList("Fourth"), 201);
  const refused = await expectError(await addList("Fifth"), 409, "limit_reached");
  assert.equal(refused.limit, "listsPerBoard");
});

Deno.test("a user owns boards up to the limit; boards shared with them do not count", async () => {
  await using server = await startTestServer(LIMITS);
  const token = await server.login("alice@example.com");
  const boards = await expectStatus(await server.request("/boards", { token }), 200);
  const owned = boards.filter((b: { role: string }) => b.role === "owner").length;
  assert.ok(owned < LIMITS.maxBoardsPerUser, `the seed leaves room (${owned} owned)`);
  const create = (title: string) =>
    server.request("/boards", { method: "POST", token, json: { title } });
  const answers = await Promise.all(Array.from({ length: 5 }, (_, i) => create(`Mine ${i}`)));
  const created = answers.filter((answer) => answer.status === 201).length;
  for (const answer of answers) await answer.body?.cancel();
  assert.equal(created, LIMITS.maxBoardsPerUser - owned);
  const refused = await expectError(await create("Too many"), 409, "limit_reached");
  assert.equal(refused.limit, "boardsPerUser");
});
