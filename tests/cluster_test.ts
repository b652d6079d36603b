/**
 * Several instances on PostgreSQL and Redis, as child processes (cluster_helpers.ts): events
 * committed on one instance reach every transport on every other exactly once and in order;
 * resume works on another instance; nothing is lost when an instance dies between COMMIT and
 * publish, when publishes are dropped, or while Redis is down or restarting; presence, typing
 * and logout cross instances; a killed instance's viewers are announced left once, in time.
 */
import assert from "node:assert/strict";
import {
  type Cluster,
  type Instance,
  PrivateRedis,
  redisServerInstalled,
  withCluster,
} from "./cluster_helpers.ts";
import {
  expectStatus,
  postgresAvailable,
  redisAvailable,
  skipUnless,
  type SseReader,
  waitFor,
} from "./helpers.ts";
import { type Message, WsClient } from "./ws_helpers.ts";

const ignore = skipUnless(postgresAvailable && redisAvailable, "PostgreSQL and Redis");
const ignorePrivate = skipUnless(
  postgresAvailable && redisServerInstalled,
  "PostgreSQL and redis-server",
);
const opts = { sanitizeOps: false, sanitizeResources: false };

function createTask(instance: Instance, title: string, listId = "list-todo") {
  return instance.request("/tasks", { method: "POST", json: { title, listId } })
    .then((response) => expectStatus(response, 201));
}

/** Reads `n` data frames of a stream; returns their ids (skipping the `connected` message). */
async function sseIds(stream: SseReader, n: number, timeoutMs = 8000): Promise<number[]> {
  const ids: number[] = [];
  while (ids.length < n) {
    const frame = await stream.nextData(timeoutMs);
    if (frame.id && frame.event !== "connected") ids.push(Number(frame.id));
  }
  return ids;
}

/** Opens a board stream and waits for its `connected` message. */
async function openBoardStream(instance: Instance, headers: Record<string, string> = {}) {
  const stream = await instance.sse("/boards/board-1/events", headers);
  const first = await stream.nextData();
  assert.equal(first.json.type, "connected");
  return stream;
}

/** A socket joined to board-1 (after `cursor` when given); waits for the presence snapshot. */
async function joinedSocket(instance: Instance, token?: string, cursor?: number) {
  const headers: Record<string, string> = token ? { authorization: `Bearer ${token}` } : {};
  const client = new WsClient(instance.wsUrl, headers);
  await client.next("connected");
  client.send({ type: "join", boardId: "board-1", ...(cursor !== undefined && { cursor }) });
  await client.next("presence");
  return client;
}

/** Board events (messages with a numeric id) a socket received after the `from`-th. */
const wsEventIds = (client: WsClient) =>
  client.received.filter((m) => typeof m.id === "number").map((m) => m.id as number);

Deno.test({
  name: "an event written on one instance reaches SSE, WebSocket and long polls on the others",
  ignore,
  ...opts,
  fn: () =>
    withCluster(3, async ({ instances: [a, b, c] }) => {
      const sseB = await openBoardStream(b);
      const wsC = await joinedSocket(c);
      const start = await (await c.request("/boards/board-1/updates?since=0")).json();
      const poll = c.request(`/boards/board-1/poll?cursor=${start.cursor}`).then((r) => r.json());
      await new Promise((resolve) => setTimeout(resolve, 100)); // the poll parks
      const task = await createTask(a, "From A");
      const frame = await sseB.nextData(5000);
      assert.equal(frame.event, "task_created");
      assert.equal((frame.json.task as Message).id, task.id);
      const message = await wsC.next("task_created", () => true, 5000);
      assert.equal(message.task.id, task.id);
      assert.equal(message.id, Number(frame.id));
      const answer = await poll;
      assert.deepEqual(answer.data.map((e: Message) => e.id), [Number(frame.id)]);
      await sseB.close();
      await wsC.close();
    }),
});

