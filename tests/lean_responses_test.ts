/**
 * Lean responses: large JSON answers and the client's files go out gzip-compressed when the
 * client accepts it, small answers stay plain, and the client's files carry ETags so a reload of
 * an unchanged file is an empty 304. Read over raw sockets: fetch would decompress on its own.
 */
import assert from "node:assert/strict";
import { gunzipSync } from "node:zlib";
import { startTestServer, type TestServer } from "./helpers.ts";

interface RawAnswer {
  status: number;
  headers: Headers;
  body: Uint8Array;
}

/** One request over its own connection, answered whole (the server closes after it). */
async function rawRequest(
  server: TestServer,
  path: string,
  headers: Record<string, string> = {},
): Promise<RawAnswer> {
  const conn = await Deno.connect({ hostname: "127.0.0.1", port: server.port });
  const lines = [`GET ${path} HTTP/1.1`, `Host: 127.0.0.1:${server.port}`, "Connection: close"];
  for (const [name, value] of Object.entries(headers)) lines.push(`${name}: ${value}`);
  await conn.write(new TextEncoder().encode(lines.join("\r\n") + "\r\n\r\n"));
  const chunks: Uint8Array[] = [];
  const buffer = new Uint8Array(1 << 16);
  for (let n; (n = await conn.read(buffer)) !== null;) chunks.push(buffer.slice(0, n));
  conn.close();
  const all = new Uint8Array(chunks.reduce((sum, chunk) => sum + chunk.length, 0));
  chunks.reduce((offset, chunk) => (all.set(chunk, offset), offset + chunk.length), 0);
  const split = all.findIndex((_, i) =>
    all[i] === 13 && all[i + 1] === 10 && all[i + 2] === 13 && all[i + 3] === 10
  );
  const head = new TextDecoder().decode(all.subarray(0, split)).split("\r\n");
  const answer = new Headers();
  for (const line of head.slice(1)) {
    const colon = line.indexOf(":");
    answer.append(line.slice(0, colon), line.slice(colon + 1).trim());
  }
  let body: Uint8Array = all.subarray(split + 4);
  if (answer.get("transfer-encoding") === "chunked") body = unchunk(body);
  return { status: Number(head[0].split(" ")[1]), headers: answer, body };
}

function unchunk(bytes: Uint8Array): Uint8Array {
  const parts: Uint8Array[] = [];
  let at = 0;
  while (true) {
    const end = bytes.indexOf(13, at);
    const size = parseInt(new TextDecoder().decode(bytes.subarray(at, end)), 16);
    if (!size) break;
    parts.push(bytes.subarray(end + 2, end + 2 + size));
    at = end + 2 + size + 2;
  }
  const out = new Uint8Array(parts.reduce((sum, part) => sum + part.length, 0));
  parts.reduce((offset, part) => (out.set(part, offset), offset + part.length), 0);
  return out;
}

const text = (bytes: Uint8Array) => new TextDecoder().decode(bytes);

Deno.test("a client file goes out gzip-compressed with an ETag, and unchanged it is an empty 304", async () => {
  await using server = await startTestServer();
  const source = await Deno.readTextFile(new URL("../static/js/main.js", import.meta.url));
  const plain = await rawRequest(server, "/js/main.js");
  assert.equal(plain.status, 200);
  assert.equal(plain.headers.get("content-encoding"), null);
  assert.equal(text(plain.body), source);
  assert.match(plain.headers.get("etag") ?? "", /^"[\w-]{22}"$/);
  assert.equal(plain.headers.get("cache-control"), "no-cache");

  const zipped = await rawRequest(server, "/js/main.js", { "accept-encoding": "gzip, br" });
  assert.equal(zipped.headers.get("content-encoding"), "gzip");
  assert.equal(zipped.headers.get("vary"), "Accept-Encoding");
  assert.equal(text(gunzipSync(zipped.body)), source);
  assert.ok(zipped.body.length < plain.body.length / 2, "compressed to less than half");
  const etag = zipped.headers.get("etag")!;
  assert.notEqual(etag, plain.headers.get("etag"), "each encoding has its own ETag");

  const again = await rawRequest(server, "/js/main.js", {
    "accept-encoding": "gzip",
    "if-none-match": `W/"other", ${etag}`,
  });
  assert.equal(again.status, 304);
  assert.equal(again.body.length, 0);
  assert.equal(again.headers.get("etag"), etag);
  const stale = await rawRequest(server, "/js/main.js", { "if-none-match": `"stale"` });
  assert.equal(stale.status, 200);
  assert.equal(text(stale.body), source);
});

Deno.test("a large board snapshot is gzip-compressed when accepted, and the same JSON otherwise", async () => {
  await using server = await startTestServer();
  const token = await server.login("alice@example.com");
  for (let i = 0; i < 30; i++) {
    const created = await server.request("/tasks", {
      method: "POST",
      token,
      json: { listId: "list-todo", title: `Card number ${i} with a title long enough to count` },
    });
    assert.equal(created.status, 201);
    await created.body?.cancel();
  }
  const auth = { authorization: `Bearer ${token}` };
  const plain = await rawRequest(server, "/boards/board-1", auth);
  assert.equal(plain.status, 200);
  assert.equal(plain.headers.get("content-encoding"), null);
  const snapshot = JSON.parse(text(plain.body));
  assert.equal(snapshot.tasks.length >= 30, true);

  const zipped = await rawRequest(server, "/boards/board-1", {
    ...auth,
    "accept-encoding": "gzip",
  });
  assert.equal(zipped.headers.get("content-encoding"), "gzip");
  assert.equal(zipped.headers.get("content-type"), "application/json");
  assert.deepEqual(JSON.parse(text(gunzipSync(zipped.body))), snapshot);
  const refused = await rawRequest(server, "/boards/board-1", {
    ...auth,
    "accept-encoding": "gzip;q=0, br",
  });
  assert.equal(refused.headers.get("content-encoding"), null, "q=0 refuses gzip");
});

Deno.test("small answers stay plain even when the client accepts gzip", async () => {
  await using server = await startTestServer();
  const token = await server.login("alice@example.com");
  const created = await rawRequest(server, "/healthz", { "accept-encoding": "gzip" });
  assert.equal(created.status, 200);
  assert.equal(created.headers.get("content-encoding"), null);
  const icon = await rawRequest(server, "/favicon.svg", { "accept-encoding": "gzip" });
  assert.equal(icon.headers.get("content-encoding"), null, "a file under 1 KiB is sent as is");
  const members = await rawRequest(server, "/boards/board-1/members", {
    authorization: `Bearer ${token}`,
    "accept-encoding": "gzip",
  });
  assert.equal(members.status, 200);
  assert.equal(members.headers.get("content-encoding"), null);
});
