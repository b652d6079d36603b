/**
 * Chaos: the server killed with SIGKILL in the middle of parallel writes (twice, on the store
 * of the pass: SQLite or PostgreSQL); a full disk and a read-only file system under SQLite; a
 * full disk and a read-only database under PostgreSQL; the wall clock jumping two days forward
 * and back under a running server. After each: every write answered 2xx is in the log, the log
 * is dense and folds (with the browser's BoardModel) to the server's snapshot, retried keys
 * add nothing, failures were 503 `store_unavailable` (never a 500), and cursors hold.
 */
import assert from "node:assert/strict";
import {
  assertDenseLog,
  BoardWorkload,
  checkBoard,
  type DatabaseRef,
  endSessions,
  exists,
  Ext4Disk,
  fillDisk,
  hasCommand,
  isRoot,
  jsonFetch,
  LIBFAKETIME,
  mountTmpfs,
  type OwnDatabase,
  ownPostgresDatabase,
  pgAdmin,
  random,
  retryAll,
  ServerProcess,
  sh,
  sqlRows,
  type Target,
} from "./chaos_helpers.ts";
import {
  postgresAvailable,
  skipUnless,
  SseReader,
  startTestServer,
  TEST_STORE,
  testDatabase,
  waitFor,
  withPostgres,
} from "./helpers.ts";
import { WsClient } from "./ws_helpers.ts";
import type { PostgresStore } from "../src/store/postgres/store.ts";

/** A seed per run (printed with the figures), so a failure can be told apart from another. */
const SEED = Number(Deno.env.get("LIVEBOARD_CHAOS_SEED") ?? Math.floor(Math.random() * 1e9));

Deno.test(
  "writes answered before a SIGKILL survive it, twice: the log stays dense, replays to the snapshot, and retried keys add nothing",
  async () => {
    const started = performance.now();
    const database = await testDatabase(); // the pass's store: SQLite, or PostgreSQL
    const rng = random(SEED);
    let server = await ServerProcess.start(database);
    const figures: string[] = [];
    try {
      const workload = await BoardWorkload.start(server, SEED);
      let answeredBefore = 0;
      for (let kill = 1; kill <= 2; kill++) {
        const target = workload.succeeded().length + 40 + Math.floor(rng() * 60);
        let killed = false;
        const writing = workload.run(server, 24, () => killed);
        await waitFor(() => workload.succeeded().length >= target, {
          timeoutMs: 20_000,
          intervalMs: 2,
          what: `${target} answered writes`,
        });
        killed = true; // No writer sends another; those in flight die with the server.
        Deno.kill(server.pid, "SIGKILL");
        const status = await server.child.status;
        await server.drained;
        assert.equal(status.signal, "SIGKILL");
        await writing;
        const unanswered = workload.pending().length;

        server = await ServerProcess.start(database);
        const afterKill = await checkBoard(server, database, workload);
        const retried = await retryAll(server, workload);
        assert.equal(retried, unanswered);
        const afterRetry = await checkBoard(server, database, workload, { exact: true });
        figures.push(
          `kill ${kill}: ${afterKill.answered - answeredBefore} writes answered, ` +
            `${unanswered} in flight (${afterKill.events - 1 - afterKill.answered} of them had ` +
            `committed), ${afterRetry.events} events in the log after their retries`,
        );
        answeredBefore = afterRetry.answered;
      }
    } finally {
      await server.stop();
      await database.drop();
    }
    console.log(
      `chaos (${TEST_STORE}, seed ${SEED}): ${figures.join("; ")}; ` +
        `${((performance.now() - started) / 1000).toFixed(1)} s`,
    );
  },
);

/** Asserts every answer of `ops` is a 503 `store_unavailable` whose message matches `reason`. */
function assertRefused(ops: BoardWorkload["ops"], reason: RegExp): void {
  assert.ok(ops.length > 0, "writes were tried");
  for (const op of ops) {
    assert.equal(op.status, 503, `${op.kind} ${op.key}: ${op.status} ${JSON.stringify(op.body)}`);
    assert.equal(op.body.error.code, "store_unavailable");
    assert.match(op.body.error.message, reason);
  }
}