Deno.test({
  name: "with writers on three instances every reader sees exactly the log, in order",
  ignore,
  ...opts,
  fn: () =>
    withCluster(3, async (cluster) => {
      const { instances } = cluster;
      const start = await cluster.cursor();
      const streams = await Promise.all(instances.map((i) => openBoardStream(i)));
      const sockets = await Promise.all(instances.map((i) => joinedSocket(i)));
      const perInstance = 30;
      await Promise.all(instances.flatMap((instance, n) =>
        Array.from({ length: perInstance }, (_, k) => createTask(instance, `w${n}-${k}`))
      ));
      const expected = await cluster.logIds(["board-1"], start);
      assert.equal(expected.length, 3 * perInstance);
      for (const stream of streams) {
        assert.deepEqual(await sseIds(stream, expected.length), expected);
        await stream.close();
      }
      for (const socket of sockets) {
        await waitFor(() =>
          wsEventIds(socket).length >= expected.length, {
          timeoutMs: 8000,
          what: "every event on the socket",
        });
        assert.deepEqual(wsEventIds(socket), expected);
        await socket.close();
      }
    }),
});

Deno.test({
  name:
    "a client resumes on another instance by Last-Event-ID and by WebSocket cursor, exactly once",
  ignore,
  ...opts,
  fn: () =>
    withCluster(2, async (cluster) => {
      const [a, b] = cluster.instances;
      const start = await cluster.cursor();
      const stream = await openBoardStream(a);
      await createTask(a, "one");
      const [seen] = await sseIds(stream, 1);
      await stream.close();
      for (let i = 0; i < 5; i++) await createTask(a, `more ${i}`);
      const expected = await cluster.logIds(["board-1"], seen);
      const resumed = await openBoardStream(b, { "last-event-id": String(seen) });
      assert.deepEqual(await sseIds(resumed, expected.length), expected);
      await resumed.close();
      const socket = await joinedSocket(b, undefined, start);
      const all = await cluster.logIds(["board-1"], start);
      await waitFor(() => wsEventIds(socket).length >= all.length, { what: "the replay" });
      await socket.drain();
      assert.deepEqual(wsEventIds(socket), all);
      await socket.close();
    }),
});

Deno.test({
  name: "an instance killed right after COMMIT, before publishing, loses no event",
  ignore,
  ...opts,
  fn: () =>
    withCluster(2, async (cluster) => {
      const [, b] = cluster.instances;
      const doomed = await cluster.add({ LIVEBOARD_TEST_FAULTS: "exit_after_commit" });
      const stream = await openBoardStream(b);
      const start = await cluster.cursor();
      const write = await doomed.request("/tasks", {
        method: "POST",
        json: { title: "Committed, never published", listId: "list-todo" },
      }).catch((error) => error);
      assert.ok(write instanceof Error, "the instance died before answering");
      assert.equal((await doomed.exited).code, 86);
      const expected = await cluster.logIds(["board-1"], start);
      assert.equal(expected.length, 1, "the write committed");
      const frame = await stream.nextData(5000);
      assert.equal((frame.json.task as Message).title, "Committed, never published");
      assert.equal(Number(frame.id), expected[0]);
      await stream.close();
    }),
});

Deno.test({
  name: "dropped publishes lose nothing: the other instances fill the gaps from the log",
  ignore,
  ...opts,
  fn: () =>
    withCluster(1, async (cluster) => {
      const lossy = await cluster.add({ LIVEBOARD_TEST_FAULTS: "drop_publishes" });
      const [reader] = cluster.instances;
      const stream = await openBoardStream(reader);
      const start = await cluster.cursor();
      for (let i = 0; i < 20; i++) await createTask(lossy, `lossy ${i}`);
      const expected = await cluster.logIds(["board-1"], start);
      assert.deepEqual(await sseIds(stream, expected.length), expected);
      const health = await (await reader.request("/healthz")).json();
      assert.ok(health.relay.filled >= 10, `filled from the log: ${health.relay.filled}`);
      await stream.close();
    }),
});

