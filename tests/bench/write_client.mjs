/**
 * The write-path load generator: `concurrency` clients, each sending one request at a time over
 * its own keep-alive connection for `durationMs` (after a short warm-up that is not counted).
 * Mode "create" sends `POST <url>` with a new task; mode "move" sends `PATCH <url>/<id>/move`
 * for the given task ids (`ids`), to a random one of `lists` at position 0–3.
 *
 * Usage: node tests/bench/write_client.mjs '<JSON options>'; prints one JSON line:
 * `{ requests, errors, seconds, latencies, firstError }`.
 */
import http from "node:http";
import process from "node:process";

const options = JSON.parse(process.argv[2]);
const { url, headers, mode, concurrency, durationMs, warmupMs = 300 } = options;
const lists = options.lists ?? ["list-todo", "list-in-progress", "list-done"];
const ids = options.ids ?? [];
const target = new URL(url);
const agent = new http.Agent({ keepAlive: true, maxSockets: concurrency });

function send(path, method, body) {
  return new Promise((resolve) => {
    const request = http.request({
      host: target.hostname,
      port: target.port,
      path,
      method,
      agent,
      headers: { ...headers, "content-type": "application/json" },
    }, (response) => {
      let text = "";
      response.setEncoding("utf8");
      response.on("data", (chunk) => text += chunk);
      response.on("end", () => resolve({ status: response.statusCode, text }));
    });
    request.on("error", (error) => resolve({ status: 0, text: String(error) }));
    request.end(body);
  });
}

const pick = (items) => items[Math.floor(Math.random() * items.length)];
const started = performance.now();
const countFrom = started + warmupMs;
const stopAt = countFrom + durationMs;
const latencies = [];
let errors = 0, firstError = "", n = 0;

async function client() {
  while (performance.now() < stopAt) {
    const t0 = performance.now();
    const { status, text } = mode === "create"
      ? await send(
        target.pathname,
        "POST",
        JSON.stringify({ listId: pick(lists), title: `w${n++}` }),
      )
      : await send(
        `${target.pathname}/${pick(ids)}/move`,
        "PATCH",
        JSON.stringify({ listId: pick(lists), position: Math.floor(Math.random() * 4) }),
      );
    const t1 = performance.now();
    if (status < 200 || status > 299) {
      errors++;
      firstError ||= `${status} ${text.slice(0, 200)}`;
    }
    if (t0 >= countFrom && t1 <= stopAt) latencies.push(Math.round((t1 - t0) * 1000) / 1000);
  }
}

await Promise.all(Array.from({ length: concurrency }, client));
agent.destroy();
console.log(JSON.stringify({
  requests: latencies.length,
  errors,
  seconds: durationMs / 1000,
  latencies,
  firstError,
}));
