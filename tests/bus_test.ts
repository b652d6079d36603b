/**
 * The event bus: delivery per board in publish order, a failing subscriber never stops the
 * others, idempotent unsubscribe, counts; and the store publishes only after commit.
 */
import assert from "node:assert/strict";
import { FANOUT_CHUNK, MemoryBus } from "../src/realtime/bus_memory.ts";
import { setLogLevel } from "../src/log.ts";
import type { BoardEvent } from "../src/store/store.ts";
import { seedDemoData } from "../src/store/seed.ts";
import { SqliteStore } from "../src/store/sqlite/store.ts";

const event = (id: number, boardId = "board-1"): BoardEvent => ({
  id,
  type: "board_deleted",
  v: 2,
  boardId,
  actorId: null,
  at: new Date().toISOString(),
});

Deno.test("the bus delivers each board's events to its subscribers in publish order", () => {
  const bus = new MemoryBus();
  const seen: string[] = [];
  bus.subscribe("board-1", (p) => seen.push(`a${p.event.id}`));
  bus.subscribe("board-1", (p) => seen.push(`b${p.event.id}`));
  bus.subscribe("board-2", (p) => seen.push(`c${p.event.id}`));
  bus.publish(event(1));
  bus.publish(event(2, "board-2"));
  bus.publish(event(3));
  bus.publish(event(4, "board-9"));
  assert.deepEqual(seen, ["a1", "b1", "c2", "a3", "b3"]);
});

Deno.test("a subscriber that throws never stops delivery to the others", () => {
  setLogLevel("silent");
  const bus = new MemoryBus();
  const seen: number[] = [];
  bus.subscribe("board-1", () => {
    throw new Error("broken subscriber");
  });
  bus.subscribe("board-1", (p) => seen.push(p.event.id));
  bus.publish(event(1));
  bus.publish(event(2));
  assert.deepEqual(seen, [1, 2]);
});

Deno.test("unsubscribing is idempotent, also from inside a delivery", () => {
  const bus = new MemoryBus();
  const seen: string[] = [];
  const offA = bus.subscribe("board-1", () => {
    seen.push("a");
    offA();
    offA();
  });
  const offB = bus.subscribe("board-1", () => seen.push("b"));
  assert.equal(bus.subscriberCount("board-1"), 2);
  bus.publish(event(1));
  bus.publish(event(2));
  assert.deepEqual(seen, ["a", "b", "b"]);
  offB();
  offB();
  assert.equal(bus.subscriberCount(), 0);
  assert.equal(bus.subscriberCount("board-1"), 0);
});

Deno.test("one publish is encoded once and shared by every subscriber", () => {
  const bus = new MemoryBus();
  let encodings = 0;
  const frames: unknown[] = [];
  for (let i = 0; i < 3; i++) {
    bus.subscribe("board-1", (p) => frames.push(p.encoded("test", (e) => (encodings++, e.json))));
  }
  const published = event(7);
  bus.publish(published);
  assert.equal(encodings, 1);
  assert.deepEqual(frames, Array(3).fill(JSON.stringify(published)));
});