/** What still works while writes fail: reads, the whole log, /healthz; a sign-in (a write) is a 503. */
async function assertReadsWork(
  target: Target,
  database: DatabaseRef,
  workload: BoardWorkload,
): Promise<void> {
  await checkBoard(target, database, workload); // snapshot, log from 0, the fold: all reads
  const health = await jsonFetch(target.url, "/healthz");
  const body = await health.json();
  assert.equal(health.status, 200, JSON.stringify(body));
  assert.equal(body.status, "degraded", "healthz says the writes fail");
  assert.equal(body.store, "read_only");
  assert.equal(body.cursor, await assertDenseLog(database));
  const login = await jsonFetch(target.url, "/login", {
    method: "POST",
    json: { email: "alice@example.com", password: "liveboard" },
  });
  assert.equal(login.status, 503);
  assert.equal((await login.json()).error.code, "store_unavailable");
}

/** Writes from `writers` loops until `refused` of them were answered 503 (or 3000 were sent). */
async function writeUntilRefused(
  target: Target,
  workload: BoardWorkload,
  refused: number,
): Promise<BoardWorkload["ops"]> {
  const first = workload.ops.length;
  const count = () => workload.ops.slice(first).filter((op) => op.status === 503).length;
  await workload.run(target, 4, () => count() >= refused || workload.ops.length > first + 3000, {
    description: 2000,
  });
  return workload.ops.slice(first);
}

Deno.test({
  name:
    "a full disk under SQLite answers 503 store_unavailable, keeps reads working, corrupts nothing, and takes writes again once space returns",
  ignore: skipUnless(isRoot, "root (to mount a tmpfs)"),
  fn: async () => {
    const disk = await mountTmpfs("8m");
    try {
      const database = { databaseUrl: `${disk.dir}/liveboard.db`, databaseSchema: "public" };
      await using server = await startTestServer(database);
      const { store } = server.services;
      const workload = await BoardWorkload.start(server, SEED);
      await workload.run(server, 4, () => workload.ops.length >= 40);
      assert.equal(workload.succeeded().length, workload.ops.length);

      const filler = await fillDisk(disk.dir);
      const tried = await writeUntilRefused(server, workload, 20);
      // A write may still fit in pages the WAL already has; every other one is a clear 503.
      const refused = tried.filter((op) => op.status !== undefined && op.status >= 300);
      assertRefused(refused, /disk full/);
      assert.match(store.writeFailure()?.reason ?? "", /disk full/);
      await assertReadsWork(server, database, workload);

      await filler.free();
      const retried = await retryAll(server, workload); // without a restart
      assert.equal(store.writeFailure(), null);
      const { events } = await checkBoard(server, database, workload, { exact: true });
      assert.deepEqual(await sqlRows(database, "PRAGMA integrity_check"), [{
        integrity_check: "ok",
      }]);
      console.log(
        `chaos (sqlite, disk full): ${filler.bytes} bytes of filler, ${
          tried.length - refused.length
        } writes still fitted, ${refused.length} refused with 503 and retried, ${events} events`,
      );
      assert.equal(retried, refused.length);
    } finally {
      await disk.unmount();
    }
  },
});

