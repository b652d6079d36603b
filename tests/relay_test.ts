/**
 * The event relay (src/realtime/relay.ts) on a real store, without Redis: it hands the local bus
 * every committed event once, in seq order, from where it started — events offered out of
 * order wait for the ones before them, gaps are filled from the log, and what was offered before
 * it started never holds it up.
 */
import assert from "node:assert/strict";
import { EventRelay } from "../src/realtime/relay.ts";
import type { BoardEvent } from "../src/store/events.ts";
import { seedDemoData } from "../src/store/seed.ts";
import { SqliteStore } from "../src/store/sqlite/store.ts";
import { waitFor } from "./helpers.ts";

async function withRelay(
  fn: (store: SqliteStore, relay: EventRelay, delivered: number[]) => Promise<void>,
) {
  const dir = await Deno.makeTempDir({ prefix: "liveboard-relay-" });
  const store = new SqliteStore(`${dir}/relay.db`);
  const delivered: number[] = [];
  const relay = new EventRelay(store, (e) => delivered.push(e.id), () => true, () => {}, {
    checkMs: 50,
    gapGraceMs: 20,
  });
  try {
    await seedDemoData(store, 1000);
    await fn(store, relay, delivered);
  } finally {
    await relay.stop();
    await store.close();
    await Deno.remove(dir, { recursive: true });
  }
}

const write = (store: SqliteStore, title: string) =>
  store.createTask("user-1", { listId: "list-todo", title });

Deno.test("the relay delivers out-of-order events in seq order, filling a gap from the log", () =>
  withRelay(async (store, relay, delivered) => {
    await relay.start();
    const events: BoardEvent[] = [];
    store.onCommit((event) => events.push(event));
    for (let i = 0; i < 5; i++) await write(store, `t${i}`);
    const [e1, e2, e3, e4, e5] = events;
    relay.offer(e3);
    relay.offer(e1);
    assert.deepEqual(delivered, [e1.id], "e3 waits for e2");
    relay.offer(e5);
    relay.offer(e1); // twice
    // e2 and e4 never come by pub/sub: the log has them.
    await waitFor(() => delivered.length === 5, { what: "the gap filled" });
    assert.deepEqual(delivered, [e1, e2, e3, e4, e5].map((e) => e.id));
    // The log read delivers from the gap on: e2 to e5 (the waiting e3 and e5 among them).
    assert.equal(relay.filled, 4);
    assert.equal(relay.waiting, 0);
  }));

Deno.test("events offered before the relay started never hold it up or come twice", () =>
  withRelay(async (store, relay, delivered) => {
    const early: BoardEvent[] = [];
    store.onCommit((event) => early.push(event));
    for (let i = 0; i < 3; i++) await write(store, `old${i}`);
    // Pub/sub may bring events while the relay reads the head: these are at or below it.
    for (const event of early) relay.offer(event);
    await relay.start();
    assert.equal(relay.waiting, 0, "nothing below the start waits");
    store.onCommit((event) => relay.offer(event));
    for (let i = 0; i < 10; i++) await write(store, `new${i}`);
    const head = await store.cursor();
    assert.deepEqual(delivered, Array.from({ length: 10 }, (_, i) => head - 9 + i));
    assert.equal(relay.waiting, 0);
    assert.equal(relay.filled, 0, "every event came by offer: no log reads were needed");
  }));

Deno.test("a lost last event is delivered by the head check", () =>
  withRelay(async (store, relay, delivered) => {
    await relay.start();
    const { event } = await write(store, "never offered");
    await waitFor(() => delivered.length === 1, { what: "the head check" });
    assert.deepEqual(delivered, [event.id]);
  }));
