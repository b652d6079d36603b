/** Operations endpoints and static files: /healthz, the placeholder page, HEAD and 404s. */
import assert from "node:assert/strict";
import {
  expectError,
  expectStatus,
  openSse,
  startTestServer,
  TEST_STORE,
  waitFor,
} from "./helpers.ts";

Deno.test("GET /healthz answers ok with the cursor and transports, without a session", async () => {
  await using server = await startTestServer({ demo: false, transports: ["sse", "poll"] });
  const { relay, ...health } = await expectStatus(await server.request("/healthz"), 200);
  // On PostgreSQL the bus is fed by the relay, even on one instance (README, Decisions).
  if (TEST_STORE === "postgres") {
    assert.deepEqual(relay, { delivered: 0, lag: 0, waiting: 0, filled: 0 });
  } else assert.equal(relay, undefined);
  assert.deepEqual(health, {
    status: "ok",
    instanceId: server.config.instanceId,
    cursor: 0,
    store: "ok",
    redis: "off",
    transports: ["sse", "poll"],
  });
});

Deno.test("GET /healthz answers 503 when the store does not answer, so a balancer moves on", async () => {
  await using server = await startTestServer();
  await server.services.store.close();
  const health = await expectStatus(await server.request("/healthz"), 503);
  assert.equal(health.status, "unavailable");
  assert.equal(health.store, "unreachable");
});

Deno.test("the page is served from static/, also for HEAD with the GET length", async () => {
  await using server = await startTestServer();
  const page = await server.request("/");
  assert.equal(page.status, 200);
  assert.equal(page.headers.get("content-type"), "text/html; charset=utf-8");
  const html = await page.text();
  assert.match(html, /<html/i);
  assert.equal(html, await Deno.readTextFile(new URL("../static/index.html", import.meta.url)));
  const byName = await server.request("/index.html");
  assert.equal(byName.headers.get("content-type"), "text/html; charset=utf-8");
  assert.equal(await byName.text(), html);
  // Plain answers (fetch asks for gzip by default, and decompresses on its own).
  const identity = { "accept-encoding": "identity" };
  const head = await server.request("/", { method: "HEAD", headers: identity });
  assert.equal(head.status, 200);
  assert.equal(head.body, null);
  assert.equal(head.headers.get("content-length"), String(new TextEncoder().encode(html).length));
  const headJson = await server.request("/boards/board-1/tasks", {
    method: "HEAD",
    headers: identity,
  });
  const getJson = await (await server.request("/boards/board-1/tasks", { headers: identity }))
    .arrayBuffer();
  assert.equal(headJson.headers.get("content-length"), String(getJson.byteLength));
  for (const path of ["/missing.js", "/%2e%2e/deno.json", "/static/../deno.json", "/.env"]) {
    await expectError(await server.request(path), 404, "not_found");
  }
});

Deno.test("a static path too long for the file system is a JSON 404, not a 500", async () => {
  await using server = await startTestServer();
  // One segment of 256 bytes or more makes the file system answer "File name too long".
  for (
    const path of [
      `/${"a".repeat(253)}.js`,
      `/${"b".repeat(300)}/x.js`,
      `/${"c/".repeat(3000)}x.js`,
    ]
  ) {
    await expectError(await server.request(path), 404, "not_found");
  }
});

Deno.test("an unknown method or route answers a JSON 404", async () => {
  await using server = await startTestServer();
  await expectError(await server.request("/tasks/task-1", { method: "PUT" }), 404, "not_found");
  await expectError(await server.request("/nothing/here"), 404, "not_found");
});

// Deno's HTTP server keeps the TCP connection of a request whose body is still being read until
// the client closes it or sends the rest (a streamed 408 that fails did not change that); the
// README's proxy (client_body_timeout) closes it. What Liveboard owns is the answer, in time.
Deno.test("a body that does not arrive within BODY_TIMEOUT_MS gets 408 in time", async () => {
  await using server = await startTestServer({ bodyTimeoutMs: 300 });
  const { port } = new URL(server.url);
  const connection = await Deno.connect({ hostname: "127.0.0.1", port: Number(port) });
  const started = Date.now();
  // A slowloris: headers promise 100 bytes, then 10 arrive and nothing more.
  await connection.write(new TextEncoder().encode(
    "POST /tasks HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n" +
      'Content-Length: 100\r\n\r\n{"title":',
  ));
  const reply = new Uint8Array(4096);
  const n = await connection.read(reply);
  const text = new TextDecoder().decode(reply.subarray(0, n ?? 0));
  assert.match(text, /^HTTP\/1\.1 408/);
  assert.match(text, /"code":"body_timeout"/);
  const elapsed = Date.now() - started;
  assert.ok(elapsed >= 250 && elapsed < 3000, `answered after ${elapsed} ms`);
  connection.close();
});

