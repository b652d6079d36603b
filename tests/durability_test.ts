/**
 * Durability: the event log lives in the database (SQLite file or PostgreSQL schema), so after a
 * shutdown and a start on the same database the events are replayed with the same ids and bytes, the seq never goes back (not
 * even after pruning everything), and seeding again changes nothing.
 */
import assert from "node:assert/strict";
import {
  expectStatus,
  openSse,
  startTestServer,
  testDatabase,
  type TestServer,
} from "./helpers.ts";

/** One database (a SQLite file or a PostgreSQL schema) that several servers start on in turn. */
async function withDatabase(
  fn: (database: { databaseUrl: string; databaseSchema: string }) => Promise<void>,
) {
  const database = await testDatabase();
  try {
    await fn({ databaseUrl: database.databaseUrl, databaseSchema: database.databaseSchema });
  } finally {
    await database.drop();
  }
}

function createTask(server: TestServer, title: string) {
  return server.request("/tasks", { method: "POST", json: { title, listId: "list-todo" } })
    .then((response) => expectStatus(response, 201));
}

Deno.test("events written before a restart are replayed after it with the same ids and bytes", async () => {
  await withDatabase(async (database) => {
    let start: number;
    let live: string;
    let lastId: string;
    {
      await using server = await startTestServer(database);
      start = await server.services.store.cursor();
      const stream = await openSse(server, "/boards/board-1/events");
      await stream.nextData();
      const mark = stream.raw.length;
      const task = await createTask(server, "Survives");
      await expectStatus(
        await server.request(`/tasks/${task.id}/move`, {
          method: "PATCH",
          json: { listId: "list-done", position: 0 },
        }),
        200,
      );
      await expectStatus(await server.request("/tasks/task-2", { method: "DELETE" }), 200);
      for (let i = 0; i < 3; i++) lastId = (await stream.nextData()).id!;
      live = stream.raw.slice(mark);
      await stream.close();
    }
    {
      await using server = await startTestServer(database);
      assert.equal(await server.services.store.cursor(), Number(lastId!));
      const resumes: [string, Record<string, string>][] = [
        ["/boards/board-1/events", { "last-event-id": String(start) }],
        [`/boards/board-1/events?lastEventId=${start}`, {}],
      ];
      for (const [path, headers] of resumes) {
        const stream = await openSse(server, path, headers);
        await stream.nextData();
        const mark = stream.raw.length;
        for (let i = 0; i < 3; i++) await stream.nextData();
        assert.equal(
          stream.raw.slice(mark, mark + live.length),
          live,
          "the replay is byte-identical",
        );
        // And the next event continues the sequence.
        const created = await createTask(server, "After restart");
        let next = await stream.nextData();
        while ((next.json.task as { id: string }).id !== created.id) next = await stream.nextData();
        assert.equal(Number(next.id), await server.services.store.cursor());
        await stream.close();
      }
      // The short poll reads the same log.
      const answer = await expectStatus(
        await server.request(`/boards/board-1/updates?since=${start}`),
        200,
      );
      assert.deepEqual(answer.data.slice(0, 3).map((e: { type: string }) => e.type), [
        "task_created",
        "task_moved",
        "task_deleted",
      ]);
    }
  });
});

Deno.test("the seq keeps increasing after a restart and after pruning the whole log", async () => {
  await withDatabase(async (database) => {
    let cursor: number;
    {
      await using server = await startTestServer(database);
      for (let i = 0; i < 5; i++) await createTask(server, `Task ${i}`);
      cursor = await server.services.store.cursor();
      assert.equal(await server.services.store.prune({ maxCount: 0, maxAgeMs: 0 }), 5);
      assert.equal(await server.services.store.cursor(), cursor, "pruning keeps the cursor");
      assert.equal(await server.services.store.prunedThrough(), cursor);
    }
    {
      await using server = await startTestServer(database);
      assert.equal(await server.services.store.cursor(), cursor);
      assert.deepEqual((await server.services.store.eventsAfter(["board-1"], 0, 100)).events, []);
      // A client that was up to date resumes without a resync...
      const current = await openSse(server, "/boards/board-1/events", {
        "last-event-id": String(cursor),
      });
      await current.nextData();
      // ...one that was behind must resync.
      const behind = await openSse(server, "/boards/board-1/events", {
        "last-event-id": String(cursor - 1),
      });
      await behind.nextData();
      assert.equal((await behind.nextData()).event, "resync");

      const task = await createTask(server, "Next");
      const event = await current.nextData();
      assert.equal(event.event, "task_created");
      assert.equal(Number(event.id), cursor + 1);
      assert.equal((event.json.task as { id: string }).id, task.id);
      assert.equal(Number((await behind.nextData()).id), cursor + 1);
      await current.close();
      await behind.close();
      await server.services.store.prune({ maxCount: 0, maxAgeMs: 0 });
    }
    {
      await using server = await startTestServer(database);
      await createTask(server, "And the next");
      assert.equal(await server.services.store.cursor(), cursor + 2);
    }
  });
});

Deno.test("data, sessions and the seed survive a restart unchanged", async () => {
  await withDatabase(async (database) => {
    let token: string;
    {
      await using server = await startTestServer(database);
      token = await server.login("alice@example.com");
      await expectStatus(
        await server.request("/tasks/task-1", { method: "PATCH", json: { title: "Renamed" } }),
        200,
      );
      await createTask(server, "Extra");
    }
    {
      // Demo mode seeds again on start; the seed is idempotent.
      await using server = await startTestServer(database);
      const me = await expectStatus(await server.request("/me", { token }), 200);
      assert.equal(me.user.id, "user-1");
      const tasks = await expectStatus(await server.request("/boards/board-1/tasks"), 200);
      assert.equal(tasks.length, 5);
      assert.equal(tasks.find((t: { id: string }) => t.id === "task-1").title, "Renamed");
      const boards = await expectStatus(await server.request("/boards", { token }), 200);
      assert.deepEqual(boards.map((b: { id: string }) => b.id), ["board-1"]);
    }
  });
});
