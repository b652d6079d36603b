/**
 * Helpers for the event-log-as-a-feature tests (history_test.ts): reading a board's history page
 * by page, doing a change and taking the one event it wrote, refused changes that must write
 * nothing, a board's cards per list in position order, and live readers (an SSE stream, a
 * joined socket) that prove each change reached another client exactly once.
 */
import assert from "node:assert/strict";
import {
  expectError,
  expectStatus,
  openSse,
  type SseReader,
  type TestServer,
  withEvents,
} from "./helpers.ts";
import { type Message, WsClient } from "./ws_helpers.ts";

/** Normal mode (sessions required), the demo users and boards seeded. */
export const NORMAL = { demo: false, seed: true } as const;

export const ALICE = "alice@example.com"; // user-1, owner of board-1
export const BOB = "bob@example.com"; // user-2, member of board-1
export const CAROL = "carol@example.com"; // user-3, member of board-1, owner of board-2

export const ISO_MS = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/;

// deno-lint-ignore no-explicit-any
export type Json = Record<string, any>;

export type RequestOptions = RequestInit & { json?: unknown; token?: string };

/** GET /boards/:id/history with these query values; expects 200 and returns `{events, next}`. */
export async function history(
  server: TestServer,
  token: string,
  boardId: string,
  query: Record<string, string | number> = {},
): Promise<{ events: Json[]; next: number | null }> {
  const search = new URLSearchParams(
    Object.entries(query).map(([name, value]) => [name, String(value)]),
  );
  const path = `/boards/${boardId}/history${search.size ? `?${search}` : ""}`;
  const body = await expectStatus(await server.request(path, { token }), 200);
  assert.deepEqual(Object.keys(body).sort(), ["events", "next"], `${path}: {events, next}`);
  assert.ok(Array.isArray(body.events), `${path}: events is an array`);
  assert.ok(body.next === null || Number.isInteger(body.next), `${path}: next is a seq or null`);
  return body;
}

/**
 * Follows `next` from the newest page to the end (at most 200 pages); returns every page. Each
 * page is checked: newest first, at most `limit` events, all older than the `before` it was
 * asked with.
 */
export async function allPages(
  server: TestServer,
  token: string,
  boardId: string,
  query: Record<string, string | number> = {},
  limit?: number,
): Promise<{ events: Json[]; next: number | null }[]> {
  const pages: { events: Json[]; next: number | null }[] = [];
  let before: number | null = null;
  for (let n = 0; n < 200; n++) {
    const page = await history(server, token, boardId, {
      ...query,
      ...(limit !== undefined && { limit }),
      ...(before !== null && { before }),
    });
    const ids = page.events.map((event) => event.id);
    assert.deepEqual(ids, [...ids].sort((a, b) => b - a), "a page is newest first");
    if (limit !== undefined) assert.ok(ids.length <= limit, `at most ${limit} events a page`);
    if (before !== null) assert.ok(ids.every((id) => id < before!), "older than `before`");
    pages.push(page);
    if (page.next === null) return pages;
    assert.ok(before === null || page.next < before, "`next` moves backwards");
    before = page.next;
  }
  throw new Error("history did not end within 200 pages");
}

/** The ids of every event the pages hold, in page order. */
export const pageIds = (pages: { events: Json[] }[]) =>
  pages.flatMap((page) => page.events.map((event) => event.id));

/** Sends a request, expects `status`; returns the answer and the events it wrote (oldest first). */
export async function mutate(
  server: TestServer,
  path: string,
  init: RequestOptions,
  status = 200,
): Promise<{ body: Json; events: Json[] }> {
  const { result, events } = await withEvents(
    server,
    async () => expectStatus(await server.request(path, init), status),
  );
  return { body: result, events };
}

/** Sends a change that must write exactly one event of `type`; returns the answer and the event. */
export async function one(
  server: TestServer,
  path: string,
  init: RequestOptions,
  status: number,
  type: string,
): Promise<{ body: Json; event: Json }> {
  const { body, events } = await mutate(server, path, init, status);
  assert.deepEqual(
    events.map((event) => event.type),
    [type],
    `${init.method ?? "GET"} ${path}: exactly one ${type} event`,
  );
  return { body, event: events[0] };
}