Deno.test({
  name:
    "a disk that turns read-only under SQLite gets 503 store_unavailable and keeps reads working; after repair and a restart nothing answered is lost",
  ignore: skipUnless(
    isRoot && await hasCommand("mkfs.ext4") && await hasCommand("e2fsck") &&
      exists("/dev/loop-control") && exists("/sys/fs/ext4"),
    "root, loop devices, ext4, mkfs.ext4 and e2fsck (to mount an ext4 image)",
  ),
  fn: async () => {
    const disk = await Ext4Disk.create();
    try {
      const database = { databaseUrl: `${disk.dir}/liveboard.db`, databaseSchema: "public" };
      let workload: BoardWorkload;
      let refused: BoardWorkload["ops"];
      {
        await using server = await startTestServer(database);
        workload = await BoardWorkload.start(server, SEED);
        await workload.run(server, 4, () => workload.ops.length >= 40);
        assert.equal(workload.succeeded().length, workload.ops.length);
        // SQLite runs with synchronous=NORMAL: a commit is not fsynced (the WAL is, at
        // checkpoints), so commits the kernel had not written back when the file system
        // failed would be lost with it. Written back first, every answered write must survive.
        await sh("sync", ["-f", disk.dir]);
        await disk.fail();
        refused = await writeUntilRefused(server, workload, 20);
        assertRefused(refused, /I\/O error|read-only/);
        assert.ok(server.services.store.writeFailure());
        await assertReadsWork(server, database, workload);
      }
      // No process can write there again until it is unmounted: stop, repair, start again.
      await disk.repair();
      assert.deepEqual(await sqlRows(database, "PRAGMA integrity_check"), [{
        integrity_check: "ok",
      }]);
      await using server = await startTestServer(database);
      await checkBoard(server, database, workload);
      assert.equal(await retryAll(server, workload), refused.length);
      const { events } = await checkBoard(server, database, workload, { exact: true });
      console.log(
        `chaos (sqlite, read-only disk): ${refused.length} writes refused with 503, ` +
          `retried after repair and restart; ${events} events`,
      );
    } finally {
      await disk.unmount();
    }
  },
});

/**
 * The owner of PostgreSQL's data directory when the server runs on this machine (then a
 * tablespace can live on a tmpfs the test mounts for it), else null.
 */
const postgresOwner = postgresAvailable
  ? await withPostgres(async (sql) => {
    const [{ data_directory }] = await sql`SHOW data_directory`;
    const { uid, gid } = await Deno.stat(data_directory);
    return { uid, gid };
  }).catch(() => null)
  : null;

