/**
 * Hostile clients (the hardening issue): 1,000 SSE streams and 1,000 WebSockets that never read
 * are dropped as slow — counted by reason in /metrics, WebSockets with close 4008 — while the
 * server's RSS (its own process: /proc/<pid>/status) stays within a stated budget; floods of 300
 * parallel connection attempts per user stop exactly at each cap; wrong passwords from one
 * address stop at the address's cap; a slow body gets 408 while others are served; slow headers
 * (no timeout in Deno's HTTP server) do not keep others from being served.
 *
 * The figures (RSS, held sockets, latencies) are printed; run with `--filter` to see one.
 */
import assert from "node:assert/strict";
import {
  connectionCounts,
  expectError,
  expectStatus,
  startTestServer,
  waitFor,
  waitForConnections,
} from "./helpers.ts";
import {
  ALICE,
  BOB,
  connectAndSend,
  inBatches,
  type LiveboardProcess,
  mb,
  openFileLimit,
  portsOf,
  readUntilEnd,
  requestHead,
  sample,
  SilentWebSocket,
  sleep,
  spawnLiveboard,
} from "./hostile_helpers.ts";
import { WsClient, wsUrl } from "./ws_helpers.ts";

const CLIENTS = 1000;

/**
 * Budget for the server's peak RSS minus its RSS before the 1,000 non-readers connected, in MB.
 * Measured over several runs (2 shared cores, Deno 2.9.6, SQLite and PostgreSQL, the settings
 * below): SSE +266 to +432 MB, WebSocket +166 to +249 MB. That is ~75–95 KB (SSE) or ~40 KB
 * (WebSocket) per idle connection, plus per client its byte budget (SSE_QUEUE_BYTES 128 KiB;
 * twice WS_BUFFER_BYTES 16 KiB) and what is in flight between the queue and the socket (for SSE
 * ~0.2 MB more per stream). The budgets are about ×2 the worst run: room for allocator and GC
 * timing, yet a server that kept a copy of every event for every non-reader (~80 events of ~30 KB
 * here: 2.4 GB) fails them by far.
 */
const RSS_BUDGET_MB = { sse: 800, websocket: 500 };

/** Events written after every client was dropped: none of them may reach (or wait for) one. */
const WRITES_AFTER_DROP = 20;

/** ~30 KB of UTF-8 (10,000 three-byte characters, the longest description): a large event. */
const bigDescription = (n: number) => `${n} ` + "語".repeat(9_990);

/** The figures of one non-reader run, printed and checked against the budget. */
interface NonReaderRun {
  baseline: number;
  idle: number;
  peak: number;
  dropped: number;
  writes: number;
  /** Bytes of the events written before the last client was dropped (an upper bound). */
  producedBeforeDrop: number;
  /** Bytes of the events written after it. */
  producedAfterDrop: number;
  /** Client connections the server still held once every client was dropped. */
  heldSockets: number;
}

/**
 * Writes ~30 KB events on board-1 until the server has no `transport` connection left, then
 * WRITES_AFTER_DROP more; measures RSS around it. The caller opened the clients already.
 */
async function writeUntilDropped(
  server: LiveboardProcess,
  token: string,
  transport: "sse" | "websocket",
  baseline: number,
  clientPorts: Set<number>,
): Promise<NonReaderRun> {
  const idle = (await server.memory()).rss;
  let writes = 0;
  let produced = 0;
  /** Two writers (two tasks of board-1): the database's turn overlaps the fan-out. */
  const write = async (taskId: string) => {
    const n = writes++;
    const task = await expectStatus(
      await server.request(`/tasks/${taskId}`, {
        method: "PATCH",
        json: { description: bigDescription(n) },
        token,
      }),
      200,
    );
    // The event's JSON is the task, the description it replaced (`before`: as long as this one)
    // and a few fields; the SSE frame or WebSocket header adds less.
    const bytes = (value: unknown) => new TextEncoder().encode(JSON.stringify(value)).length;
    produced += bytes(task) + bytes(task.description) + 400;
  };
  const open = async () =>
    sample(await server.metrics(), "liveboard_connections", { transport: transport });
  while (await open() > 0) {
    // A kernel's socket buffers take ~1.5 MB per loopback connection before the server queues.
    assert.ok(writes < 400, `still ${await open()} ${transport} clients after ${writes} events`);
    for (let i = 0; i < 3; i++) await Promise.all([write("task-1"), write("task-2")]);
  }
  const producedBeforeDrop = produced;
  const last = writes + WRITES_AFTER_DROP;
  while (writes < last) await Promise.all([write("task-1"), write("task-2")]);
  await sleep(200);
  const memory = await server.memory();
  return {
    baseline,
    idle,
    peak: memory.hwm,
    dropped: memory.rss,
    writes,
    producedBeforeDrop,
    producedAfterDrop: produced - producedBeforeDrop,
    heldSockets: await server.connections(clientPorts),
  };
}

