/**
 * The nginx configuration in src/deploy/nginx.conf, run by Debian's nginx in front of two real
 * instances: SSE and WebSocket clients connected through it receive every event; when one
 * instance is killed, they reconnect through nginx to the survivor and resume from their
 * cursors — every event exactly once, in order, without sticky sessions.
 */
import assert from "node:assert/strict";
import { fileURLToPath } from "node:url";
import { freePort, withCluster } from "./cluster_helpers.ts";
import {
  expectStatus,
  postgresAvailable,
  redisAvailable,
  skipUnless,
  SseReader,
  waitFor,
} from "./helpers.ts";

const NGINX = ["/usr/sbin/nginx", "/usr/bin/nginx"].find((path) => {
  try {
    return Deno.statSync(path).isFile;
  } catch {
    return false;
  }
});
const CONFIG = fileURLToPath(new URL("../src/deploy/nginx.conf", import.meta.url));

/** Runs nginx (foreground, in a temp prefix) on the repository's config with these upstreams. */
async function startNginx(upstreams: string[]) {
  const dir = await Deno.makeTempDir({ prefix: "liveboard-nginx-" });
  const port = freePort();
  let site = await Deno.readTextFile(CONFIG);
  const servers = upstreams.map((u) => `    server ${u} max_fails=1 fail_timeout=2s;`).join("\n");
  site = site.replace(/( {4}server 127\.0\.0\.1:\d+ [^\n]*\n)+/, servers + "\n")
    .replace("listen 8080;", `listen 127.0.0.1:${port};`);
  assert.ok(site.includes(upstreams[0]) && site.includes(String(port)), "config rewritten");
  await Deno.writeTextFile(`${dir}/liveboard.conf`, site);
  await Deno.writeTextFile(
    `${dir}/nginx.conf`,
    `daemon off;
worker_processes 1;
pid ${dir}/nginx.pid;
error_log ${dir}/error.log warn;
events { worker_connections 1024; }
http {
  access_log off;
  client_body_temp_path ${dir}/body;
  proxy_temp_path ${dir}/proxy;
  fastcgi_temp_path ${dir}/fastcgi;
  uwsgi_temp_path ${dir}/uwsgi;
  scgi_temp_path ${dir}/scgi;
  include ${dir}/liveboard.conf;
}
`,
  );
  const child = new Deno.Command(NGINX!, {
    args: ["-p", dir, "-c", `${dir}/nginx.conf`],
    stdin: "null",
    stdout: "null",
    stderr: "piped",
  }).spawn();
  const url = `http://127.0.0.1:${port}`;
  await waitFor(async () => {
    try {
      return (await fetch(`${url}/healthz`).then((r) => r.body?.cancel())) === undefined;
    } catch {
      return false;
    }
  }, { timeoutMs: 5000, what: "nginx" });
  return {
    url,
    async stop() {
      child.kill("SIGTERM");
      await child.status;
      await child.stderr.cancel();
      await Deno.remove(dir, { recursive: true });
    },
  };
}

/** An SSE client that reconnects with Last-Event-ID whenever its stream ends or fails. */
function resilientSse(url: string, start: number) {
  const ids: number[] = [];
  let stopped = false;
  let current: SseReader | undefined;
  const done = (async () => {
    while (!stopped) {
      try {
        const last = ids.at(-1) ?? start;
        const response = await fetch(url, { headers: { "last-event-id": String(last) } });
        if (response.status !== 200) throw new Error(`status ${response.status}`);
        current = new SseReader(response);
        while (!stopped) {
          const frame = await current.next(60_000);
          if (!frame) break;
          // Board events only: the `connected` message carries the cursor as its id too.
          if (frame.id && frame.data && JSON.parse(frame.data).type !== "connected") {
            ids.push(Number(frame.id));
          }
        }
      } catch {
        // Reconnect below.
      }
      await current?.close();
      if (!stopped) await new Promise((resolve) => setTimeout(resolve, 100));
    }
  })();
  return {
    ids,
    async stop() {
      stopped = true;
      await current?.close();
      await done;
    },
  };
}

/** A WebSocket client that rejoins with its cursor whenever the socket closes. */
function resilientWs(url: string, start: number) {
  const ids: number[] = [];
  let stopped = false;
  let socket: WebSocket | undefined;
  const connect = () => {
    if (stopped) return;
    const ws = socket = new WebSocket(url);
    ws.onmessage = (event) => {
      const message = JSON.parse(event.data);
      if (message.type === "connected") {
        ws.send(JSON.stringify({ type: "join", boardId: "board-1", cursor: ids.at(-1) ?? start }));
      } else if (typeof message.id === "number") ids.push(message.id);
    };
    ws.onerror = () => {};
    ws.onclose = () => setTimeout(connect, 100);
  };
  connect();
  return {
    ids,
    async stop() {
      stopped = true;
      if (socket && socket.readyState < WebSocket.CLOSING) {
        const closed = new Promise((resolve) => socket!.addEventListener("close", resolve));
        socket.close();
        await closed;
      }
    },
  };
}

Deno.test({
  name: "through nginx, SSE and WebSocket clients resume on the survivor when an instance dies",
  ignore: skipUnless(
    postgresAvailable && redisAvailable && NGINX !== undefined,
    "PostgreSQL, Redis and nginx",
  ),
  sanitizeOps: false,
  sanitizeResources: false,
  fn: () =>
    withCluster(2, async (cluster) => {
      const [a, b] = cluster.instances;
      const nginx = await startNginx([a.url, b.url].map((u) => new URL(u).host));
      try {
        const start = await cluster.cursor();
        const ws = nginx.url.replace(/^http/, "ws") + "/ws";
        // Several of each, so that least_conn puts some on each instance.
        const readers = [
          ...Array.from({ length: 4 }, () =>
            resilientSse(`${nginx.url}/boards/board-1/events`, start)),
          ...Array.from({ length: 4 }, () =>
            resilientWs(ws, start)),
        ];
        const write = async (title: string) =>
          expectStatus(
            await fetch(`${nginx.url}/tasks`, {
              method: "POST",
              headers: { "content-type": "application/json" },
              body: JSON.stringify({ title, listId: "list-todo" }),
            }),
            201,
          );
        for (let i = 0; i < 10; i++) await write(`before ${i}`);
        await waitFor(() => readers.every((r) => r.ids.length >= 10), {
          timeoutMs: 8000,
          what: "every reader to see the first writes",
        });
        // Both instances hold some of the readers, so the kill cuts some of them off.
        let spread: number[] = [];
        await waitFor(async () => {
          const counts = await (await fetch(`${nginx.url}/admin/connections`)).json();
          spread = counts.cluster.instances.map((i: { total: number }) => i.total);
          return spread.length === 2 && spread.every((n) => n > 0) &&
            spread[0] + spread[1] === readers.length;
        }, { timeoutMs: 8000, what: "readers on both instances" });
        await a.kill("SIGKILL");
        for (let i = 0; i < 10; i++) await write(`after ${i}`);
        const expected = await cluster.logIds(["board-1"], start);
        assert.equal(expected.length, 20);
        await waitFor(() => readers.every((r) => r.ids.length >= expected.length), {
          timeoutMs: 15_000,
          what: `every reader to catch up (instances held ${spread.join(" and ")} connections)`,
        });
        for (const reader of readers) {
          await reader.stop();
          assert.deepEqual(reader.ids, expected, "every event once, in order");
        }
      } finally {
        await nginx.stop();
      }
    }),
});