Deno.test({
  name: "Redis killed and restarted mid-write: delivery goes on, nothing lost or duplicated",
  ignore: ignorePrivate,
  ...opts,
  fn: async () => {
    const redis = new PrivateRedis();
    await redis.start();
    try {
      await withCluster(2, async (cluster) => {
        const [a, b] = cluster.instances;
        const stream = await openBoardStream(b);
        const start = await cluster.cursor();
        const writes: Promise<unknown>[] = [];
        for (let i = 0; i < 10; i++) writes.push(createTask(a, `before ${i}`));
        await Promise.all(writes);
        await redis.stop();
        for (let i = 0; i < 10; i++) await createTask(a, `during ${i}`);
        // Delivery continues while Redis is down (the relay polls the log).
        const during = await cluster.logIds(["board-1"], start);
        assert.deepEqual(await sseIds(stream, during.length, 5000), during);
        await redis.start();
        await waitFor(async () => (await (await b.request("/healthz")).json()).redis === "ok", {
          timeoutMs: 8000,
          what: "Redis back on B",
        });
        const mark = await cluster.cursor();
        for (let i = 0; i < 10; i++) await createTask(a, `after ${i}`);
        const after = await cluster.logIds(["board-1"], mark);
        assert.deepEqual(await sseIds(stream, after.length), after);
        await stream.close();
      }, { redisUrl: redis.url });
    } finally {
      await redis.stop();
    }
  },
});

Deno.test({
  name: "instances start while Redis is down and deliver across instances from the log",
  ignore: ignorePrivate,
  ...opts,
  fn: async () => {
    const redis = new PrivateRedis(); // never started
    await withCluster(2, async (cluster) => {
      const [a, b] = cluster.instances;
      const health = await (await b.request("/healthz")).json();
      assert.equal(health.redis, "down");
      assert.equal(health.status, "ok");
      const stream = await openBoardStream(b);
      const task = await createTask(a, "Without Redis");
      const frame = await stream.nextData(5000);
      assert.equal((frame.json.task as Message).id, task.id);
      await stream.close();
    }, { redisUrl: redis.url });
  },
});

Deno.test({
  name: "instances that started without Redis use pub/sub once it comes up, not only the log",
  ignore: ignorePrivate,
  ...opts,
  fn: async () => {
    const redis = new PrivateRedis(); // started after the instances
    try {
      await withCluster(2, async ({ instances: [a, b] }) => {
        await redis.start();
        for (const instance of [a, b]) {
          await waitFor(
            async () => (await (await instance.request("/healthz")).json()).redis === "ok",
            {
              timeoutMs: 8000,
              what: `Redis up on ${instance.name}`,
            },
          );
        }
        const stream = await openBoardStream(b);
        const mark = (await (await b.request("/healthz")).json()).relay.filled;
        const task = await createTask(a, "By pub/sub");
        // The head check is a minute apart here: only pub/sub can bring it this soon.
        const frame = await stream.nextData(3000);
        assert.equal((frame.json.task as Message).id, task.id);
        assert.equal((await (await b.request("/healthz")).json()).relay.filled, mark);
        await stream.close();
      }, { redisUrl: redis.url, env: { RELAY_CHECK_MS: "60000" } });
    } finally {
      await redis.stop();
    }
  },
});

