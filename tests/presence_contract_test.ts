/**
 * The presence contract (src/realtime/presence.ts), run against every implementation: in memory
 * always, and in Redis where it is reachable (a key prefix per test). Then what only a cluster
 * has: two instances' tabs are one viewer, an instance that goes silent has its users reported
 * left exactly once by one survivor, a clean close removes its viewers at once, and presence
 * lost from Redis is added again by the instances themselves.
 */
import assert from "node:assert/strict";
import type { ExpiredUser, Presence, PresenceEntry } from "../src/realtime/presence.ts";
import { MemoryPresence } from "../src/realtime/presence_memory.ts";
import { RedisPresence } from "../src/realtime/presence_redis.ts";
import { RedisLink } from "../src/realtime/redis.ts";
import { redisAvailable, skipUnless, TEST_REDIS_URL, testRedisPrefix, waitFor } from "./helpers.ts";

const entry = (userId: string, connectionId: string): PresenceEntry => ({
  userId,
  name: userId,
  connectionId,
});

/** An instance's presence and how to end it. */
interface Instance {
  presence: Presence;
  close(): Promise<void>;
}

async function redisInstance(prefix: string, instanceId: string, ttlMs = 60_000) {
  const link = await RedisLink.open(TEST_REDIS_URL, prefix);
  const presence = new RedisPresence(link, { instanceId, ttlMs });
  await presence.start();
  return {
    presence,
    link,
    close: async () => {
      await presence.close();
      await link.close();
    },
  };
}

/** Removes every key under a test's prefix. */
async function dropPrefix(prefix: string) {
  const link = await RedisLink.open(TEST_REDIS_URL, prefix);
  for await (const keys of link.commands.scanIterator({ MATCH: `${prefix}*`, COUNT: 500 })) {
    const list = Array.isArray(keys) ? keys : [keys];
    if (list.length) await link.commands.del(list);
  }
  await link.close();
}

function presenceContract(
  name: string,
  open: () => Promise<Instance>,
  ignore: boolean,
) {
  Deno.test({
    name: `[${name}] presence is keyed by user: first connection joins, last one leaves`,
    ignore,
    fn: async () => {
      const { presence, close } = await open();
      try {
        assert.equal(await presence.add("b1", entry("ann", "c1")), true);
        assert.equal(await presence.add("b1", entry("ann", "c2")), false);
        assert.equal(await presence.add("b1", entry("ann", "c2")), false, "adding twice");
        assert.equal(await presence.add("b1", entry("ben", "c3")), true);
        assert.equal(await presence.add("b2", entry("ann", "c4")), true);
        assert.deepEqual(await presence.list("b1"), [
          { userId: "ann", name: "ann", connections: 2 },
          { userId: "ben", name: "ben", connections: 1 },
        ]);
        assert.equal(await presence.remove("b1", entry("ann", "c1")), false);
        assert.equal(await presence.remove("b1", entry("ann", "c1")), false, "removing twice");
        assert.equal(await presence.remove("b1", entry("ann", "c2")), true);
        assert.equal(await presence.remove("b1", entry("ann", "c2")), false);
        assert.equal(await presence.remove("b1", entry("nobody", "c9")), false);
        assert.deepEqual(await presence.list("b1"), [
          { userId: "ben", name: "ben", connections: 1 },
        ]);
        assert.equal(await presence.remove("b1", entry("ben", "c3")), true);
        assert.deepEqual(await presence.list("b1"), []);
        assert.deepEqual(await presence.list("b2"), [
          { userId: "ann", name: "ann", connections: 1 },
        ]);
      } finally {
        await close();
      }
    },
  });

  Deno.test({
    name: `[${name}] concurrent joins and leaves of one user give exactly one first and one last`,
    ignore,
    fn: async () => {
      const { presence, close } = await open();
      try {
        const ids = Array.from({ length: 20 }, (_, i) => `c${i}`);
        const firsts = await Promise.all(ids.map((id) => presence.add("b", entry("ann", id))));
        assert.equal(firsts.filter(Boolean).length, 1);
        const lasts = await Promise.all(ids.map((id) => presence.remove("b", entry("ann", id))));
        assert.equal(lasts.filter(Boolean).length, 1);
        assert.deepEqual(await presence.list("b"), []);
      } finally {
        await close();
      }
    },
  });
}

presenceContract("memory", () => {
  const presence = new MemoryPresence();
  return Promise.resolve({ presence, close: () => presence.close() });
}, false);

const noRedis = skipUnless(redisAvailable, "Redis");

presenceContract("redis", async () => {
  const prefix = testRedisPrefix();
  const instance = await redisInstance(prefix, "i1");
  return {
    presence: instance.presence,
    close: async () => {
      await instance.close();
      await dropPrefix(prefix);
    },
  };
}, noRedis);