/** Sends a change that must be refused with `status` / `code` and write nothing; returns the body. */
export async function refused(
  server: TestServer,
  path: string,
  init: RequestOptions,
  status: number,
  code: string,
): Promise<Json> {
  const { result, events } = await withEvents(
    server,
    async () => expectError(await server.request(path, init), status, code),
  );
  assert.deepEqual(events, [], `a refused ${init.method ?? "GET"} ${path} writes no event`);
  return result;
}

/** POST /boards/:id/events/:seq/revert. */
export function revertPath(boardId: string, seq: number): string {
  return `/boards/${boardId}/events/${seq}/revert`;
}

/** Creates a card (one task_created event); returns it. */
export async function createTask(
  server: TestServer,
  token: string,
  listId: string,
  title: string,
  extra: Json = {},
): Promise<Json> {
  const { body } = await one(
    server,
    "/tasks",
    { method: "POST", json: { listId, title, ...extra }, token },
    201,
    "task_created",
  );
  return body;
}

/** GET /tasks/:id (200). */
export async function getTask(server: TestServer, token: string, taskId: string): Promise<Json> {
  return expectStatus(await server.request(`/tasks/${taskId}`, { token }), 200);
}

/** Every card of a board, per list id, in position order; checks positions are 0..n-1. */
export async function cardsByList(
  server: TestServer,
  token: string,
  boardId = "board-1",
): Promise<Record<string, Json[]>> {
  const tasks: Json[] = await expectStatus(
    await server.request(`/boards/${boardId}/tasks`, { token }),
    200,
  );
  const lists: Record<string, Json[]> = {};
  for (const task of tasks) (lists[task.listId] ??= []).push(task);
  for (const [listId, cards] of Object.entries(lists)) {
    cards.sort((a, b) => a.position - b.position);
    assert.deepEqual(cards.map((t) => t.position), cards.map((_, i) => i), `dense ${listId}`);
  }
  return lists;
}

/** The card ids of one list, in position order. */
export async function listOrder(
  server: TestServer,
  token: string,
  listId: string,
  boardId = "board-1",
): Promise<string[]> {
  return ((await cardsByList(server, token, boardId))[listId] ?? []).map((task) => task.id);
}

/** The board's lists (ids), in position order, from its snapshot. */
export async function listIds(server: TestServer, token: string, boardId = "board-1") {
  const snapshot = await expectStatus(await server.request(`/boards/${boardId}`, { token }), 200);
  const lists: Json[] = [...snapshot.lists].sort((a, b) => a.position - b.position);
  assert.deepEqual(lists.map((l) => l.position), lists.map((_, i) => i), "dense lists");
  return { ids: lists.map((list) => list.id), lists };
}

/** An SSE stream of a board for `token`, past its `connected` message. */
export async function boardStream(
  server: TestServer,
  token: string,
  boardId = "board-1",
): Promise<SseReader> {
  const stream = await openSse(server, `/boards/${boardId}/events`, {
    authorization: `Bearer ${token}`,
  });
  const connected = await stream.nextData();
  assert.equal(connected.json.type, "connected");
  return stream;
}

/** Reads `n` event frames from a stream; checks each frame's id and event name match its data. */
export async function streamEvents(stream: SseReader, n: number): Promise<Json[]> {
  const events: Json[] = [];
  while (events.length < n) {
    const frame = await stream.nextData();
    assert.equal(frame.event, frame.json.type, "the frame is named after its event");
    assert.equal(Number(frame.id), frame.json.id, "the frame's id is the event's seq");
    events.push(frame.json);
  }
  return events;
}

/** A socket of `token` joined to the board (past the presence snapshot). */
export async function joinedSocket(
  server: TestServer,
  token: string,
  boardId = "board-1",
): Promise<WsClient> {
  const client = await WsClient.open(server, { token });
  client.send({ type: "join", boardId });
  await client.next("presence");
  return client;
}

/**
 * Waits for the board event of `type` on a socket, then proves, with a ping barrier, that no
 * other board event came with it: exactly one event for one change.
 */
export async function onlyEvent(client: WsClient, type: string): Promise<Message> {
  const event = await client.next(type, (m) => typeof m.id === "number");
  const others = (await client.drain()).filter((m) => typeof m.id === "number");
  assert.deepEqual(others, [], `only one event (${type}) reached the other client`);
  return event;
}
