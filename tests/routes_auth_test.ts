/**
 * Every board route needs a session: each answers 401 `unauthorized` to a request without one
 * (the routes are read from the router itself, so a new route under a prefix the authentication
 * middleware does not cover fails here instead of answering 500).
 */
import assert from "node:assert/strict";
import { boardRoutes } from "../src/http/routes_boards.ts";
import type { Services } from "../src/http/context.ts";
import { expectError, startTestServer } from "./helpers.ts";

Deno.test("every board route answers 401 unauthorized without a session", async () => {
  // The handlers are not run: only the route table is read.
  const routes = boardRoutes({ actions: {} } as unknown as Services).routes;
  assert.ok(routes.length > 20, "the route table was read");
  await using server = await startTestServer({ demo: false, seed: true });
  for (const { method, path } of routes) {
    const concrete = path.replace(/:[a-zA-Z]+/g, (name) => name === ":seq" ? "1" : "x");
    const init: RequestInit = method === "GET" || method === "DELETE"
      ? { method }
      : { method, body: "{}", headers: { "content-type": "application/json" } };
    const response = await server.request(concrete, init);
    assert.equal(response.status, 401, `${method} ${path}`);
    await expectError(response, 401, "unauthorized");
  }
});