Deno.test("every answer carries an X-Request-Id: the client's when usable, else a new one", async () => {
  await using server = await startTestServer();
  const chosen = await server.request("/healthz", { headers: { "x-request-id": "lb-7f3a" } });
  assert.equal(chosen.headers.get("x-request-id"), "lb-7f3a");
  await chosen.body?.cancel();
  for (const headers of [{}, { "x-request-id": "not usable!" }] as Record<string, string>[]) {
    const fresh = await server.request("/healthz", { headers });
    assert.match(fresh.headers.get("x-request-id") ?? "", /^[0-9a-f-]{36}$/);
    await fresh.body?.cancel();
  }
  const refused = await server.request("/nothing/here");
  assert.ok(refused.headers.get("x-request-id"), "errors too");
  await refused.body?.cancel();
});

/** Parses the Prometheus text exposition format: the samples, checked against their # TYPE. */
function parseExposition(text: string): Map<string, number> {
  const types = new Map<string, string>();
  const samples = new Map<string, number>();
  for (const line of text.split("\n")) {
    if (line === "") continue;
    const comment = /^# (HELP|TYPE) ([a-zA-Z_:][a-zA-Z0-9_:]*) (.*)$/.exec(line);
    if (comment) {
      if (comment[1] === "TYPE") {
        assert.match(comment[3], /^(counter|gauge|histogram|summary|untyped)$/, line);
        types.set(comment[2], comment[3]);
      }
      continue;
    }
    const sample =
      /^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{(?:[a-zA-Z_][a-zA-Z0-9_]*="(?:[^"\\]|\\.)*",?)*\})? (\S+)( \d+)?$/
        .exec(line);
    assert.ok(sample, `not a sample line: ${line}`);
    const [, name, labels = "", value] = sample;
    const family = name.replace(/_(bucket|sum|count|total)$/, "");
    assert.ok(types.has(name) || types.has(family), `no # TYPE for ${name}`);
    const number = Number(value.replace("+Inf", "Infinity"));
    assert.ok(!Number.isNaN(number), line);
    samples.set(name + labels, number);
  }
  return samples;
}

Deno.test("GET /metrics is the Prometheus text format, for METRICS_TOKEN and admins only", async () => {
  await using server = await startTestServer({
    demo: false,
    seed: true,
    metricsToken: "scrape-secret",
    adminEmails: ["alice@example.com"],
  });
  const alice = await server.login("alice@example.com");
  const bob = await server.login("bob@example.com");
  const stream = await openSse(server, "/boards/board-1/events", {
    authorization: `Bearer ${bob}`,
  });
  await stream.nextData();
  await expectStatus(
    await server.request("/tasks", {
      method: "POST",
      json: { listId: "list-todo", title: "Counted" },
      token: bob,
    }),
    201,
  );
  await stream.nextData(); // delivered over SSE
  const response = await server.request("/metrics", { token: "scrape-secret" });
  assert.equal(response.status, 200);
  assert.match(response.headers.get("content-type") ?? "", /^text\/plain/);
  const samples = parseExposition(await response.text());
  assert.equal(samples.get('liveboard_connections{transport="sse"}'), 1);
  assert.ok(samples.get("liveboard_events_committed_total")! >= 1);
  assert.ok(samples.get('liveboard_events_delivered_total{transport="sse"}')! >= 1);
  assert.equal(
    samples.get('liveboard_http_requests_total{route="/tasks",method="POST",status="201"}'),
    1,
  );
  assert.equal(samples.get("liveboard_store_up"), 1);
  assert.ok(samples.get("liveboard_event_fanout_seconds_count")! >= 1, "fan-out timed");
  assert.ok(samples.has('liveboard_event_fanout_seconds_bucket{le="0.01"}'));
  assert.ok(samples.get("liveboard_process_resident_memory_bytes")! > 0);
  await stream.close();
  // Closes are counted by reason once the registry has let the stream go.
  await waitFor(async () => {
    const again = parseExposition(
      await (await server.request("/metrics", { token: alice })).text(),
    );
    return (again.get('liveboard_connection_closes_total{transport="sse",reason="client_gone"}') ??
      0) >= 1;
  }, { what: "the close counted" });
  // An admin's session may read it; others may not.
  const byAdmin = await server.request("/metrics", { token: alice });
  assert.equal(byAdmin.status, 200);
  await byAdmin.body?.cancel();
  await expectError(await server.request("/metrics", { token: bob }), 403, "forbidden");
  await expectError(
    await server.request("/metrics", { token: "wrong-secret" }),
    401,
    "unauthorized",
  );
  await expectError(await server.request("/metrics"), 401, "unauthorized");
});

Deno.test("the page preloads exactly the modules main.js imports, so they load in one round trip", async () => {
  const root = new URL("../static", import.meta.url).pathname;
  const imported = new Set<string>();
  const walk = async (path: string) => {
    const text = await Deno.readTextFile(root + path);
    for (const match of text.matchAll(/^\s*(?:import|export)\s[^;]*?from\s+"(\.[^"]+)"/gms)) {
      const target = new URL(match[1], `file://${path}`).pathname;
      if (imported.has(target)) continue;
      imported.add(target);
      await walk(target);
    }
  };
  await walk("/js/main.js");
  const html = await Deno.readTextFile(`${root}/index.html`);
  const preloaded = [...html.matchAll(/<link rel="modulepreload" href="([^"]+)"/g)].map((m) =>
    m[1]
  );
  assert.deepEqual(preloaded.sort(), [...imported].sort());
  assert.ok(imported.size > 20, "the walk found the client's modules");
});