/**
 * Starts the server, signs Bob in, and takes the baseline RSS after a few warm-up writes (the
 * peak is measured from there).
 */
async function nonReaderServer(settings: Record<string, string>) {
  const limit = await openFileLimit();
  // This process holds every client socket and the server (which inherits the limit) its end.
  assert.ok(limit >= CLIENTS + 500, `ulimit -n is ${limit}; raise it to ${CLIENTS + 500} or more`);
  const server = await spawnLiveboard(settings);
  try {
    const bob = await server.login(BOB);
    for (let i = 0; i < 3; i++) {
      await expectStatus(
        await server.request("/tasks/task-1", {
          method: "PATCH",
          json: { description: bigDescription(i) },
          token: bob,
        }),
        200,
      );
    }
    const baseline = (await server.memory()).rss;
    await server.resetPeak();
    return { server, bob, baseline };
  } catch (error) {
    await server.stop();
    throw error;
  }
}

function report(
  label: string,
  run: NonReaderRun,
  after: number,
  metrics: Map<string, number>,
) {
  const closes = [...metrics].filter(([key]) => key.startsWith("liveboard_connection_closes"));
  console.log(
    `${label}: RSS baseline ${mb(run.baseline)} MB, ${CLIENTS} idle ${mb(run.idle)} MB, ` +
      `peak ${mb(run.peak)} MB (+${mb(run.peak - run.baseline)}), after the drops ` +
      `${mb(run.dropped)} MB, after the clients left ${mb(after)} MB; ${run.writes} events of ` +
      `~30 KB; ${run.heldSockets} server sockets still held by the dropped clients; closes: ` +
      closes.map(([key, n]) => `${key.replace(/^[^{]*/, "")} ${n}`).join(", "),
  );
}

Deno.test("1,000 SSE clients that never read are dropped as slow, and server memory stays within budget", async () => {
  // A 128 KiB queue budget (default 1 MiB) so that the drops come soon after the kernel's
  // buffers fill, yet a run of two ~30 KB events still fits.
  const { server, bob, baseline } = await nonReaderServer({
    SSE_QUEUE_BYTES: "131072",
    SSE_MAX_STREAMS_PER_USER: String(CLIENTS),
  });
  await using _server = server;
  const head = requestHead(server.port, "/boards/board-1/events", {
    Authorization: `Bearer ${bob}`,
  });
  // Raw sockets that send the request and never read, not even the response headers.
  const clients: Deno.TcpConn[] = [];
  try {
    await inBatches(Array.from({ length: CLIENTS }), 100, async () => {
      clients.push(await connectAndSend(server.port, head));
    });
    await waitFor(
      async () =>
        sample(await server.metrics(), "liveboard_connections", { transport: "sse" }) === CLIENTS,
      { timeoutMs: 30_000, intervalMs: 100, what: `${CLIENTS} open streams` },
    );
    const clientPorts = portsOf(clients);
    const run = await writeUntilDropped(server, bob, "sse", baseline, clientPorts);

    const metrics = await server.metrics();
    const closes = (reason: string) =>
      sample(metrics, "liveboard_connection_closes_total", { transport: "sse", reason });
    assert.equal(closes("slow"), CLIENTS, "every stream was dropped as slow");
    assert.equal(closes("client_gone") + closes("internal_error"), 0, "and for no other reason");
    await expectStatus(await server.request("/healthz"), 200);

    // A dropped stream ends without a goodbye: the client, reading at last, gets what the
    // kernel held, then the end of the connection — and none of the events written after the
    // drops (no queue kept for it).
    const ends = await inBatches(clients, 100, (conn) => readUntilEnd(conn, 20_000));
    const byEnd = tally(ends.map((end) => end.end));
    assert.equal(byEnd.get("timeout") ?? 0, 0, "every connection ended once read");
    const mostRead = Math.max(...ends.map((end) => end.bytes));
    assert.ok(
      mostRead < run.producedBeforeDrop + run.producedAfterDrop / 2,
      `a client read ${mostRead} bytes; ${run.producedBeforeDrop} were written before the drops`,
    );
    for (const conn of clients) conn.close();
    await waitFor(async () => await server.connections(clientPorts) === 0, {
      timeoutMs: 10_000,
      what: "the server's sockets to close",
    });
    const after = (await server.memory()).rss;
    report("SSE", run, after, metrics);
    const meanRead = ends.reduce((sum, end) => sum + end.bytes, 0) / ends.length;
    console.log(
      `SSE: the connections ended by ${JSON.stringify([...byEnd])}; ${mb(meanRead)} MB read each`,
    );
    assert.ok(
      run.peak - run.baseline <= RSS_BUDGET_MB.sse * 1024 * 1024,
      `peak RSS grew by ${mb(run.peak - run.baseline)} MB (budget ${RSS_BUDGET_MB.sse})`,
    );
  } finally {
    for (const conn of clients) {
      try {
        conn.close();
      } catch {
        // already closed
      }
    }
  }
});

