/**
 * The real entry point as a child process: it prints the "listening" line, serves, logs one line
 * per request and per connection, exits 0 on SIGTERM after a graceful shutdown (even with a
 * stream open), and exits 2 naming the setting for a bad value. The compiled binary is built and
 * run where DENORT_BIN provides the runtime offline; elsewhere its inputs are checked.
 */
import assert from "node:assert/strict";
import { fileURLToPath } from "node:url";
import {
  expectStatus,
  type ServerProcess,
  spawnServer,
  startTestServer,
  testDatabase,
} from "./helpers.ts";

const ROOT = fileURLToPath(new URL("..", import.meta.url));
const RUN_FLAGS = ["--allow-net", "--allow-read", "--allow-write", "--allow-env"];

/**
 * Spawns `command args`, waits until it listens, runs `fn`, then sends `signal` and returns the
 * exit code and output. The output is printed when `fn` throws.
 */
async function withChildProcessServer(
  command: string,
  args: string[],
  env: Record<string, string>,
  fn: (server: ServerProcess) => Promise<void>,
  signal: Deno.Signal = "SIGTERM",
): Promise<{ code: number; output: string }> {
  const server = await spawnServer(command, args, { cwd: ROOT, env });
  const { child, drained, output } = server;
  try {
    await fn(server);
  } catch (error) {
    console.error(`--- child output ---\n${output()}\n--- end ---`);
    child.kill("SIGKILL");
    await Promise.all([child.status, drained]);
    throw error;
  }
  child.kill(signal);
  const killer = setTimeout(() => child.kill("SIGKILL"), 10_000);
  const { code } = await child.status;
  clearTimeout(killer);
  await drained;
  return { code, output: output() };
}

async function runToExit(args: string[], env: Record<string, string> = {}) {
  const { code, stdout, stderr } = await new Deno.Command(Deno.execPath(), {
    args,
    cwd: ROOT,
    env,
    stdin: "null",
  }).output();
  const decode = (bytes: Uint8Array) => new TextDecoder().decode(bytes);
  return { code, stdout: decode(stdout), stderr: decode(stderr) };
}