Deno.test("the store publishes an event only after its transaction committed", async () => {
  const dir = await Deno.makeTempDir({ prefix: "liveboard-bus-" });
  const store = new SqliteStore(`${dir}/bus.db`);
  try {
    await seedDemoData(store, 1000);
    const seen: { id: number; stored: boolean }[] = [];
    store.onCommit((e) => {
      // Inside the listener the mutation is already visible to every reader.
      store.getTask(e.type === "task_created" ? e.task.id : "").then((task) =>
        seen.push({ id: e.id, stored: task !== null })
      );
    });
    const { event: created } = await store.createTask("user-1", {
      listId: "list-todo",
      title: "x",
    });
    await assert.rejects(
      store.updateTask("user-1", "task-1", { title: "y", version: 99 }),
      /version 1, not 99/,
    );
    await assert.rejects(store.createTask("user-1", { listId: "list-nowhere", title: "x" }));
    await new Promise((resolve) => setTimeout(resolve, 0));
    assert.deepEqual(seen, [{ id: created.id, stored: true }], "failed mutations publish nothing");
    assert.equal(await store.cursor(), created.id);
  } finally {
    await store.close();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("a large fan-out yields between chunks and keeps every listener's events in order", async () => {
  const bus = new MemoryBus();
  const seen: number[][] = [];
  for (let i = 0; i < FANOUT_CHUNK * 3 + 7; i++) {
    const mine: number[] = [];
    seen.push(mine);
    bus.subscribe(i % 2 ? "board-1" : "board-2", (p) => mine.push(p.event.id));
  }
  const both: number[] = [];
  bus.subscribe("board-1", (p) => both.push(p.event.id));
  bus.subscribe("board-2", (p) => both.push(p.event.id));
  bus.publish(event(1));
  bus.publish(event(2, "board-2"));
  bus.publish(event(3));
  // The first chunk went out inside publish; the last listeners wait for a later macrotask.
  assert.ok(seen.slice(0, FANOUT_CHUNK).some((ids) => ids.length > 0));
  assert.ok(seen.slice(-FANOUT_CHUNK).every((ids) => ids.length === 0));
  while (both.length < 3) await new Promise((resolve) => setTimeout(resolve, 1));
  assert.deepEqual(both, [1, 2, 3]);
  seen.forEach((ids, i) => assert.deepEqual(ids, i % 2 ? [1, 3] : [2], `listener ${i}`));
  await bus.close();
});

Deno.test("a listener that unsubscribes during a chunked fan-out gets nothing more", async () => {
  const bus = new MemoryBus();
  let late = 0;
  for (let i = 0; i < FANOUT_CHUNK; i++) bus.subscribe("board-1", () => {});
  const off = bus.subscribe("board-1", () => late++);
  // Subscribed after `off`'s listener, so it is called after the place where that one was.
  let sentinel = 0;
  bus.subscribe("board-1", () => sentinel++);
  bus.publish(event(1));
  off();
  while (sentinel === 0) await new Promise((resolve) => setTimeout(resolve, 1));
  assert.equal(late, 0);
  await bus.close();
});

Deno.test("a burst to unchanged listeners is handed to each listener in a row, in order", async () => {
  const bus = new MemoryBus();
  const calls: [number, number][] = [];
  for (let i = 0; i < FANOUT_CHUNK * 2; i++) {
    bus.subscribe("board-1", (p) => calls.push([i, p.event.id]));
  }
  for (let id = 1; id <= 5; id++) bus.publish(event(id));
  while (calls.length < FANOUT_CHUNK * 2 * 5) await new Promise((r) => setTimeout(r, 1));
  // Event 1 went out alone (its first chunk inside publish); 2–5 arrived while it was queued,
  // so each listener gets them back to back.
  for (let at = calls.findIndex(([, id]) => id === 2); at < calls.length; at += 4) {
    assert.deepEqual(calls.slice(at, at + 4).map(([, id]) => id), [2, 3, 4, 5]);
    assert.equal(new Set(calls.slice(at, at + 4).map(([i]) => i)).size, 1);
  }
  for (let i = 0; i < FANOUT_CHUNK * 2; i++) {
    assert.deepEqual(calls.filter(([who]) => who === i).map(([, id]) => id), [1, 2, 3, 4, 5]);
  }
  await bus.close();
});

Deno.test("a listener that subscribes during a burst gets only the events published after", async () => {
  const bus = new MemoryBus();
  const early: number[] = [];
  for (let i = 0; i < FANOUT_CHUNK * 2; i++) bus.subscribe("board-1", () => {});
  bus.subscribe("board-1", (p) => early.push(p.event.id));
  bus.publish(event(1));
  bus.publish(event(2));
  const late: number[] = [];
  bus.subscribe("board-1", (p) => late.push(p.event.id));
  bus.publish(event(3));
  bus.publish(event(4));
  while (late.length < 2 || early.length < 4) await new Promise((r) => setTimeout(r, 1));
  assert.deepEqual(early, [1, 2, 3, 4]);
  assert.deepEqual(late, [3, 4]);
  await bus.close();
});