Deno.test({
  name: "presence crosses instances: two tabs on two instances are one viewer, who leaves once",
  ignore,
  ...opts,
  fn: () =>
    withCluster(2, async ({ instances: [a, b] }) => {
      const bob = await a.login("bob@example.com");
      const watcher = await joinedSocket(a);
      const tab1 = await joinedSocket(a, bob);
      const joined = await watcher.next("user_joined", (m) => m.userId === "user-2", 5000);
      assert.equal(joined.name, "Bob");
      const tab2 = await joinedSocket(b, bob);
      const snapshot = tab2.received.find((m) => m.type === "presence")!;
      const bobs = snapshot.users.filter((u: Message) => u.userId === "user-2");
      assert.deepEqual(bobs.map((u: Message) => u.connections), [2], "one viewer, two tabs");
      await tab1.close();
      await tab2.close();
      await watcher.next("user_left", (m) => m.userId === "user-2", 5000);
      await new Promise((resolve) => setTimeout(resolve, 300));
      const all = await watcher.drain();
      assert.equal(
        [...watcher.received, ...all].filter((m) =>
          m.type === "user_joined" && m.userId === "user-2"
        ).length,
        1,
        "joined once",
      );
      assert.equal(
        watcher.received.filter((m) => m.type === "user_left" && m.userId === "user-2").length,
        1,
        "left once",
      );
      await watcher.close();
    }),
});

Deno.test({
  name: "a SIGKILLed instance's viewers are announced left exactly once within the bound",
  ignore,
  ...opts,
  fn: () =>
    withCluster(3, async (cluster) => {
      const [a, b, c] = cluster.instances;
      const carol = await c.login("carol@example.com");
      const watchers = [await joinedSocket(a), await joinedSocket(b)];
      await joinedSocket(c, carol); // dies with its instance
      for (const w of watchers) await w.next("user_joined", (m) => m.userId === "user-3", 5000);
      const killedAt = Date.now();
      await c.kill("SIGKILL");
      for (const w of watchers) await w.next("user_left", (m) => m.userId === "user-3", 8000);
      const elapsed = Date.now() - killedAt;
      // PRESENCE_TTL_MS=1500 here: TTL + one sweep (a fifth of it), with room for a busy machine.
      assert.ok(elapsed < 1500 + 300 + 1500, `announced after ${elapsed} ms`);
      await new Promise((resolve) => setTimeout(resolve, 1000));
      for (const w of watchers) {
        const lefts = w.received.filter((m) => m.type === "user_left" && m.userId === "user-3");
        assert.equal(lefts.length, 1, "exactly once");
        await w.close();
      }
    }),
});

Deno.test({
  name: "an instance stopped with SIGTERM announces its viewers as left at once, not after the TTL",
  ignore,
  ...opts,
  fn: () =>
    withCluster(2, async (cluster) => {
      const [a, leaving] = cluster.instances;
      const carol = await leaving.login("carol@example.com");
      const watcher = await joinedSocket(a);
      await joinedSocket(leaving, carol);
      await watcher.next("user_joined", (m) => m.userId === "user-3", 5000);
      assert.equal(await leaving.kill("SIGTERM"), 0, "a clean exit");
      const left = await watcher.next("user_left", (m) => m.userId === "user-3", 3000);
      assert.equal(left.name, "Carol");
      await watcher.close();
      // A long TTL: only the clean shutdown can explain a prompt user_left.
    }, { env: { PRESENCE_TTL_MS: "60000" } }),
});

Deno.test({
  name: "typing crosses instances and stops showing when the typer's instance dies",
  ignore,
  ...opts,
  fn: () =>
    withCluster(2, async (cluster: Cluster) => {
      const [a] = cluster.instances;
      const doomed = await cluster.add();
      const bob = await doomed.login("bob@example.com");
      const watcher = await joinedSocket(a);
      const typer = await joinedSocket(doomed, bob);
      typer.send({ type: "typing", boardId: "board-1", taskId: "task-1" });
      const started = await watcher.next("user_typing", (m) => m.typing === true, 5000);
      assert.deepEqual([started.userId, started.taskId], ["user-2", "task-1"]);
      // Refreshes cross too: typing on for twice the timeout (600 ms here) never stops showing.
      for (let i = 0; i < 6; i++) {
        await new Promise((resolve) => setTimeout(resolve, 200));
        typer.send({ type: "typing", boardId: "board-1", taskId: "task-1" });
      }
      assert.ok(
        !watcher.unread().some((m) => m.type === "user_typing" && m.typing === false),
        "a refreshed typer kept showing on the other instance",
      );
      typer.send({ type: "cursor", boardId: "board-1", x: 10, y: 20 });
      const moved = await watcher.next("cursor_moved", () => true, 5000);
      assert.deepEqual([moved.userId, moved.x, moved.y], ["user-2", 10, 20]);
      await doomed.kill("SIGKILL");
      const stopped = await watcher.next("user_typing", (m) => m.typing === false, 3000);
      assert.equal(stopped.userId, "user-2");
      await watcher.close();
      await typer.closed;
    }),
});