Deno.test({
  name:
    "a full disk and a read-only database under PostgreSQL answer 503 store_unavailable, keep reads working, and take writes again without a restart",
  ignore: skipUnless(
    isRoot && postgresOwner !== null,
    "root and a PostgreSQL server on this machine (for a tablespace on a tmpfs)",
  ),
  fn: async () => {
    // The database's own tablespace on a small tmpfs: only its files can fill it, while the
    // server's WAL and every other database stay on their own disk.
    const { uid, gid } = postgresOwner!;
    const disk = await mountTmpfs("24m", `uid=${uid},gid=${gid},mode=0700`);
    let database: OwnDatabase | undefined;
    try {
      database = await ownPostgresDatabase(disk.dir);
      const { name, databaseUrl, databaseSchema } = database;
      await using server = await startTestServer({ databaseUrl, databaseSchema });
      const { store } = server.services;
      const workload = await BoardWorkload.start(server, SEED);
      await workload.run(server, 4, () => workload.ops.length >= 40);
      assert.equal(workload.succeeded().length, workload.ops.length);

      // A full disk: a table or index that must grow cannot (53100).
      const filler = await fillDisk(disk.dir);
      const full = await writeUntilRefused(server, workload, 20);
      const fullRefused = full.filter((op) => op.status !== undefined && op.status >= 300);
      assertRefused(fullRefused, /disk full, 53100/);
      assert.match(store.writeFailure()?.reason ?? "", /disk full/);
      await assertReadsWork(server, database, workload);
      await filler.free();
      assert.equal(await retryAll(server, workload), fullRefused.length);
      assert.equal(store.writeFailure(), null);

      // A read-only database: new sessions begin read-only (25006 on a write), as on a standby.
      await pgAdmin(`ALTER DATABASE ${name} SET default_transaction_read_only = on`);
      await endSessions(name);
      const readOnly = await writeUntilRefused(server, workload, 20);
      // The first may fail with the dropped connection (57P01, 08006), every one with 503.
      assertRefused(readOnly, /unavailable/);
      assert.match(readOnly.at(-1)!.body.error.message, /read-only, 25006/);
      assert.match(store.writeFailure()?.reason ?? "", /read-only/);
      await assertReadsWork(server, database, workload);
      await pgAdmin(`ALTER DATABASE ${name} RESET default_transaction_read_only`);
      await endSessions(name); // back to a writable server: sessions begin afresh
      // Each connection the switch ended fails once (503) when next used; Liveboard then
      // connects afresh. Write until a write succeeds, then read 16 at a time (every pooled
      // connection) until a round answers only 200s; then retry what was refused.
      await waitFor(async () => {
        const op = workload.next();
        await workload.send(server, op);
        return op.status !== undefined && op.status < 300;
      }, { timeoutMs: 10_000, intervalMs: 0, what: "a write to succeed again" });
      let staleReads = 0;
      await waitFor(async () => {
        const statuses = await Promise.all(Array.from({ length: 16 }, async () => {
          const response = await jsonFetch(server.url, `/boards/${workload.boardId}`);
          await response.arrayBuffer();
          return response.status;
        }));
        for (const status of statuses) assert.ok(status === 200 || status === 503);
        staleReads += statuses.filter((status) => status === 503).length;
        return statuses.every((status) => status === 200);
      }, { timeoutMs: 10_000, intervalMs: 0, what: "reads on every pooled connection" });
      await retryAll(server, workload);
      assert.equal(store.writeFailure(), null);
      const { events } = await checkBoard(server, database, workload, { exact: true });
      console.log(
        `chaos (postgres, disk full and read-only): ${fullRefused.length} writes refused ` +
          `with 53100 and ${readOnly.length} with 25006 or a dropped session, all 503, retried ` +
          `without a restart (${staleReads} reads 503 once on a connection the switch back ` +
          `ended); ${events} events`,
      );
    } finally {
      // The tablespace must go before its disk does (else PostgreSQL keeps a dangling one).
      await database?.drop();
      await disk.unmount();
    }
  },
});

Deno.test({
  name:
    "PostgreSQL ending the server's sessions in the middle of parallel writes and reads gets each an answer (2xx or 503), never a hang or a crash, and writes go on",
  ignore: skipUnless(postgresAvailable, "PostgreSQL"),
  fn: async () => {
    // Its own database, so that ending its sessions touches no other test's.
    const database = await ownPostgresDatabase();
    const rng = random(SEED);
    let server: ServerProcess | undefined;
    try {
      server = await ServerProcess.start(database);
      const workload = await BoardWorkload.start(server, SEED);
      let stop = false;
      // Any write not answered within 15 s counts as hung (the writer's batch deadline is
      // 4 × DATABASE_LOCK_TIMEOUT_MS + 5 s: 25 s; a lost connection is noticed at once).
      const writing = workload.run(server, 6, () => stop, { timeoutMs: 15_000 });
      // Snapshots too: each is a read-only transaction (postgres.js `begin`) on the pool.
      const reads: Record<number, number> = {};
      const reading = Promise.all(Array.from({ length: 2 }, async () => {
        while (!stop) {
          const response = await jsonFetch(server!.url, `/boards/${workload.boardId}`, {
            signal: AbortSignal.timeout(15_000),
          });
          await response.arrayBuffer();
          reads[response.status] = (reads[response.status] ?? 0) + 1;
        }
      }));
      let ended = 0;
      for (let i = 0; i < 6; i++) {
        await new Promise((resolve) => setTimeout(resolve, 100 + rng() * 300));
        ended += await endSessions(database.name);
      }
      await new Promise((resolve) => setTimeout(resolve, 300));
      stop = true;
      await Promise.all([writing, reading]);
      assert.equal(workload.timedOut, 0, "no write waited 15 s for its answer");
      assert.deepEqual(Object.keys(reads).filter((status) => !["200", "503"].includes(status)), []);
      for (const op of workload.ops) {
        assert.ok(op.status !== undefined, `${op.kind} ${op.key} was answered`);
        if (op.status >= 300) {
          assert.equal(op.status, 503, JSON.stringify(op.body));
          assert.equal(op.body.error.code, "store_unavailable");
        }
      }
      const refused = workload.pending().length;
      assert.equal(await retryAll(server, workload), refused);
      const { events, answered } = await checkBoard(server, database, workload, { exact: true });
      console.log(
        `chaos (postgres, sessions ended): ${ended} sessions ended 6 times under 6 writers; ` +
          `${answered - refused} writes answered 2xx at once, ${refused} 503 then retried; ` +
          `${events} events; snapshots ${JSON.stringify(reads)}`,
      );
    } catch (error) {
      if (server) console.error(server.output());
      throw error;
    } finally {
      await server?.stop();
      await database.drop();
    }
  },
});

