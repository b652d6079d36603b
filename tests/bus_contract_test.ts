/**
 * The bus contract (src/realtime/bus.ts), run against every implementation: the memory bus
 * always, and the Redis bus (relay on PostgreSQL's log) where both services are reachable. Then
 * what only the cross-instance bus does: events committed through one instance reach another's
 * subscribers exactly once, in seq order — also when the publish never happened.
 */
import assert from "node:assert/strict";
import type { Bus } from "../src/realtime/bus.ts";
import { MemoryBus } from "../src/realtime/bus_memory.ts";
import { RelayBus } from "../src/realtime/bus_relay.ts";
import { RedisLink } from "../src/realtime/redis.ts";
import { setLogLevel } from "../src/log.ts";
import type { BoardEvent } from "../src/store/events.ts";
import { PostgresStore } from "../src/store/postgres/store.ts";
import { seedDemoData } from "../src/store/seed.ts";
import { dropRedisPrefix } from "./cluster_helpers.ts";
import {
  postgresAvailable,
  redisAvailable,
  skipUnless,
  TEST_REDIS_URL,
  testDatabase,
  testRedisPrefix,
  waitFor,
} from "./helpers.ts";

setLogLevel("silent"); // The throwing listener is logged on purpose.

/** A bus, the seq its events must start after, and how to end it. */
interface OpenBus {
  bus: Bus;
  after: number;
  close(): Promise<void>;
}

const event = (id: number, boardId = "board-1"): BoardEvent => ({
  id,
  type: "board_deleted",
  v: 2,
  boardId,
  actorId: null,
  at: new Date().toISOString(),
});

function busContract(name: string, open: () => Promise<OpenBus>, ignore: boolean) {
  Deno.test({
    name: `[${name}] the bus delivers a board's events to its subscribers, in publish order`,
    ignore,
    fn: async () => {
      const { bus, after, close } = await open();
      try {
        const seen: string[] = [];
        bus.subscribe("board-1", (p) => seen.push(`a${p.event.id - after}`));
        bus.subscribe("board-1", (p) => seen.push(`b${p.event.id - after}`));
        bus.subscribe("board-2", (p) => seen.push(`c${p.event.id - after}`));
        bus.publish(event(after + 1));
        bus.publish(event(after + 2, "board-2"));
        bus.publish(event(after + 3));
        bus.publish(event(after + 4, "board-9"));
        await waitFor(() => seen.length === 5, { what: "the deliveries" });
        assert.deepEqual(seen, ["a1", "b1", "c2", "a3", "b3"]);
      } finally {
        await close();
      }
    },
  });

  Deno.test({
    name: `[${name}] a listener that throws does not stop delivery to the others`,
    ignore,
    fn: async () => {
      const { bus, after, close } = await open();
      try {
        const seen: number[] = [];
        bus.subscribe("board-1", () => {
          throw new Error("boom");
        });
        bus.subscribe("board-1", (p) => seen.push(p.event.id - after));
        bus.publish(event(after + 1));
        bus.publish(event(after + 2));
        await waitFor(() => seen.length === 2, { what: "the deliveries" });
        assert.deepEqual(seen, [1, 2]);
      } finally {
        await close();
      }
    },
  });

  Deno.test({
    name: `[${name}] unsubscribing is idempotent and the counts follow`,
    ignore,
    fn: async () => {
      const { bus, after, close } = await open();
      try {
        const seen: number[] = [];
        const off = bus.subscribe("board-1", (p) => seen.push(p.event.id - after));
        bus.subscribe("board-2", () => {});
        assert.equal(bus.subscriberCount("board-1"), 1);
        assert.equal(bus.subscriberCount(), 2);
        off();
        off();
        assert.equal(bus.subscriberCount("board-1"), 0);
        assert.equal(bus.subscriberCount(), 1);
        bus.publish(event(after + 1));
        await new Promise((resolve) => setTimeout(resolve, 50));
        assert.deepEqual(seen, []);
      } finally {
        await close();
      }
    },
  });
}

busContract("memory", () => {
  const bus = new MemoryBus();
  return Promise.resolve({ bus, after: 0, close: () => bus.close() });
}, false);

const ignoreRedis = skipUnless(postgresAvailable && redisAvailable, "PostgreSQL and Redis");

/** One instance's side of the cross-instance bus: a PostgreSQL store, a Redis link, a bus. */
async function instance(schema: { databaseUrl: string; databaseSchema: string }, prefix: string) {
  const store = await PostgresStore.open(schema.databaseUrl, {
    schema: schema.databaseSchema,
    lockTimeoutMs: 5000,
  });
  const link = await RedisLink.open(TEST_REDIS_URL, prefix);
  const bus = new RelayBus(store, link, () => {}, { checkMs: 100 });
  await bus.start();
  return {
    store,
    bus,
    close: async () => {
      await bus.close();
      await link.close();
      await store.close();
    },
  };
}

busContract("redis", async () => {
  const database = await testDatabase("postgres");
  const prefix = testRedisPrefix();
  const one = await instance(database, prefix);
  const after = await one.store.cursor();
  return {
    bus: one.bus,
    after,
    close: async () => {
      await one.close();
      await database.drop();
      await dropRedisPrefix(TEST_REDIS_URL, prefix);
    },
  };
}, ignoreRedis);

Deno.test({
  name:
    "[redis] events committed on one instance reach the other's subscribers once, in order, even unpublished",
  ignore: ignoreRedis,
  fn: async () => {
    const database = await testDatabase("postgres");
    const prefix = testRedisPrefix();
    const a = await instance(database, prefix);
    const b = await instance(database, prefix);
    try {
      await seedDemoData(a.store, 1000);
      let published = 0;
      // A publishes only every third event: B must fill the rest from the log.
      a.store.onCommit((e) => {
        if (published++ % 3 === 0) a.bus.publish(e);
      });
      const seenOnB: number[] = [];
      const seenOnA: number[] = [];
      b.bus.subscribe("board-1", (p) => seenOnB.push(p.event.id));
      a.bus.subscribe("board-1", (p) => seenOnA.push(p.event.id));
      const start = await a.store.cursor();
      const writes = Array.from(
        { length: 40 },
        (_, i) => a.store.createTask("user-1", { listId: "list-todo", title: `t${i}` }),
      );
      const ids = (await Promise.all(writes)).map((m) => m.event.id).sort((x, y) => x - y);
      assert.deepEqual(ids, Array.from({ length: 40 }, (_, i) => start + i + 1));
      await waitFor(() => seenOnB.length >= 40 && seenOnA.length >= 40, {
        timeoutMs: 5000,
        what: "both instances to deliver every event",
      });
      await new Promise((resolve) => setTimeout(resolve, 200));
      assert.deepEqual(seenOnB, ids, "B: once each, in seq order");
      assert.deepEqual(seenOnA, ids, "A: once each, in seq order");
    } finally {
      await a.close();
      await b.close();
      await database.drop();
      await dropRedisPrefix(TEST_REDIS_URL, prefix);
    }
  },
});