Deno.test({
  name: "logout on one instance ends that session's stream on another",
  ignore,
  ...opts,
  fn: () =>
    withCluster(2, async ({ instances: [a, b] }) => {
      const token = await a.login("alice@example.com");
      const stream = await openBoardStream(b, { authorization: `Bearer ${token}` });
      await expectStatus(await a.request("/logout", { method: "POST", token }), 200);
      const goodbye = await stream.nextData(5000);
      assert.deepEqual(goodbye.json, {
        type: "disconnect",
        reason: "unauthorized",
        reconnect: false,
      });
      assert.equal(await stream.next(), null, "the stream ends");
    }),
});

Deno.test({
  name: "a session logged out on one instance is refused at once on another that had cached it",
  ignore,
  ...opts,
  fn: () =>
    withCluster(2, async ({ instances: [a, b] }) => {
      const token = await a.login("alice@example.com");
      await expectStatus(await b.request("/me", { token }), 200); // B now trusts it for 60 s
      await expectStatus(await a.request("/logout", { method: "POST", token }), 200);
      // The control message reaches B in milliseconds, far inside SESSION_CACHE_MS.
      await waitFor(async () => {
        const response = await b.request("/me", { token });
        await response.body?.cancel();
        return response.status === 401;
      }, { timeoutMs: 2000, what: "B refusing the logged-out session" });
    }, { env: { SESSION_CACHE_MS: "60000" } }),
});

Deno.test({
  name: "a create retried on another instance with the same Idempotency-Key is done once",
  ignore,
  ...opts,
  fn: () =>
    withCluster(2, async ({ instances: [a, b] }) => {
      const token = await a.login("alice@example.com");
      const send = (instance: typeof a) =>
        instance.request("/tasks", {
          method: "POST",
          headers: { "idempotency-key": "across-1" },
          json: { listId: "list-todo", title: "Across instances" },
          token,
        });
      // At once on both (the retry races the original), then once more on B.
      const [onA, onB] = await Promise.all([send(a), send(b)]);
      const first = await expectStatus(onA, 201);
      assert.deepEqual(await expectStatus(onB, 201), first);
      assert.deepEqual(await expectStatus(await send(b), 201), first);
      const tasks = await expectStatus(await a.request("/boards/board-1/tasks", { token }), 200);
      assert.equal(
        tasks.filter((task: { title: string }) => task.title === "Across instances").length,
        1,
      );
    }),
});

Deno.test({
  name: "/admin/connections shows every instance and /healthz the relay",
  ignore,
  ...opts,
  fn: () =>
    withCluster(2, async ({ instances: [a, b] }) => {
      const stream = await openBoardStream(b);
      await waitFor(async () => {
        const counts = await (await a.request("/admin/connections")).json();
        return counts.cluster.total === 1 && counts.cluster.instances.length === 2;
      }, { timeoutMs: 6000, what: "the cluster counts" });
      const counts = await (await a.request("/admin/connections")).json();
      assert.equal(counts.total, 0, "none on A itself");
      const health = await expectStatus(await b.request("/healthz"), 200);
      assert.equal(health.redis, "ok");
      assert.equal(health.store, "ok");
      assert.equal(typeof health.relay.lag, "number");
      await stream.close();
    }),
});