Deno.test("1,000 WebSockets that never read are closed with 4008 (slow), and server memory stays within budget", async () => {
  // A 16 KiB send budget (default 1 MiB): a socket over twice it is slow. The heartbeat is set
  // long so that every close here is the send-buffer verdict, not the ping's.
  const { server, bob, baseline } = await nonReaderServer({
    WS_BUFFER_BYTES: "16384",
    WS_HEARTBEAT_MS: "120000",
    WS_MAX_CONNECTIONS_PER_USER: String(CLIENTS),
  });
  await using _server = server;
  const alice = await server.login(ALICE);
  // The handshake by hand, a join, then no reads.
  const clients: SilentWebSocket[] = [];
  try {
    await inBatches(Array.from({ length: CLIENTS }), 100, async () => {
      const client = await SilentWebSocket.connect(server.port, { Authorization: `Bearer ${bob}` });
      clients.push(client);
      await client.sendText(JSON.stringify({ type: "join", boardId: "board-1" }));
    });
    await waitFor(async () => {
      const counts = await expectStatus(
        await server.request("/admin/connections", { token: alice }),
        200,
      );
      return counts.rooms["board-1"]?.sockets === CLIENTS;
    }, { timeoutMs: 30_000, intervalMs: 100, what: `${CLIENTS} sockets in the room` });
    const clientPorts = portsOf(clients.map((client) => client.conn));
    const run = await writeUntilDropped(server, bob, "websocket", baseline, clientPorts);

    const metrics = await server.metrics();
    const closes = (reason: string) =>
      sample(metrics, "liveboard_connection_closes_total", { transport: "websocket", reason });
    assert.equal(closes("slow"), CLIENTS, "every socket was closed as slow");
    assert.equal(
      closes("client_gone") + closes("heartbeat_timeout") + closes("internal_error"),
      0,
      "and for no other reason",
    );

    // Reading at last, each client gets its backlog, then the close frame 4008 — and none of the
    // events written after the close.
    const results = await inBatches(clients, 100, (client) => client.readUntilClose());
    const codes = tally(results.map((result) => result.close?.code));
    assert.deepEqual([...codes], [[4008, CLIENTS]]);
    for (const { close } of results) assert.match(close!.text, /^slow: .*\(reconnect\)$/);
    const mostRead = Math.max(...results.map((result) => result.dataBytes));
    assert.ok(
      mostRead < run.producedBeforeDrop + run.producedAfterDrop / 2,
      `a client read ${mostRead} bytes; ${run.producedBeforeDrop} were written before the closes`,
    );
    for (const client of clients) client.close();
    await waitFor(async () => await server.connections(clientPorts) === 0, {
      timeoutMs: 10_000,
      what: "the server's sockets to close",
    });
    const after = (await server.memory()).rss;
    report("WebSocket", run, after, metrics);
    assert.ok(
      run.peak - run.baseline <= RSS_BUDGET_MB.websocket * 1024 * 1024,
      `peak RSS grew by ${mb(run.peak - run.baseline)} MB (budget ${RSS_BUDGET_MB.websocket})`,
    );
  } finally {
    for (const client of clients) client.close();
  }
});