Deno.test({
  name:
    "PostgreSQL ending the connection a store transaction holds gets that read a 503, and the server goes on serving",
  ignore: skipUnless(postgresAvailable, "PostgreSQL"),
  fn: async () => {
    // postgres.js writes the transaction's next statement to the socket it already dropped,
    // from a timer (porsager/postgres#1208): unguarded, that ends the process (the test runner,
    // here), so this test passing is the proof.
    const database = await testDatabase("postgres");
    try {
      await using server = await startTestServer({
        databaseUrl: database.databaseUrl,
        databaseSchema: database.databaseSchema,
      });
      const store = server.services.store as unknown as PostgresStore;
      const started = performance.now();
      const error = await store.db.read((sql) =>
        sql.begin(async (tx) => {
          await tx`SELECT pg_terminate_backend(pg_backend_pid())`.catch(() => {});
          return await tx`SELECT 1`;
        })
      ).then(() => null, (error) => error);
      assert.equal(error?.code, "store_unavailable");
      assert.ok(performance.now() - started < 5000, "answered at once, not after a timeout");
      await new Promise((resolve) => setTimeout(resolve, 50)); // the timer that would have thrown
      const snapshot = await server.request("/boards/board-1");
      assert.equal(snapshot.status, 200);
      await snapshot.arrayBuffer();
    } finally {
      await database.drop();
    }
  },
});

/** Reads an SSE stream's events up to seq `last`; returns their ids (the `connected` skipped). */
async function sseIds(reader: SseReader, last: number): Promise<number[]> {
  const ids: number[] = [];
  while (ids.at(-1) !== last) {
    const frame = await reader.nextData();
    if (frame.json.type === "connected") continue;
    ids.push(Number(frame.id));
    assert.equal(frame.json.id, Number(frame.id));
  }
  return ids;
}

/** Reads a socket's board events up to seq `last`; returns their ids. */
async function wsIds(client: WsClient, last: number): Promise<number[]> {
  const ids: number[] = [];
  while (ids.at(-1) !== last) {
    ids.push((await client.next(undefined, (message) => typeof message.id === "number")).id);
  }
  return ids;
}

/** `from + 1` … `to`. */
const seqs = (from: number, to: number) =>
  Array.from({ length: to - from }, (_, i) => from + 1 + i);

const HOUR = 3600_000;