Deno.test({
  name: "[redis] tabs of one user on two instances are one viewer",
  ignore: noRedis,
  fn: async () => {
    const prefix = testRedisPrefix();
    const a = await redisInstance(prefix, "a");
    const b = await redisInstance(prefix, "b");
    try {
      assert.equal(await a.presence.add("board", entry("ann", "a1")), true);
      assert.equal(await b.presence.add("board", entry("ann", "b1")), false, "one viewer");
      assert.deepEqual(await b.presence.list("board"), [
        { userId: "ann", name: "ann", connections: 2 },
      ]);
      assert.equal(await a.presence.remove("board", entry("ann", "a1")), false);
      assert.equal(await b.presence.remove("board", entry("ann", "b1")), true, "left once");
    } finally {
      await a.close();
      await b.close();
      await dropPrefix(prefix);
    }
  },
});

Deno.test({
  name: "[redis] a silent instance's users are reported left exactly once, within the TTL",
  ignore: noRedis,
  fn: async () => {
    const prefix = testRedisPrefix();
    const ttlMs = 1500; // Short, but a loaded machine must not make the survivors miss heartbeats.
    const dying = await redisInstance(prefix, "dying", ttlMs);
    const survivors = [
      await redisInstance(prefix, "s1", ttlMs),
      await redisInstance(prefix, "s2", ttlMs),
    ];
    const reported: (ExpiredUser & { boardId: string; by: number })[] = [];
    survivors.forEach((s, by) =>
      s.presence.onExpire((boardId, user) => reported.push({ ...user, boardId, by }))
    );
    try {
      await dying.presence.add("board", entry("ann", "d1"));
      await dying.presence.add("board", entry("ann", "d2"));
      await dying.presence.add("board", entry("ben", "d3"));
      await survivors[0].presence.add("board", entry("cid", "s1"));
      // Killed: its heartbeats stop without any cleanup.
      await dying.link.close();
      const started = Date.now();
      await waitFor(() => reported.length >= 2, { timeoutMs: 5000, what: "the reaping" });
      const elapsed = Date.now() - started;
      await new Promise((resolve) => setTimeout(resolve, 3 * ttlMs / 5));
      assert.deepEqual(
        reported.map(({ boardId, userId }) => `${boardId}/${userId}`).sort(),
        ["board/ann", "board/ben"],
        "each user once, by one survivor",
      );
      assert.ok(elapsed < 2 * ttlMs + 500, `reaped after ${elapsed} ms`);
      assert.deepEqual(await survivors[1].presence.list("board"), [
        { userId: "cid", name: "cid", connections: 1 },
      ]);
    } finally {
      await dying.presence.close(); // Its timer (its Redis link is already gone).
      for (const s of survivors) await s.close();
      await dropPrefix(prefix);
    }
  },
});

Deno.test({
  name: "[redis] a clean close removes the instance's viewers at once and reports who left",
  ignore: noRedis,
  fn: async () => {
    const prefix = testRedisPrefix();
    const a = await redisInstance(prefix, "a");
    const b = await redisInstance(prefix, "b");
    const left: string[] = [];
    a.presence.onExpire((_, user) => left.push(user.userId));
    try {
      await a.presence.add("board", entry("ann", "a1"));
      await b.presence.add("board", entry("ben", "b1"));
      await a.close();
      assert.deepEqual(left, ["ann"]);
      assert.deepEqual(await b.presence.list("board"), [
        { userId: "ben", name: "ben", connections: 1 },
      ]);
    } finally {
      await b.close();
      await dropPrefix(prefix);
    }
  },
});

Deno.test({
  name: "[redis] presence wiped from Redis is added again by the instance itself",
  ignore: noRedis,
  fn: async () => {
    const prefix = testRedisPrefix();
    const a = await redisInstance(prefix, "a", 300);
    const restored: string[] = [];
    a.presence.onRestore((firsts) => {
      for (const [boardId, entries] of firsts) {
        for (const e of entries) restored.push(`${boardId}/${e.userId}`);
      }
    });
    try {
      await a.presence.add("board", entry("ann", "a1"));
      await a.presence.add("board", entry("ann", "a2"));
      // What a Redis restart does to keys it never saved.
      for await (const keys of a.link.commands.scanIterator({ MATCH: `${prefix}*` })) {
        const list = Array.isArray(keys) ? keys : [keys];
        if (list.length) await a.link.commands.del(list);
      }
      assert.deepEqual(await a.presence.list("board"), []);
      await waitFor(() => restored.length > 0, { timeoutMs: 3000, what: "the restore" });
      assert.deepEqual(restored, ["board/ann"]);
      assert.deepEqual(await a.presence.list("board"), [
        { userId: "ann", name: "ann", connections: 2 },
      ]);
    } finally {
      await a.close();
      await dropPrefix(prefix);
    }
  },
});