/** How a WebSocket attempt ended: "connected", or its close code. */
async function outcome(client: WsClient): Promise<"connected" | number> {
  const connected = await client.next("connected", undefined, 15_000).then(
    () => "connected" as const,
    () => undefined,
  );
  return connected ?? (await client.closed).code;
}

/** Counts equal values. */
function tally<T>(values: T[]): Map<T, number> {
  const counts = new Map<T, number>();
  for (const value of values) counts.set(value, (counts.get(value) ?? 0) + 1);
  return counts;
}

Deno.test("300 WebSockets, 300 SSE streams and 300 long polls at once from one user: exactly the caps get in, the rest are refused, and the counts return to 0", async () => {
  const FLOOD = 300;
  await using server = await startTestServer({ demo: false, seed: true, adminEmails: [ALICE] });
  const { wsMaxConnectionsPerUser, sseMaxStreamsPerUser, longPollMaxPerUser } = server.config;
  const bob = await server.login(BOB);
  const alice = await server.login(ALICE);
  const auth = { authorization: `Bearer ${bob}` };
  const { cursor } = await expectStatus(
    await server.request("/boards/board-1", { token: bob }),
    200,
  );

  let pollsAnswered = 0;
  const sockets = Array.from({ length: FLOOD }, () => new WsClient(wsUrl(server), auth));
  const [wsOutcomes, streams, polls] = await Promise.all([
    Promise.all(sockets.map(outcome)),
    Promise.all(
      Array.from(
        { length: FLOOD },
        () => fetch(`${server.url}/boards/board-1/events`, { headers: auth }),
      ),
    ),
    // The refused polls answer at once; the parked ones only when an event comes (below).
    (async () => {
      const pending = Array.from(
        { length: FLOOD },
        () =>
          fetch(`${server.url}/boards/board-1/poll?cursor=${cursor}`, { headers: auth }).then(
            (response) => {
              pollsAnswered++;
              return response;
            },
          ),
      );
      await waitFor(() => pollsAnswered >= FLOOD - longPollMaxPerUser, {
        timeoutMs: 15_000,
        what: "the refused polls",
      });
      const counts = await connectionCounts(server, alice);
      assert.equal(counts.byTransport.longpoll, longPollMaxPerUser, "parked polls");
      await expectStatus(
        await server.request("/tasks", {
          method: "POST",
          json: { listId: "list-todo", title: "Wakes the parked polls" },
          token: alice,
        }),
        201,
      );
      return await Promise.all(pending);
    })(),
  ]);

  try {
    // WebSockets: the cap is accepted; every other gets `error` too_many_connections, close 4029.
    assert.deepEqual(
      tally(wsOutcomes),
      new Map<string | number, number>([
        ["connected", wsMaxConnectionsPerUser],
        [4029, FLOOD - wsMaxConnectionsPerUser],
      ]),
    );
    for (const [i, client] of sockets.entries()) {
      if (wsOutcomes[i] !== 4029) continue;
      assert.equal(client.received[0]?.code, "too_many_connections");
    }
    // SSE: the cap gets streams, the rest 429 too_many_streams.
    assert.deepEqual(
      tally(streams.map((response) => response.status)),
      new Map([[200, sseMaxStreamsPerUser], [429, FLOOD - sseMaxStreamsPerUser]]),
    );
    for (const response of streams.filter((r) => r.status === 429)) {
      await expectError(response, 429, "too_many_streams");
    }
    // Long polls: the cap parked (then answered with the event), the rest 429 too_many_polls.
    assert.deepEqual(
      tally(polls.map((response) => response.status)),
      new Map([[200, longPollMaxPerUser], [429, FLOOD - longPollMaxPerUser]]),
    );
    for (const response of polls) {
      if (response.status === 429) await expectError(response, 429, "too_many_polls");
      else assert.equal((await expectStatus(response, 200)).data.length, 1);
    }
    const during = await connectionCounts(server, alice);
    assert.equal(during.byTransport.websocket, wsMaxConnectionsPerUser);
    assert.equal(during.byTransport.sse, sseMaxStreamsPerUser);
    console.log(
      `flood of ${FLOOD} each: WebSocket ${wsMaxConnectionsPerUser} in, the rest closed 4029; ` +
        `SSE ${sseMaxStreamsPerUser} streams, the rest 429; long polls ${longPollMaxPerUser} ` +
        `parked, the rest 429`,
    );
  } finally {
    await Promise.all(sockets.map((client) => client.close()));
    await Promise.all(
      streams.map((response) => response.bodyUsed ? undefined : response.body?.cancel()),
    );
  }
  await waitForConnections(server, 0, alice);
  // The places are free again.
  await using again = await WsClient.open(server, { token: bob });
  assert.equal(again.received[0].type, "connected");
});