Deno.test("main.ts serves in demo mode and exits 0 on SIGTERM with a stream open", async () => {
  const dir = await Deno.makeTempDir({ prefix: "liveboard-process-" });
  try {
    const args = [
      "run",
      ...RUN_FLAGS,
      "main.ts",
      "--port",
      "0",
      "--demo",
      "--database-url",
      `${dir}/process.db`,
      "--pbkdf2-iterations",
      "1000",
    ];
    let streamText = "";
    let streamEnded: Promise<void> | undefined;
    // A non-UTC zone on the server must not change how times are read.
    const { code, output } = await withChildProcessServer(
      Deno.execPath(),
      args,
      { TZ: "Asia/Tokyo", NO_COLOR: "1" },
      async ({ url, output }) => {
        assert.match(url, /^http:\/\/127\.0\.0\.1:\d+$/);
        assert.match(output(), /in demo mode/);
        assert.match(
          output(),
          /config: PORT=0 HOST=127\.0\.0\.1 DATABASE_URL=\S+process\.db (\S+ )*DEMO=true /,
        );
        const tasks = await expectStatus(await fetch(`${url}/boards/board-1/tasks`), 200);
        assert.equal(tasks.length, 4);
        // Seeded at 09:00:00.000Z: a zoneless 09:00:00 is UTC, not Tokyo's 00:00Z.
        for (const [since, count] of [["2026-01-01T09:00:00", 0], ["2026-01-01T08:59:59", 4]]) {
          const answer = await expectStatus(
            await fetch(`${url}/boards/board-1/updates?since=${since}`),
            200,
          );
          assert.equal(answer.tasks.length, count, String(since));
        }
        const stream = await fetch(`${url}/boards/board-1/events`);
        const reader = stream.body!.pipeThrough(new TextDecoderStream()).getReader();
        while (!streamText.includes('"type":"connected"')) {
          streamText += (await reader.read()).value ?? "";
        }
        // SIGTERM follows; the stream gets its goodbye and ends.
        streamEnded = (async () => {
          while (true) {
            const { done, value } = await reader.read();
            if (done) break;
            streamText += value;
          }
        })();
      },
    );
    await streamEnded;
    assert.match(streamText, /event: disconnect\ndata: \{"type":"disconnect","reason":"shutdown"/);
    assert.equal(code, 0, output);
    assert.match(output, /GET \/boards\/board-1\/tasks 200 /, "one log line per request");
    assert.match(output, /sse \S+ open user=user-guest/, "a log line per connection open");
    assert.match(output, /sse \S+ closed reason=shutdown/, "and close");
    assert.match(output, /stopped/);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("with LOG_FORMAT=json every line is one JSON object; a request's has its id, route, status, time and user", async () => {
  const dir = await Deno.makeTempDir({ prefix: "liveboard-process-" });
  try {
    const args = ["run", ...RUN_FLAGS, "main.ts", "--port=0", `--database-url=${dir}/json.db`];
    const env = { NO_COLOR: "1", LOG_FORMAT: "json", SEED: "true", PBKDF2_ITERATIONS: "1000" };
    const { code, output } = await withChildProcessServer(
      Deno.execPath(),
      args,
      env,
      async ({ url, output }) => {
        const login = await fetch(`${url}/login`, {
          method: "POST",
          headers: { "content-type": "application/json" },
          body: JSON.stringify({ email: "alice@example.com", password: "liveboard" }),
        });
        const { token } = await expectStatus(login, 200);
        const response = await fetch(`${url}/tasks/task-1`, {
          headers: { authorization: `Bearer ${token}`, "x-request-id": "trace-42" },
        });
        assert.equal(response.headers.get("x-request-id"), "trace-42", "echoed");
        await expectStatus(response, 200);
        await new Promise((resolve) => setTimeout(resolve, 100));
        const lines = output().trim().split("\n").map((line) => JSON.parse(line));
        assert.match(lines[0].msg, /^Liveboard listening on http/);
        const request = lines.find((line) => line.requestId === "trace-42");
        assert.ok(request, output());
        assert.equal(request.level, "info");
        assert.equal(request.method, "GET");
        assert.equal(request.route, "/tasks/:id");
        assert.equal(request.status, 200);
        assert.equal(typeof request.durationMs, "number");
        assert.equal(request.userId, "user-1");
        assert.match(request.time, /^\d{4}-\d{2}-\d{2}T/);
      },
    );
    assert.equal(code, 0);
    for (const line of output.trim().split("\n")) JSON.parse(line); // the shutdown lines too
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("main.ts shuts down gracefully on SIGINT too", async () => {
  const dir = await Deno.makeTempDir({ prefix: "liveboard-process-" });
  try {
    const args = ["run", ...RUN_FLAGS, "main.ts", "--port=0", `--database-url=${dir}/int.db`];
    const { code, output } = await withChildProcessServer(
      Deno.execPath(),
      args,
      { NO_COLOR: "1" },
      async ({ url, output }) => {
        assert.match(output(), /in normal mode/);
        const anonymous = await fetch(`${url}/boards`);
        assert.equal(anonymous.status, 401);
        await anonymous.body?.cancel();
      },
      "SIGINT",
    );
    assert.equal(code, 0, output);
    assert.match(output, /stopped/);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("main.ts exits 2 with a message naming the setting for a bad value", async () => {
  for (
    const [args, env, name] of [
      [["--port", "abc"], {}, "PORT"],
      [[], { PORT: "99999" }, "PORT"],
      [["--sse-heartbeat-ms", "1"], {}, "SSE_HEARTBEAT_MS"],
      [["--no-such-flag"], {}, "--no-such-flag"],
    ] as [string[], Record<string, string>, string][]
  ) {
    const { code, stdout, stderr } = await runToExit(
      ["run", ...RUN_FLAGS, "main.ts", ...args],
      env,
    );
    assert.equal(code, 2, `${args.join(" ")}: ${stdout}${stderr}`);
    assert.match(stderr, new RegExp(`^liveboard: .*${name}`));
    assert.doesNotMatch(stdout, /listening/);
  }
});

Deno.test("main.ts exits 2 naming PORT when the port is taken, and HOST when it cannot bind", async () => {
  const taken = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  try {
    const port = String((taken.addr as Deno.NetAddr).port);
    const dir = await Deno.makeTempDir({ prefix: "liveboard-port-" });
    try {
      for (
        const [args, pattern] of [
          [["--port", port], /^liveboard: Cannot listen on port \d+: it is already in use.*PORT/],
          [["--port", "0", "--host", "999.1.1.1"], /^liveboard: Cannot listen on HOST "999.1.1.1"/],
        ] as [string[], RegExp][]
      ) {
        const { code, stderr } = await runToExit(
          ["run", ...RUN_FLAGS, "main.ts", ...args, "--database-url", `${dir}/x.db`],
          {},
        );
        assert.equal(code, 2, stderr);
        assert.match(stderr, pattern);
        assert.doesNotMatch(stderr, /Uncaught/);
      }
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  } finally {
    taken.close();
  }
});

Deno.test("main.ts exits 2 naming DATABASE_URL when PostgreSQL cannot be reached", async () => {
  const closed = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (closed.addr as Deno.NetAddr).port;
  closed.close(); // Nothing listens there now.
  const url = `postgres://liveboard:secret@127.0.0.1:${port}/board`;
  const { code, stderr } = await runToExit(
    ["run", ...RUN_FLAGS, "main.ts", "--port", "0", "--database-url", url],
    {},
  );
  assert.equal(code, 2, stderr);
  assert.match(stderr, /^liveboard: Cannot open DATABASE_URL "postgres:\/\/liveboard:\*\*\*@127/);
  assert.doesNotMatch(stderr, /secret|Uncaught/);
});

const denort = Deno.env.get("DENORT_BIN");

async function compileTaskWords(): Promise<string[]> {
  const deno = JSON.parse(await Deno.readTextFile(`${ROOT}/deno.json`));
  return (deno.tasks.compile as string).split(/\s+/);
}

Deno.test("the compile task bundles static/ and static files resolve from the module", async () => {
  const words = await compileTaskWords();
  const task = words.join(" ");
  assert.equal(words[0], "deno");
  assert.equal(words[1], "compile");
  const include = words.indexOf("--include");
  assert.ok(include > 0 && words[include + 1] === "static", `compile includes static/: ${task}`);
  assert.equal(words.at(-1), "main.ts");
  for (const permission of RUN_FLAGS) assert.ok(words.includes(permission), permission);
  const staticModule = await Deno.readTextFile(`${ROOT}/src/http/static.ts`);
  assert.match(staticModule, /import\.meta\.dirname/, "static files resolve from the module");
  await Deno.stat(`${ROOT}/static/index.html`);
});

if (!denort) {
  console.log(
    "skipped: the compiled binary test needs DENORT_BIN (deno compile cannot download denort offline)",
  );
}

Deno.test({
  name: "the compiled binary serves static files and the API, and exits 0 on SIGTERM",
  ignore: !denort,
}, async () => {
  const words = await compileTaskWords();
  const dir = await Deno.makeTempDir({ prefix: "liveboard-compile-" });
  try {
    const output = `${dir}/liveboard`;
    const outputAt = words.indexOf("--output");
    const compileArgs = words.slice(1);
    compileArgs[outputAt] = output;
    const built = await runToExit(compileArgs, { DENORT_BIN: denort! });
    assert.equal(built.code, 0, built.stderr);
    const { code, output: printed } = await withChildProcessServer(
      output,
      ["--port", "0", "--database-url", `${dir}/binary.db`, "--seed"],
      { NO_COLOR: "1" },
      async ({ url, output }) => {
        assert.match(output(), /in normal mode/);
        const page = await fetch(`${url}/`);
        assert.equal(page.status, 200);
        assert.match(await page.text(), /<html/i);
        const anonymous = await fetch(`${url}/boards/board-1/tasks`);
        assert.equal(anonymous.status, 401);
        await anonymous.body?.cancel();
        await expectStatus(await fetch(`${url}/healthz`), 200);
      },
    );
    assert.equal(code, 0, printed);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test({
  name:
    "main.ts backup copies a serving SQLite database consistently, and the copy serves the same board",
  async fn() {
    const dir = await Deno.makeTempDir({ prefix: "liveboard-backup-" });
    // SQLite in both test passes: the backup is SQLite's (PostgreSQL's is pg_dump).
    const database = await testDatabase("sqlite");
    try {
      await using server = await startTestServer({
        demo: false,
        seed: true,
        databaseUrl: database.databaseUrl,
        databaseSchema: database.databaseSchema,
      });
      const token = await server.login("alice@example.com");
      const made = await expectStatus(
        await server.request("/tasks", {
          method: "POST",
          json: { listId: "list-todo", title: "In the backup" },
          token,
        }),
        201,
      );
      const backup = (args: string[]) =>
        new Deno.Command(Deno.execPath(), {
          args: ["run", ...RUN_FLAGS, "main.ts", "backup", ...args],
          cwd: ROOT,
          env: { NO_COLOR: "1" },
        }).output();
      const copy = `${dir}/nested/copy.db`;
      const done = await backup([copy, "--database-url", server.config.databaseUrl]);
      const said = new TextDecoder().decode(done.stdout) + new TextDecoder().decode(done.stderr);
      assert.equal(done.code, 0, said);
      assert.match(said, /backed up/);
      // A second backup to the same file is refused rather than overwriting it.
      const again = await backup([copy, "--database-url", server.config.databaseUrl]);
      assert.equal(again.code, 1);
      assert.match(new TextDecoder().decode(again.stderr), /exists already/);
      const postgres = await backup([
        `${dir}/pg.db`,
        "--database-url",
        "postgres://x@127.0.0.1/db",
      ]);
      assert.equal(postgres.code, 2);
      assert.match(new TextDecoder().decode(postgres.stderr), /pg_dump/);
      // Restored: a server on the copy has the task and the log.
      await using restored = await startTestServer({ databaseUrl: copy, demo: false });
      const task = await expectStatus(
        await restored.request(`/tasks/${made.id}`, {
          token: await restored.login("alice@example.com"),
        }),
        200,
      );
      assert.equal(task.title, "In the backup");
      assert.equal(await restored.services.store.cursor(), await server.services.store.cursor());
    } finally {
      await Deno.remove(dir, { recursive: true });
      await database.drop();
    }
  },
});