/** A TCP proxy to Redis that a test can cut (every connection dropped, new ones refused). */
class CuttableProxy {
  #listener?: Deno.Listener;
  #conns = new Set<Deno.Conn>();
  #serving?: Promise<void>;

  constructor(readonly port: number, readonly target: URL) {}

  get url(): string {
    return `redis://127.0.0.1:${this.port}`;
  }

  open(): void {
    this.#listener = Deno.listen({ hostname: "127.0.0.1", port: this.port });
    const listener = this.#listener;
    this.#serving = (async () => {
      for await (const client of listener) {
        this.#conns.add(client);
        Deno.connect({ hostname: this.target.hostname, port: Number(this.target.port || 6379) })
          .then((server) => {
            this.#conns.add(server);
            const pipe = (from: Deno.Conn, to: Deno.Conn) =>
              from.readable.pipeTo(to.writable).catch(() => {}).finally(() => {
                for (const c of [from, to]) {
                  this.#conns.delete(c);
                  try {
                    c.close();
                  } catch {
                    // closed
                  }
                }
              });
            pipe(client, server);
            pipe(server, client);
          }, () => client.close());
      }
    })().catch(() => {});
  }

  async cut(): Promise<void> {
    this.#listener?.close();
    await this.#serving;
    for (const conn of this.#conns) {
      try {
        conn.close();
      } catch {
        // closed
      }
    }
    this.#conns.clear();
  }
}

Deno.test({
  name:
    "[redis] after a short cut-off an instance repairs presence: who left and who came meanwhile",
  ignore: noRedis,
  sanitizeResources: false,
  sanitizeOps: false,
  fn: async () => {
    const prefix = testRedisPrefix();
    const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
    const port = (listener.addr as Deno.NetAddr).port;
    listener.close();
    const proxy = new CuttableProxy(port, new URL(TEST_REDIS_URL));
    proxy.open();
    const linkA = await RedisLink.open(proxy.url, prefix);
    const a = new RedisPresence(linkA, { instanceId: "a", ttlMs: 5000 });
    await a.start();
    const b = await redisInstance(prefix, "b", 5000);
    const left: string[] = [];
    const joined: string[] = [];
    a.onExpire((_, user) => left.push(user.userId));
    a.onRestore((firsts) =>
      firsts.forEach((entries) => entries.forEach((e) => joined.push(e.userId)))
    );
    try {
      await a.add("b1", entry("ann", "a1"));
      await proxy.cut();
      await waitFor(() => !linkA.up, { what: "A cut off" });
      // Shorter than the TTL: nobody reaps A, so A itself must set Redis right.
      assert.equal(await a.remove("b1", entry("ann", "a1")), false, "not known to be last yet");
      assert.equal(await a.add("b1", entry("ben", "a2")), false, "not known to be first yet");
      proxy.open();
      await waitFor(() => left.length === 1 && joined.length === 1, {
        timeoutMs: 5000,
        what: "the repair",
      });
      assert.deepEqual([left, joined], [["ann"], ["ben"]]);
      assert.deepEqual(await b.presence.list("b1"), [
        { userId: "ben", name: "ben", connections: 1 },
      ]);
    } finally {
      await a.close();
      await linkA.close();
      await proxy.cut();
      await b.close();
      await dropPrefix(prefix);
    }
  },
});

Deno.test({
  name: "[redis] a restart under the same INSTANCE_ID removes what the previous process left",
  ignore: noRedis,
  fn: async () => {
    const prefix = testRedisPrefix();
    const old = await redisInstance(prefix, "web-1", 60_000);
    const other = await redisInstance(prefix, "web-2", 60_000);
    try {
      await old.presence.add("b1", entry("ann", "c1"));
      await old.link.close(); // killed: no clean-up, and its heartbeat is still fresh
      await old.presence.close();
      const link = await RedisLink.open(TEST_REDIS_URL, prefix);
      const restarted = new RedisPresence(link, { instanceId: "web-1", ttlMs: 60_000 });
      const left: string[] = [];
      restarted.onExpire((_, user) => left.push(user.userId)); // the rooms listen before start
      await restarted.start();
      assert.deepEqual(left, ["ann"], "the ghost is announced as left");
      assert.deepEqual(await other.presence.list("b1"), []);
      await restarted.close();
      await link.close();
    } finally {
      await other.close();
      await dropPrefix(prefix);
    }
  },
});