Deno.test("in demo mode every anonymous visitor is the one guest: one address's flood of streams uses up the guest's cap for all", async () => {
  await using server = await startTestServer({ demo: true });
  const streams = await Promise.all(
    Array.from({ length: 100 }, () => fetch(`${server.url}/boards/board-1/events`)),
  );
  try {
    const statuses = tally(streams.map((response) => response.status));
    assert.equal(statuses.get(200), server.config.sseMaxStreamsPerUser);
    assert.equal(statuses.get(429), 100 - server.config.sseMaxStreamsPerUser);
    // Caps are per user, not per address: a visitor behind the proxy from elsewhere is refused.
    await expectError(
      await server.request("/boards/board-1/events", {
        headers: { "x-forwarded-for": "198.51.100.7" },
      }),
      429,
      "too_many_streams",
    );
  } finally {
    await Promise.all(streams.map((response) => response.body?.cancel()));
  }
  await waitForConnections(server, 0);
});

Deno.test("300 wrong passwords at once for 300 accounts from one address: 30 are checked, the rest get 429, and another address still signs in", async () => {
  await using server = await startTestServer({ demo: false, seed: true });
  const answers = await Promise.all(
    Array.from({ length: 300 }, (_, i) =>
      server.request("/login", {
        method: "POST",
        json: { email: `guess-${i}@example.com`, password: "not the password" },
      })),
  );
  const statuses = tally(answers.map((response) => response.status));
  // The address's free tries over all accounts (README, Limits: 30 within 15 minutes).
  assert.deepEqual(statuses, new Map([[401, 30], [429, 270]]));
  for (const response of answers) {
    if (response.status === 429) await expectError(response, 429, "too_many_logins");
    else await response.body?.cancel();
  }
  // The right password from that address waits too; from another address it is checked.
  await expectError(
    await server.request("/login", {
      method: "POST",
      json: { email: BOB, password: "liveboard" },
    }),
    429,
    "too_many_logins",
  );
  await expectStatus(
    await server.request("/login", {
      method: "POST",
      headers: { "x-forwarded-for": "198.51.100.7" },
      json: { email: BOB, password: "liveboard" },
    }),
    200,
  );
});

/** Times `count` GET /healthz one after another; returns the slowest, in ms. */
async function slowestHealthCheck(server: LiveboardProcess, count: number, gapMs: number) {
  let slowest = 0;
  for (let i = 0; i < count; i++) {
    const started = performance.now();
    await expectStatus(await server.request("/healthz"), 200);
    slowest = Math.max(slowest, performance.now() - started);
    await sleep(gapMs);
  }
  return slowest;
}

/** A request must be answered this fast while the attack runs (generous: a shared 2-core CI). */
const PROMPT_MS = 2000;

