/** Operations endpoints and static files: /healthz, the placeholder page, HEAD and 404s. */
import assert from "node:assert/strict";
import { expectError, expectStatus, startTestServer, TEST_STORE } from "./helpers.ts";

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
  const head = await server.request("/", { method: "HEAD" });
  assert.equal(head.status, 200);
  assert.equal(head.body, null);
  assert.equal(head.headers.get("content-length"), String(new TextEncoder().encode(html).length));
  const headJson = await server.request("/boards/board-1/tasks", { method: "HEAD" });
  const getJson = await (await server.request("/boards/board-1/tasks")).arrayBuffer();
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

Deno.test("a body that does not arrive within BODY_TIMEOUT_MS gets 408 and its connection is let go", async () => {
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