Deno.test({
  name:
    "a wall clock jumping two days forward and then back under the server leaves cursors, resume and event order intact",
  ignore: skipUnless(LIBFAKETIME !== undefined, "libfaketime (Debian package faketime)"),
  fn: async () => {
    const database = await testDatabase(); // the pass's store
    const clock = await Deno.makeTempFile({ prefix: "liveboard-clock-" });
    const setClock = (offset: string) => Deno.writeTextFile(clock, `${offset}\n`);
    await setClock("+0");
    // libfaketime moves the server's wall clock (Date, the times it stores) when the file
    // changes; CLOCK_MONOTONIC (timers, performance.now) goes on, as in a real clock step.
    const server = await ServerProcess.start(database, {
      LD_PRELOAD: LIBFAKETIME!,
      FAKETIME_TIMESTAMP_FILE: clock,
      FAKETIME_NO_CACHE: "1",
      FAKETIME_DONT_FAKE_MONOTONIC: "1",
    });
    const streams: SseReader[] = [];
    const sockets: WsClient[] = [];
    try {
      const workload = await BoardWorkload.start(server, SEED);
      const { boardId } = workload;
      const events = `${server.url}/boards/${boardId}/events`;
      const live = new SseReader(await fetch(events));
      streams.push(live);
      await live.nextData(); // connected, as of the board's creation (seq 1)

      // Twenty writes at each setting; each phase's events carry the server's clock.
      const cursors: number[] = [1];
      for (const offset of ["+0", "+2d", "-2d"]) {
        await setClock(offset);
        const target = workload.ops.length + 20;
        await workload.run(server, 2, () => workload.ops.length >= target);
        cursors.push(cursors.at(-1)! + 20);
      }
      const [, afterNow, afterForward, last] = cursors;
      const log = await checkBoard(server, database, workload, { exact: true });
      assert.equal(log.events, last);
      const { data } = await (await jsonFetch(server.url, `/boards/${boardId}/updates?since=0`))
        .json();
      const at = (seq: number) => Date.parse(data[seq - 1].at);
      // The server's clock really jumped: forward two days, then back four.
      assert.ok(at(afterNow + 1) - at(afterNow) > 47 * HOUR, "+2d took effect");
      assert.ok(at(afterForward) - at(afterForward + 1) > 95 * HOUR, "-2d took effect");
      assert.ok(at(last) < at(1), "the newest event is stamped before the first");

      // Live: every event once, in seq order, whatever the clock said.
      assert.deepEqual(await sseIds(live, last), seqs(1, last));
      // Resuming from a cursor of each phase gives exactly the events after it, on every transport.
      for (const cursor of [0, afterNow, afterForward]) {
        const resumed = new SseReader(
          await fetch(events, { headers: { "last-event-id": String(cursor) } }),
        );
        streams.push(resumed);
        assert.deepEqual(await sseIds(resumed, last), seqs(cursor, last), `SSE from ${cursor}`);
        const short =
          await (await jsonFetch(server.url, `/boards/${boardId}/updates?since=${cursor}`))
            .json();
        assert.deepEqual(short.data.map((e: { id: number }) => e.id), seqs(cursor, last));
        assert.equal(short.cursor, last);
        const long = await (await jsonFetch(server.url, `/boards/${boardId}/poll?cursor=${cursor}`))
          .json();
        assert.deepEqual(long.data.map((e: { id: number }) => e.id), seqs(cursor, last));
        const socket = new WsClient(server.url.replace(/^http/, "ws") + "/ws");
        sockets.push(socket);
        await socket.next("connected");
        socket.send({ type: "join", boardId, cursor });
        assert.deepEqual(await wsIds(socket, last), seqs(cursor, last), `WebSocket from ${cursor}`);
      }
      // And the next write, made two days in the past, follows on every open stream.
      const op = workload.next();
      await workload.send(server, op);
      assert.equal(op.status! < 300, true);
      for (const stream of streams) assert.deepEqual(await sseIds(stream, last + 1), [last + 1]);
      for (const socket of sockets) assert.deepEqual(await wsIds(socket, last + 1), [last + 1]);
      await checkBoard(server, database, workload, { exact: true });
      console.log(
        `chaos (${TEST_STORE}, clock): ${last + 1} events over +0, +2 days and -2 days; ` +
          `resumed from ${cursors.length - 1} cursors on SSE, WebSocket, short and long polls`,
      );
    } finally {
      for (const socket of sockets) await socket.close();
      for (const stream of streams) await stream.close();
      await server.stop();
      await database.drop();
      await Deno.remove(clock);
    }
  },
});