Deno.test("200 bodies sent a byte at a time all get 408 body_timeout, and the server answers others meanwhile", async () => {
  const SLOW = 200;
  const bodyTimeoutMs = 1000;
  await using server = await spawnLiveboard({ BODY_TIMEOUT_MS: String(bodyTimeoutMs) });
  const bob = await server.login(BOB);
  // Each promises 1,000 bytes and sends one every 100 ms: it would take 100 s.
  const head = `POST /tasks HTTP/1.1\r\nHost: 127.0.0.1:${server.port}\r\n` +
    `Authorization: Bearer ${bob}\r\nContent-Type: application/json\r\n` +
    `Content-Length: 1000\r\n\r\n{"title":"`;
  const started = Date.now();
  const conns = await inBatches(
    Array.from({ length: SLOW }),
    50,
    () => connectAndSend(server.port, head),
  );
  const answered = new Set<Deno.TcpConn>();
  // Never wait for good: a read still pending then fails (its connection is closed).
  const deadline = setTimeout(() => conns.forEach((conn) => conn.close()), 30_000);
  const trickle = setInterval(() => {
    for (const conn of conns) {
      if (!answered.has(conn)) conn.write(new TextEncoder().encode("x")).catch(() => {});
    }
  }, 100);
  try {
    const readAnswer = async (conn: Deno.TcpConn) => {
      const buffer = new Uint8Array(8192);
      let text = "";
      while (!/\r\n\r\n[\s\S]*"body_timeout"/.test(text)) {
        const n = await conn.read(buffer);
        if (n === null) break;
        text += new TextDecoder().decode(buffer.subarray(0, n));
      }
      answered.add(conn);
      return { text, ms: Date.now() - started };
    };
    const [answers, slowest, created] = await Promise.all([
      Promise.all(conns.map(readAnswer)),
      slowestHealthCheck(server, 20, 50),
      (async () => {
        const begun = performance.now();
        await expectStatus(
          await server.request("/tasks", {
            method: "POST",
            json: { listId: "list-todo", title: "Not held up" },
            token: bob,
          }),
          201,
        );
        return performance.now() - begun;
      })(),
    ]);
    clearInterval(trickle);
    for (const { text, ms } of answers) {
      assert.match(text, /^HTTP\/1\.1 408 /);
      assert.match(text, /"code":"body_timeout"/);
      assert.ok(ms >= bodyTimeoutMs - 100, `answered after ${ms} ms`);
    }
    const latest = Math.max(...answers.map((answer) => answer.ms));
    assert.ok(slowest < PROMPT_MS, `a health check took ${slowest.toFixed(0)} ms`);
    assert.ok(created < PROMPT_MS, `a normal POST took ${created.toFixed(0)} ms`);
    // Reported, not asserted: Deno's HTTP server keeps a connection until its declared body has
    // arrived, even after the 408 (reported as a defect with this test).
    await sleep(1000);
    const held = await server.connections(portsOf(conns));
    console.log(
      `slow bodies: ${SLOW} answered 408 within ${latest} ms (timeout ${bodyTimeoutMs} ms); ` +
        `health checks meanwhile at most ${slowest.toFixed(0)} ms, a POST ` +
        `${created.toFixed(0)} ms; 1 s after their 408 the server still held ${held} of them`,
    );
  } finally {
    clearInterval(trickle);
    clearTimeout(deadline);
    for (const conn of conns) {
      try {
        conn.close();
      } catch {
        // closed at the deadline
      }
    }
  }
});

Deno.test("200 clients that never finish their headers do not keep the server from answering others", async () => {
  const SLOW = 200;
  const HOLD_MS = 5000;
  await using server = await spawnLiveboard({});
  const head = `GET /healthz HTTP/1.1\r\nHost: 127.0.0.1:${server.port}\r\n`;
  const conns = await inBatches(
    Array.from({ length: SLOW }),
    50,
    () => connectAndSend(server.port, head),
  );
  // Listen for the server ending any of them (it does not answer: the headers never end).
  const endings = Promise.all(conns.map((conn) => readUntilEnd(conn, HOLD_MS)));
  let line = 0;
  const trickle = setInterval(() => {
    line++;
    for (const conn of conns) {
      conn.write(new TextEncoder().encode(`X-Slow-${line}: y\r\n`)).catch(() => {});
    }
  }, 500);
  try {
    const slowest = await slowestHealthCheck(server, Math.floor(HOLD_MS / 250), 200);
    assert.ok(slowest < PROMPT_MS, `a health check took ${slowest.toFixed(0)} ms`);
    const ended = (await endings).filter((end) => end.end !== "timeout" || end.bytes > 0).length;
    const held = await server.connections(portsOf(conns));
    clearInterval(trickle);
    // Deno's HTTP server has no header timeout (README, Limits: the proxy's job), so this is a
    // figure, not an assertion: a future runtime that cuts them would be welcome.
    console.log(
      `slow headers: ${SLOW - ended} of ${SLOW} still open after ${HOLD_MS / 1000} s ` +
        `(server sockets held: ${held}); health checks meanwhile at most ${slowest.toFixed(0)} ms`,
    );
  } finally {
    clearInterval(trickle);
    for (const conn of conns) conn.close();
  }
});
