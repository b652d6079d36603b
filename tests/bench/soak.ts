/**
 * `deno task soak`: the soak test (not in CI). It starts a Liveboard server process of its own
 * (normal mode, a fresh SQLite file in a temp directory, or with `--store postgres` a fresh
 * PostgreSQL schema), signs up users, creates boards and makes the users members, then holds
 * `--clients` clients spread over the boards and mixed evenly over the four transports
 * (WebSocket, SSE, long polling, short polling) in Node child processes (soak_client.mjs, pinned
 * to the client core; the server to the other), with churn — every few seconds a fraction of
 * the clients drops and comes back from its own cursor, some on the next transport, some with a
 * cursor from the future (answered by `resync`, handled as documented) — and steady REST writes
 * (creates, edits, moves, deletes, list renames) for `--minutes`.
 *
 * It checks that every client received every event of its board exactly once, in seq order and
 * without a gap across all its reconnects (compared with the board's log at the end), that the
 * server's live-connection counts (`/admin/connections`) return to 0 once the clients close,
 * and samples the server's RSS (VmRSS of /proc/<pid>/status) every `--sample-ms` to show it is
 * flat: first-window and last-window averages (5 min, or a third of a shorter run), the
 * maximum, and the slope. The first window holds the climb from the idle server to every
 * client connected, so "flat" means: the last window within 10% of the window after the first.
 * It also reports latency (commit → receipt of events committed while a client was up), how
 * long reconnects take, the writes' latency, server and client CPU, open files, and the
 * machine's load (the figures on a shared machine are only as good as its spare CPU).
 *
 *   deno task soak                          # 30 min, 2,000 clients, 20 writes/s, SQLite
 *   deno task soak --minutes 2              # a short check
 *   deno task soak --minutes 10 --store postgres
 *
 * Flags: --minutes 30  --clients 2000  --writes-per-sec 20  --store sqlite|postgres
 * --boards 20  --clients-per-user 5  --client-procs 2  --churn-every-ms 5000
 * --churn-fraction 0.02 (of all clients, per round)  --churn-down-ms 2000 (longest pause)
 * --switch-fraction 0.25 (of churned clients: come back on the next transport)
 * --resync-fraction 0.02 (of churned clients: come back with a future cursor)
 * --short-poll-ms 2000  --sample-ms 10000  --drain-timeout-ms 120000
 * --gc (open the server's inspector to force a GC before the clients and after them: heap and
 *   RSS after GC; off by default, the inspector costs CPU per WebSocket frame)
 * --out bench-results/soak-<store>-<time>.json
 *
 * Prints a summary, writes a JSON report, and exits 1 when an event was lost, duplicated, out
 * of order or stray, a client never caught up, or the connection counts did not return to 0.
 */
import {
  Child,
  CLIENT_CORE,
  collectGarbage,
  cpuSeconds,
  INSPECTOR_LINE,
  rssBytes,
  SERVER_CORE,
  sleep,
} from "./procs.ts";

const root = new URL("../../", import.meta.url).pathname;
const here = import.meta.dirname!;
const TRANSPORTS = ["websocket", "sse", "longpoll", "poll"] as const;
type Transport = typeof TRANSPORTS[number];
const PASSWORD = "soak-password";

// ---- settings ------------------------------------------------------------------------------------

interface Settings {
  minutes: number;
  clients: number;
  writesPerSec: number;
  store: "sqlite" | "postgres";
  boards: number;
  clientsPerUser: number;
  clientProcs: number;
  churnEveryMs: number;
  churnFraction: number;
  churnDownMs: number;
  switchFraction: number;
  resyncFraction: number;
  shortPollMs: number;
  sampleMs: number;
  drainTimeoutMs: number;
  gc: boolean;
  out: string;
}

function parseArgs(args: string[]): Settings {
  const flags = new Map<string, string>();
  for (let i = 0; i < args.length; i++) {
    const [name, inline] = args[i].split("=", 2);
    if (name === "--gc") flags.set(name, inline ?? "true");
    else flags.set(name, inline ?? args[++i] ?? "");
  }
  const defaults: Record<string, number> = {
    "--minutes": 30,
    "--clients": 2000,
    "--writes-per-sec": 20,
    "--boards": 20,
    "--clients-per-user": 5,
    "--client-procs": 2,
    "--churn-every-ms": 5000,
    "--churn-fraction": 0.02,
    "--churn-down-ms": 2000,
    "--switch-fraction": 0.25,
    "--resync-fraction": 0.02,
    "--short-poll-ms": 2000,
    "--sample-ms": 10_000,
    "--drain-timeout-ms": 120_000,
  };
  const known = [...Object.keys(defaults), "--store", "--out", "--gc"];
  for (const name of flags.keys()) {
    if (!known.includes(name)) throw new Error(`Unknown flag "${name}"; known: ${known.join(" ")}`);
  }
  const num = (name: string) => {
    const raw = flags.get(name);
    if (raw === undefined) return defaults[name];
    const value = Number(raw);
    if (raw === "" || !Number.isFinite(value) || value < 0) {
      throw new Error(`Flag ${name} needs a number ≥ 0, got "${raw}"`);
    }
    return value;
  };
  const store = flags.get("--store") ?? "sqlite";
  if (store !== "sqlite" && store !== "postgres") {
    throw new Error(`--store is sqlite or postgres, got "${store}"`);
  }
  const stamp = new Date().toISOString().replaceAll(":", "-").slice(0, 19);
  const settings: Settings = {
    minutes: num("--minutes"),
    clients: Math.round(num("--clients")),
    writesPerSec: num("--writes-per-sec"),
    store,
    boards: Math.round(num("--boards")),
    clientsPerUser: Math.round(num("--clients-per-user")),
    clientProcs: Math.round(num("--client-procs")),
    churnEveryMs: num("--churn-every-ms"),
    churnFraction: num("--churn-fraction"),
    churnDownMs: num("--churn-down-ms"),
    switchFraction: num("--switch-fraction"),
    resyncFraction: num("--resync-fraction"),
    shortPollMs: num("--short-poll-ms"),
    sampleMs: num("--sample-ms"),
    drainTimeoutMs: num("--drain-timeout-ms"),
    gc: flags.get("--gc") === "true",
    out: flags.get("--out") ?? `${root}bench-results/soak-${store}-${stamp}.json`,
  };
  if (settings.clients < 1 || settings.boards < 1 || settings.clientProcs < 1) {
    throw new Error("--clients, --boards and --client-procs must be at least 1");
  }
  if (settings.clientsPerUser < 1 || settings.clientsPerUser > 8) {
    // LONGPOLL_MAX_PER_USER is 8: a user's clients may all end up long polling.
    throw new Error("--clients-per-user must be 1–8 (the default per-user long-poll cap is 8)");
  }
  if (settings.minutes <= 0 || settings.sampleMs < 1000 || settings.churnEveryMs < 100) {
    throw new Error("--minutes must be > 0, --sample-ms ≥ 1000, --churn-every-ms ≥ 100");
  }
  return settings;
}

// ---- processes and clean-up ------------------------------------------------------------------------

const cleanups: (() => Promise<void>)[] = [];
let cleaning: Promise<void> | undefined;
/** Stops every child this script started and removes its database; runs once. */
function cleanup(): Promise<void> {
  return cleaning ??= (async () => {
    for (const step of cleanups.reverse()) await step().catch(() => {});
  })();
}
for (const signal of ["SIGINT", "SIGTERM"] as const) {
  Deno.addSignalListener(signal, async () => {
    console.error(`\nsoak: ${signal}: stopping the clients and the server…`);
    await cleanup();
    Deno.exit(130);
  });
}

/** Installs ws (and socket.io, as the bench does) into .bench-cache/ unless they are there. */
async function prepareNode(): Promise<string> {
  const dir = `${root}.bench-cache`;
  try {
    const pkg = JSON.parse(await Deno.readTextFile(`${dir}/node_modules/ws/package.json`));
    if (pkg.version === "8.23.0") return dir;
  } catch {
    // not installed yet
  }
  const npm = await new Deno.Command("npm", {
    args: ["install", "--prefix", dir, "--no-audit", "--no-fund", "socket.io@4.8.4", "ws@8.23.0"],
    stdout: "null",
    stderr: "piped",
  }).output().catch(() => null);
  if (!npm?.success) {
    const why = npm ? new TextDecoder().decode(npm.stderr).trim().split("\n").at(-1) : "no npm";
    throw new Error(`npm install ws@8.23.0 failed (${why})`);
  }
  return dir;
}

// deno-lint-ignore no-explicit-any
type Reply = Record<string, any>;

/** One soak_client.mjs process (JSON lines over stdin/stdout), pinned to the client core. */
class SoakClient {
  #child: Child;
  #nextId = 1;
  #pending = new Map<number, (reply: Reply) => void>();

  constructor(nodeModules: string, readonly label: string) {
    this.#child = new Child(label, "node", [`${here}/soak_client.mjs`, nodeModules], {
      core: CLIENT_CORE,
      stdin: true,
      onLine: (line) => {
        const reply = JSON.parse(line) as Reply;
        this.#pending.get(reply.id)?.(reply);
        this.#pending.delete(reply.id);
      },
    });
  }

  get pid(): number {
    return this.#child.pid;
  }

  async call(command: Reply): Promise<Reply> {
    const id = this.#nextId++;
    const reply = new Promise<Reply>((resolve) => this.#pending.set(id, resolve));
    const exited = this.#child.process.status.then((status) => {
      throw new Error(
        `${this.label} exited (${status.code}) during ${command.cmd}:\n${this.#child.tail}`,
      );
    });
    await this.#child.writeLine(JSON.stringify({ ...command, id }));
    const result = await Promise.race([reply, exited]);
    if (result.error) throw new Error(`${this.label} ${command.cmd}: ${result.error}`);
    return result;
  }

  stop(): Promise<void> {
    return this.#child.stop();
  }
}

/** Runs `fn` over `items`, at most `n` at a time. */
async function pool<T, R>(items: T[], n: number, fn: (item: T, i: number) => Promise<R>) {
  const out: R[] = new Array(items.length);
  let next = 0;
  await Promise.all(Array.from({ length: Math.min(n, items.length) }, async () => {
    while (next < items.length) {
      const i = next++;
      out[i] = await fn(items[i], i);
    }
  }));
  return out;
}

async function shell(script: string): Promise<string> {
  const out = await new Deno.Command("sh", { args: ["-c", script], stderr: "null" }).output();
  return new TextDecoder().decode(out.stdout).trim();
}

const openFiles = async (pid: number) => Number(await shell(`ls /proc/${pid}/fd | wc -l`));

// ---- figures ---------------------------------------------------------------------------------------

/** The latency bucket of `ms`, as soak_client.mjs counts them. */
function bucketOf(ms: number): number {
  if (ms < 1000) return Math.max(0, Math.floor(ms));
  if (ms < 10_000) return 1000 + Math.floor((ms - 1000) / 10);
  if (ms < 120_000) return 1900 + Math.floor((ms - 10_000) / 100);
  return 3000;
}

/** The upper edge (ms) of a latency bucket of soak_client.mjs. */
function bucketMs(bucket: number): number {
  if (bucket < 1000) return bucket + 1;
  if (bucket < 1900) return 1000 + (bucket - 1000 + 1) * 10;
  if (bucket < 3000) return 10_000 + (bucket - 1900 + 1) * 100;
  return Infinity;
}

class Histogram {
  counts = new Map<number, number>();
  add(pairs: [number, number][]) {
    for (const [bucket, n] of pairs) this.counts.set(bucket, (this.counts.get(bucket) ?? 0) + n);
  }
  get total(): number {
    let sum = 0;
    for (const n of this.counts.values()) sum += n;
    return sum;
  }
  percentile(p: number): number | null {
    const total = this.total;
    if (total === 0) return null;
    const rank = Math.ceil(total * p);
    let seen = 0;
    for (const bucket of [...this.counts.keys()].sort((a, b) => a - b)) {
      seen += this.counts.get(bucket)!;
      if (seen >= rank) return bucketMs(bucket);
    }
    return null;
  }
  summary() {
    return {
      n: this.total,
      p50: this.percentile(0.5),
      p99: this.percentile(0.99),
      max: this.percentile(1),
    };
  }
}

const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / Math.max(1, xs.length);

/** Least-squares slope of y over x. */
function slope(points: { x: number; y: number }[]): number {
  if (points.length < 2) return 0;
  const mx = mean(points.map((p) => p.x)), my = mean(points.map((p) => p.y));
  let num = 0, den = 0;
  for (const p of points) {
    num += (p.x - mx) * (p.y - my);
    den += (p.x - mx) ** 2;
  }
  return den === 0 ? 0 : num / den;
}

const fixed = (x: number | null | undefined, digits = 1) =>
  x === null || x === undefined || !Number.isFinite(x) ? "–" : x.toFixed(digits);
const thousands = (x: number) => Math.round(x).toLocaleString("en-US");
const sumOf = (values: Record<string, number>) => Object.values(values).reduce((a, b) => a + b, 0);

function addCounts(into: Record<string, number>, from: Record<string, number> = {}) {
  for (const [key, n] of Object.entries(from)) into[key] = (into[key] ?? 0) + n;
  return into;
}

// ---- the run ---------------------------------------------------------------------------------------

const settings = parseArgs(Deno.args);
const started = Date.now();
const clock = () => {
  const s = Math.round((Date.now() - started) / 1000);
  return `${Math.floor(s / 60)}m${String(s % 60).padStart(2, "0")}s`;
};
const say = (text: string) => console.error(`[soak ${clock().padStart(7)}] ${text}`);

const nodeModules = await prepareNode();

// The database: a temp SQLite file, or a fresh PostgreSQL schema (as the bench makes them).
let storeFlags: string[];
if (settings.store === "postgres") {
  const { freshBacking, postgresAvailable, TEST_POSTGRES_URL } = await import("./services.ts");
  if (!postgresAvailable) throw new Error(`PostgreSQL does not answer at ${TEST_POSTGRES_URL}`);
  const backing = await freshBacking();
  cleanups.push(() => backing.drop());
  storeFlags = ["--database-url", backing.databaseUrl, "--database-schema", backing.schema];
} else {
  const dir = await Deno.makeTempDir({ prefix: "liveboard-soak-" });
  cleanups.push(() => Deno.remove(dir, { recursive: true }));
  storeFlags = ["--database-url", `${dir}/soak.db`];
}

const server = new Child("Liveboard", Deno.execPath(), [
  "run",
  "--allow-net",
  "--allow-read",
  "--allow-write",
  "--allow-env",
  ...(settings.gc ? ["--inspect=127.0.0.1:0"] : []),
  `${root}main.ts`,
  ...["--port", "0", "--host", "127.0.0.1", ...storeFlags, "--seed"],
  ...["--pbkdf2-iterations", "1000", "--log-level", "warn"],
  ...["--admin-emails", "alice@example.com"],
], { core: SERVER_CORE });
cleanups.push(() => server.stop(8000));
/** Lines the server logged at WARN (or worse) during the run. */
const serverWarnings: string[] = [];
let warningCount = 0;

const clientProcs: SoakClient[] = [];
const report: Record<string, unknown> = {};
let exitCode = 1;
try {
  const [listening, inspector] = await Promise.all([
    server.waitForLine(/Liveboard listening on (http:\/\/\S+)/, 60_000),
    settings.gc ? server.waitForLine(INSPECTOR_LINE, 60_000) : null,
  ]);
  /** With --gc: two full collections, then the heap in use and the RSS, in MB. */
  const afterGc = async () => {
    if (!inspector) return undefined;
    const heap = await collectGarbage(inspector[1]);
    return { heapMB: heap / 1e6, rssMB: (await rssBytes(server.pid)) / 1e6 };
  };
  const url = listening[1];
  say(`server pid ${server.pid} at ${url} (${settings.store})`);
  (async () => {
    while (true) {
      const match = await server.waitForLine(/\bWARN\b|\bERROR\b|Uncaught|panicked/, 86_400_000)
        .catch(() => null);
      if (!match) return;
      warningCount++;
      if (serverWarnings.length < 50) serverWarnings.push(match.input ?? match[0]);
    }
  })();

  // The script's own keep-alive connections to the server: replaced by a fresh pool before the
  // open-file counts, so the counts before and after hold the same one connection of ours.
  let httpClient = Deno.createHttpClient({});
  const freshHttpClient = () => {
    httpClient.close();
    httpClient = Deno.createHttpClient({});
  };
  const api = async (
    method: string,
    path: string,
    token?: string,
    body?: unknown,
    extraHeaders: Record<string, string> = {},
  ): Promise<{ status: number; json: Reply; text: string }> => {
    const headers: Record<string, string> = { ...extraHeaders };
    if (token) headers.authorization = `Bearer ${token}`;
    if (body !== undefined) headers["content-type"] = "application/json";
    const response = await fetch(`${url}${path}`, {
      client: httpClient,
      method,
      headers,
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const text = await response.text();
    let json: Reply = {};
    try {
      json = JSON.parse(text);
    } catch {
      // not JSON
    }
    return { status: response.status, json, text };
  };
  const must = async (
    method: string,
    path: string,
    token?: string,
    body?: unknown,
    extraHeaders?: Record<string, string>,
  ) => {
    const answer = await api(method, path, token, body, extraHeaders);
    if (answer.status < 200 || answer.status > 299) {
      throw new Error(`${method} ${path}: ${answer.status} ${answer.text.slice(0, 300)}`);
    }
    return answer.json;
  };

  // ---- setup: users, boards, members -----------------------------------------------------------
  const admin = (await must("POST", "/login", undefined, {
    email: "alice@example.com",
    password: "liveboard",
  })).token as string;
  const userCount = Math.max(
    settings.boards,
    Math.ceil(settings.clients / settings.clientsPerUser),
  );
  const users = await pool(Array.from({ length: userCount }, (_, i) => i), 8, async (i) => {
    const email = `soak-${i}@example.com`;
    // Sign-ups are throttled per address (10 per 15 min). Each user signs up from an address of
    // its own, as behind a local proxy: the server reads a loopback peer's X-Forwarded-For.
    const address = `10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}`;
    const answer = await must("POST", "/signup", undefined, {
      email,
      name: `Soak ${i}`,
      password: PASSWORD,
    }, { "x-forwarded-for": address });
    return { email, token: answer.token as string, board: i % settings.boards };
  });
  interface Board {
    id: string;
    lists: string[];
    tokens: string[];
    tasks: Map<string, { busy: boolean }>;
  }
  const boards: Board[] = await pool(
    Array.from({ length: settings.boards }, (_, b) => b),
    8,
    async (b) => {
      const snapshot = await must("POST", "/boards", users[b].token, { title: `Soak ${b}` });
      return {
        id: snapshot.board.id as string,
        lists: snapshot.lists.map((list: { id: string }) => list.id) as string[],
        tokens: [users[b].token],
        tasks: new Map(),
      };
    },
  );
  await pool(users.slice(settings.boards), 8, async (user) => {
    const board = boards[user.board];
    await must("POST", `/boards/${board.id}/members`, board.tokens[0], { email: user.email });
    board.tokens.push(user.token);
  });
  const startCursor = (await must("GET", "/healthz")).cursor as number;
  say(
    `setup: ${users.length} users, ${boards.length} boards, start cursor ${startCursor} ` +
      `(${((Date.now() - started) / 1000).toFixed(1)} s)`,
  );

  const counts = async () => {
    const c = await must("GET", "/admin/connections", admin);
    return {
      total: c.total as number,
      byTransport: c.byTransport as Record<string, number>,
      busSubscribers: c.busSubscribers as number,
      rooms: Object.keys(c.rooms ?? {}).length,
    };
  };
  const metric = async (name: string) => {
    const text = (await api("GET", "/metrics", admin)).text;
    const match = text.match(new RegExp(`^${name} (\\S+)$`, "m"));
    return match ? Number(match[1]) : NaN;
  };
  freshHttpClient();
  const baseline = {
    connections: await counts(),
    rssMB: (await rssBytes(server.pid)) / 1e6,
    openFiles: await openFiles(server.pid),
    afterGc: await afterGc(),
  };
  say(
    `baseline: RSS ${fixed(baseline.rssMB)} MB, ${baseline.openFiles} open files, ` +
      `${baseline.connections.total} connections, ${baseline.connections.busSubscribers} bus ` +
      `subscribers`,
  );

  // ---- clients -----------------------------------------------------------------------------------
  const specs = Array.from({ length: settings.clients }, (_, k) => {
    const user = users[Math.floor(k / settings.clientsPerUser)];
    return {
      id: k,
      board: boards[user.board].id,
      token: user.token,
      transport: TRANSPORTS[k % TRANSPORTS.length] as Transport,
    };
  });
  const mix: Record<string, number> = {};
  for (const spec of specs) mix[spec.transport] = (mix[spec.transport] ?? 0) + 1;
  for (let p = 0; p < settings.clientProcs; p++) {
    const client = new SoakClient(nodeModules, `soak client #${p}`);
    clientProcs.push(client);
    cleanups.push(() => client.stop());
  }
  const churn = {
    everyMs: settings.churnEveryMs,
    fraction: settings.churnFraction,
    downMs: settings.churnDownMs,
    switchFraction: settings.switchFraction,
    resyncFraction: settings.resyncFraction,
  };
  const opened = await Promise.all(clientProcs.map((client, p) =>
    client.call({
      cmd: "start",
      url,
      cursor: startCursor,
      shortPollMs: settings.shortPollMs,
      churn,
      concurrency: 50,
      clients: specs.filter((spec) => spec.id % settings.clientProcs === p),
    })
  ));
  const openFailed = opened.reduce((sum, r) => sum + r.failed, 0);
  say(
    `${settings.clients} clients open (${
      Object.entries(mix).map(([t, n]) => `${n} ${t}`).join(", ")
    }) in ${fixed(Math.max(...opened.map((r) => r.ms)) / 1000)} s` +
      (openFailed ? `; ${openFailed} failed at first and retry` : ""),
  );

  // ---- the writer: steady REST mutations on random boards ---------------------------------------
  const writes = {
    ok: 0,
    errors: 0,
    skipped: 0,
    byOp: {} as Record<string, number>,
    errorsByStatus: {} as Record<string, number>,
    firstErrors: [] as string[],
    latency: new Histogram(),
  };
  let inFlight = 0;
  let titles = 0;
  const pick = <T>(items: T[]) => items[Math.floor(Math.random() * items.length)];
  const writeOnce = async () => {
    const board = pick(boards);
    const token = pick(board.tokens);
    const idle = [...board.tasks].filter(([, t]) => !t.busy).map(([id]) => id);
    const r = Math.random();
    let op: string;
    if (board.tasks.size < 30 || idle.length === 0) op = "create";
    else if (board.tasks.size > 100 && r < 0.5) op = "delete";
    else if (r < 0.03) op = "rename list";
    else if (r < 0.33) op = "create";
    else if (r < 0.58) op = "edit";
    else if (r < 0.88) op = "move";
    else op = "delete";
    const taskId = op === "create" || op === "rename list" ? undefined : pick(idle);
    const task = taskId ? board.tasks.get(taskId)! : undefined;
    if (task) task.busy = true;
    const n = ++titles;
    const t0 = performance.now();
    let answer;
    try {
      if (op === "create") {
        answer = await api("POST", "/tasks", token, {
          listId: pick(board.lists),
          title: `soak ${n}`,
        });
      } else if (op === "edit") {
        answer = await api("PATCH", `/tasks/${taskId}`, token, {
          title: `soak ${n} edited`,
          description: `edit ${n}`,
        });
      } else if (op === "move") {
        answer = await api("PATCH", `/tasks/${taskId}/move`, token, {
          listId: pick(board.lists),
          position: Math.floor(Math.random() * 6),
        });
      } else if (op === "delete") {
        answer = await api("DELETE", `/tasks/${taskId}`, token);
      } else {
        answer = await api("PATCH", `/lists/${pick(board.lists)}`, token, { title: `List ${n}` });
      }
    } catch (error) {
      answer = { status: 0, json: {}, text: String(error) };
    }
    writes.latency.add([[bucketOf(performance.now() - t0), 1]]);
    if (task) task.busy = false;
    if (answer.status >= 200 && answer.status <= 299) {
      writes.ok++;
      writes.byOp[op] = (writes.byOp[op] ?? 0) + 1;
      if (op === "create") board.tasks.set(answer.json.id, { busy: false });
      if (op === "delete") board.tasks.delete(taskId!);
    } else {
      writes.errors++;
      const key = `${op} ${answer.status}`;
      writes.errorsByStatus[key] = (writes.errorsByStatus[key] ?? 0) + 1;
      if (writes.firstErrors.length < 10) {
        writes.firstErrors.push(`${key}: ${answer.text.slice(0, 200)}`);
      }
    }
  };
  let writing = true;
  const writer = (async () => {
    if (settings.writesPerSec <= 0) return;
    const interval = 1000 / settings.writesPerSec;
    const t0 = performance.now();
    const inFlightDone: Promise<void>[] = [];
    for (let i = 0; writing; i++) {
      await sleep(t0 + i * interval - performance.now());
      if (!writing) break;
      if (inFlight >= 64) {
        writes.skipped++;
        continue;
      }
      inFlight++;
      const done = writeOnce().finally(() => inFlight--);
      inFlightDone.push(done);
      if (inFlightDone.length > 256) inFlightDone.splice(0, 128);
    }
    await Promise.all(inFlightDone);
    while (inFlight > 0) await sleep(20);
  })();

  // ---- the soak: sample every sampleMs ------------------------------------------------------------
  interface Sample {
    t: number;
    rssMB: number;
    heapMB: number;
    cpuPercent: number;
    openFiles: number;
    connections: Record<string, number>;
    connectionsTotal: number;
    busSubscribers: number;
    clientsUp: number;
    writesOk: number;
    writeErrors: number;
    delivered: number;
    reconnects: number;
    resyncs: number;
    violations: number;
    latencyP99: Record<string, number | null>;
    clientRssMB: number;
    clientCpuPercent: number;
    loadAverage: number;
    /** /proc/pressure/cpu "some avg10": % of time runnable tasks waited for a CPU. */
    cpuPressure: number;
  }
  const samples: Sample[] = [];
  const latencyTotal = Object.fromEntries(TRANSPORTS.map((t) => [t, new Histogram()]));
  const connectTotal = Object.fromEntries(TRANSPORTS.map((t) => [t, new Histogram()]));
  let clientStats: Reply[] = [];
  const collectClientStats = async () => {
    clientStats = await Promise.all(clientProcs.map((c) => c.call({ cmd: "stats" })));
    const interval = Object.fromEntries(TRANSPORTS.map((t) => [t, new Histogram()]));
    for (const s of clientStats) {
      for (const t of TRANSPORTS) {
        interval[t].add(s.histograms.latency[t]);
        latencyTotal[t].add(s.histograms.latency[t]);
        connectTotal[t].add(s.histograms.connect[t]);
      }
    }
    const total = (key: string) => clientStats.reduce((sum, s) => sum + (s[key] as number), 0);
    return {
      interval,
      up: clientStats.reduce((sum, s) => sum + sumOf(s.up), 0),
      delivered: clientStats.reduce((sum, s) => sum + sumOf(s.received), 0),
      reconnects: total("reconnects"),
      resyncs: total("resyncForced") + total("resyncUnexpected"),
      violations: total("violations") + total("stray"),
      rssMB: total("rssMB"),
      cpuSeconds: total("cpuSeconds"),
    };
  };

  await Promise.all(clientProcs.map((c) => c.call({ cmd: "churn", on: true })));
  const runStart = Date.now();
  const runMs = settings.minutes * 60_000;
  let lastCpu = await cpuSeconds(server.pid), lastAt = performance.now();
  let lastClientCpu = (await collectClientStats()).cpuSeconds;
  say(
    `soaking for ${settings.minutes} min: ${settings.writesPerSec} writes/s, churn ` +
      `${(settings.churnFraction * 100).toFixed(1)}% of the clients every ` +
      `${settings.churnEveryMs / 1000} s`,
  );
  while (Date.now() - runStart < runMs) {
    await sleep(Math.min(settings.sampleMs, runMs - (Date.now() - runStart)));
    const [rss, cpu, files, conns, heap, clientsNow, pressure] = await Promise.all([
      rssBytes(server.pid),
      cpuSeconds(server.pid),
      openFiles(server.pid),
      counts(),
      metric("liveboard_process_heap_used_bytes"),
      collectClientStats(),
      shell("cat /proc/pressure/cpu"),
    ]);
    const at = performance.now();
    const sample: Sample = {
      t: Math.round((Date.now() - runStart) / 100) / 10,
      rssMB: rss / 1e6,
      heapMB: heap / 1e6,
      cpuPercent: (cpu - lastCpu) / ((at - lastAt) / 1000) * 100,
      openFiles: files,
      connections: conns.byTransport,
      connectionsTotal: conns.total,
      busSubscribers: conns.busSubscribers,
      clientsUp: clientsNow.up,
      writesOk: writes.ok,
      writeErrors: writes.errors,
      delivered: clientsNow.delivered,
      reconnects: clientsNow.reconnects,
      resyncs: clientsNow.resyncs,
      violations: clientsNow.violations,
      latencyP99: Object.fromEntries(
        TRANSPORTS.map((t) => [t, clientsNow.interval[t].percentile(0.99)]),
      ),
      clientRssMB: clientsNow.rssMB,
      clientCpuPercent: (clientsNow.cpuSeconds - lastClientCpu) / ((at - lastAt) / 1000) * 100,
      loadAverage: Deno.loadavg()[0],
      cpuPressure: Number(pressure.match(/some avg10=(\S+)/)?.[1] ?? NaN),
    };
    lastClientCpu = clientsNow.cpuSeconds;
    lastCpu = cpu;
    lastAt = at;
    samples.push(sample);
    const c = sample.connections;
    say(
      `RSS ${fixed(sample.rssMB)} MB heap ${fixed(sample.heapMB)} MB cpu ${
        fixed(sample.cpuPercent, 0)
      }% (clients ${fixed(sample.clientCpuPercent, 0)}%, load ${
        fixed(sample.loadAverage)
      }, cpu pressure ${
        fixed(sample.cpuPressure, 0)
      }%) fds ${files} | conns ws ${c.websocket} sse ${c.sse} lp ${c.longpoll} | up ${sample.clientsUp}` +
        ` | writes ${writes.ok}${writes.errors ? ` (${writes.errors} errors)` : ""} | delivered ${
          thousands(sample.delivered)
        } | reconnects ${sample.reconnects} resyncs ${sample.resyncs} | order violations ${sample.violations}` +
        ` | p99 ms ws ${fixed(sample.latencyP99.websocket, 0)} sse ${
          fixed(sample.latencyP99.sse, 0)
        } lp ${fixed(sample.latencyP99.longpoll, 0)} poll ${fixed(sample.latencyP99.poll, 0)}`,
    );
  }

  // ---- the end: stop writing, read the log, let every client catch up, compare -------------------
  writing = false;
  await writer;
  const runSeconds = (Date.now() - runStart) / 1000;
  say(`writes stopped after ${fixed(runSeconds)} s: ${writes.ok} ok, ${writes.errors} errors`);
  const expected: Record<string, number[]> = {};
  const eventTypes: Record<string, number> = {};
  let foreign = 0;
  for (const board of boards) {
    const seqs: number[] = [];
    let since = startCursor;
    while (true) {
      const page = await must("GET", `/boards/${board.id}/updates?since=${since}`, board.tokens[0]);
      if (page.resync) throw new Error(`the log of ${board.id} was pruned during the soak`);
      for (const event of page.data as { id: number; boardId: string; type: string }[]) {
        if (event.boardId !== board.id) foreign++;
        seqs.push(event.id);
        eventTypes[event.type] = (eventTypes[event.type] ?? 0) + 1;
      }
      if (page.data.length < 500) break;
      since = page.cursor;
    }
    expected[board.id] = seqs;
  }
  const committed = sumOf(
    Object.fromEntries(Object.entries(expected).map(([b, s]) => [b, s.length])),
  );
  const last = Object.fromEntries(
    Object.entries(expected).map(([board, seqs]) => [board, seqs.at(-1) ?? startCursor]),
  );
  say(
    `${committed} events in the log since the start cursor; waiting for every client to catch up`,
  );
  const drained = await Promise.all(
    clientProcs.map((c) => c.call({ cmd: "drain", last, timeoutMs: settings.drainTimeoutMs })),
  );
  const behind = drained.reduce((sum, d) => sum + d.behind, 0);
  await collectClientStats();
  const finalClients = clientStats;
  const verified = await Promise.all(clientProcs.map((c) => c.call({ cmd: "verify", expected })));
  const verify = {
    delivered: 0,
    expected: 0,
    lost: 0,
    duplicated: 0,
    outOfOrder: 0,
    stray: 0,
    excused: 0,
    clientsWithResync: 0,
    reconnectsMax: 0,
    transportsUsedMax: 0,
  };
  for (const v of verified) {
    for (const key of Object.keys(verify) as (keyof typeof verify)[]) {
      verify[key] = key.endsWith("Max") ? Math.max(verify[key], v[key]) : verify[key] + v[key];
    }
  }
  const problems = verified.flatMap((v) => v.problems).slice(0, 20);

  // ---- close every client; the server's counts must return to 0 ----------------------------------
  const beforeClose = await counts();
  const closeAt = performance.now();
  await Promise.all(clientProcs.map((c) => c.call({ cmd: "close" })));
  let atEnd = await counts();
  while (
    (atEnd.total > 0 || atEnd.busSubscribers > baseline.connections.busSubscribers) &&
    performance.now() - closeAt < 30_000
  ) {
    await sleep(250);
    atEnd = await counts();
  }
  const zeroAfterMs = performance.now() - closeAt;
  const metricsText = (await api("GET", "/metrics", admin)).text;
  const serverCloses: Record<string, number> = {};
  for (const m of metricsText.matchAll(/^liveboard_connection_closes_total\{([^}]*)\} (\S+)$/gm)) {
    const labels = Object.fromEntries(
      [...m[1].matchAll(/(\w+)="([^"]*)"/g)].map((l) => [l[1], l[2]]),
    );
    serverCloses[`${labels.transport} ${labels.reason}`] = Number(m[2]);
  }
  const serverDelivered: Record<string, number> = {};
  for (
    const m of metricsText.matchAll(
      /^liveboard_events_delivered_total\{transport="(\w+)"\} (\S+)$/gm,
    )
  ) {
    serverDelivered[m[1]] = Number(m[2]);
  }
  await sleep(10_000);
  freshHttpClient();
  const idle = {
    rssMB: (await rssBytes(server.pid)) / 1e6,
    openFiles: await openFiles(server.pid),
    connections: await counts(),
    afterGc: await afterGc(),
  };

  // ---- figures ---------------------------------------------------------------------------------------
  const windowS = Math.min(300, runSeconds / 3);
  // (A run shorter than three samples still gets one sample in each window.)
  const firstWindow = samples.filter((s, i) => s.t <= windowS || i === 0);
  const lastWindow = samples.filter((s, i) =>
    s.t >= runSeconds - windowS || i === samples.length - 1
  );
  const secondHalf = samples.filter((s) => s.t >= runSeconds / 2);
  // The window right after the first: the level once the clients are all there.
  const secondWindow = samples.filter((s) => s.t > windowS && s.t <= 2 * windowS);
  const rss = {
    windowMinutes: windowS / 60,
    firstAvgMB: mean(firstWindow.map((s) => s.rssMB)),
    lastAvgMB: mean(lastWindow.map((s) => s.rssMB)),
    maxMB: Math.max(...samples.map((s) => s.rssMB)),
    minMB: Math.min(...samples.map((s) => s.rssMB)),
    slopeMBPerHour: slope(samples.map((s) => ({ x: s.t / 3600, y: s.rssMB }))),
    secondHalfSlopeMBPerHour: slope(secondHalf.map((s) => ({ x: s.t / 3600, y: s.rssMB }))),
    heapFirstAvgMB: mean(firstWindow.map((s) => s.heapMB)),
    heapLastAvgMB: mean(lastWindow.map((s) => s.heapMB)),
    /** The average over the window after the first (the level after the warm-up). */
    secondWindowAvgMB: mean((secondWindow.length ? secondWindow : firstWindow).map((s) => s.rssMB)),
    /** Minutes until RSS first reached 90% of the last window's average (the warm-up). */
    warmupMinutes: 0,
    baselineMB: baseline.rssMB,
    idleAfterCloseMB: idle.rssMB,
    /** With --gc: heap and RSS after forced collections, before the clients and after them. */
    baselineAfterGc: baseline.afterGc,
    endAfterGc: idle.afterGc,
  };
  rss.warmupMinutes = (samples.find((s) => s.rssMB >= 0.9 * rss.lastAvgMB)?.t ?? 0) / 60;
  // Flat: the last window's average is within 10% of the window after the first (the first
  // window holds the climb from the idle server to every client connected).
  const rssFlat = rss.lastAvgMB <= 1.1 * rss.secondWindowAvgMB;
  const clientTotals = {
    received: {} as Record<string, number>,
    reconnects: 0,
    churned: 0,
    switches: 0,
    resyncForced: 0,
    resyncUnexpected: 0,
    snapshots: 0,
    snapshotErrors: 0,
    polls: 0,
    longPolls: 0,
    longPollTimeouts: 0,
    errors: {} as Record<string, number>,
    serverCloses: {} as Record<string, number>,
    finalMix: {} as Record<string, number>,
    resyncsByTransport: {} as Record<string, number>,
    firstError: "",
  };
  for (const s of finalClients) {
    addCounts(clientTotals.received, s.received);
    addCounts(clientTotals.errors, s.errors);
    addCounts(clientTotals.serverCloses, s.serverCloses);
    addCounts(clientTotals.finalMix, s.of);
    addCounts(clientTotals.resyncsByTransport, s.resyncs);
    for (
      const key of [
        "reconnects",
        "churned",
        "switches",
        "resyncForced",
        "resyncUnexpected",
        "snapshots",
        "snapshotErrors",
        "polls",
        "longPolls",
        "longPollTimeouts",
      ] as const
    ) clientTotals[key] += s[key];
    clientTotals.firstError ||= s.firstError;
  }
  const latency = Object.fromEntries(TRANSPORTS.map((t) => [t, latencyTotal[t].summary()]));
  const connectTime = Object.fromEntries(
    TRANSPORTS.filter((t) => t !== "longpoll").map((t) => [t, connectTotal[t].summary()]),
  );
  const failures: string[] = [];
  if (verify.lost) failures.push(`${verify.lost} events lost`);
  if (verify.duplicated) failures.push(`${verify.duplicated} events duplicated`);
  if (verify.outOfOrder) failures.push(`${verify.outOfOrder} events out of order`);
  if (verify.stray) failures.push(`${verify.stray} stray events (not in the board's log)`);
  if (behind) failures.push(`${behind} clients never caught up`);
  if (foreign) failures.push(`${foreign} events of another board in a board's log page`);
  if (atEnd.total !== 0) {
    failures.push(`${atEnd.total} connections still counted after close`);
  }
  if (atEnd.busSubscribers > baseline.connections.busSubscribers) {
    failures.push(
      `${atEnd.busSubscribers} bus subscribers after close (${baseline.connections.busSubscribers} before)`,
    );
  }
  if (atEnd.rooms !== 0) failures.push(`${atEnd.rooms} WebSocket rooms left after close`);
  const warnings: string[] = [];
  if (committed !== writes.ok) {
    warnings.push(`${committed} events in the log but ${writes.ok} successful writes`);
  }
  if (writes.errors) warnings.push(`${writes.errors} writes failed`);
  if (writes.skipped) warnings.push(`${writes.skipped} writes skipped (64 in flight)`);
  if (clientTotals.resyncUnexpected) {
    warnings.push(`${clientTotals.resyncUnexpected} resyncs nobody asked for`);
  }
  if (!rssFlat) {
    warnings.push(
      `RSS grew from ${fixed(rss.secondWindowAvgMB)} MB (second window) to ${
        fixed(rss.lastAvgMB)
      } MB (last window)`,
    );
  }
  if (warningCount) warnings.push(`the server logged ${warningCount} warnings`);

  Object.assign(report, {
    date: new Date().toISOString(),
    settings,
    versions: {
      deno: Deno.version.deno,
      node: await shell("node --version"),
    },
    cores: navigator.hardwareConcurrency,
    serverPid: server.pid,
    setup: { users: users.length, boards: boards.length, startCursor },
    transportsAtStart: mix,
    transportsAtEnd: clientTotals.finalMix,
    runSeconds,
    writes: {
      ok: writes.ok,
      errors: writes.errors,
      skipped: writes.skipped,
      perSecond: writes.ok / runSeconds,
      byOp: writes.byOp,
      errorsByStatus: writes.errorsByStatus,
      firstErrors: writes.firstErrors,
      latencyMs: writes.latency.summary(),
    },
    events: { committed, types: eventTypes, foreign },
    delivery: {
      ...verify,
      deliveredByTransport: clientTotals.received,
      serverDeliveredByTransport: serverDelivered,
      latencyMs: latency,
    },
    connectMs: connectTime,
    /** Each client process's event-loop delay over the run (its timings are this good). */
    clientLoopDelayMs: finalClients.map((s) => s.loopDelayMs),
    churn: {
      reconnects: clientTotals.reconnects,
      perMinute: clientTotals.reconnects / (runSeconds / 60),
      switches: clientTotals.switches,
      resyncForced: clientTotals.resyncForced,
      resyncUnexpected: clientTotals.resyncUnexpected,
      resyncsByTransport: clientTotals.resyncsByTransport,
      snapshots: clientTotals.snapshots,
      snapshotErrors: clientTotals.snapshotErrors,
      clientErrors: clientTotals.errors,
      firstClientError: clientTotals.firstError,
      closedByServer: clientTotals.serverCloses,
      serverCloses,
      polls: clientTotals.polls,
      longPolls: clientTotals.longPolls,
      longPollTimeouts: clientTotals.longPollTimeouts,
    },
    rss,
    rssFlat,
    connections: {
      baseline: baseline.connections,
      beforeClose,
      atEnd,
      zeroAfterMs,
      afterIdle: idle.connections,
    },
    openFiles: {
      baseline: baseline.openFiles,
      max: Math.max(...samples.map((s) => s.openFiles)),
      afterClose: idle.openFiles,
    },
    drain: drained,
    problems,
    serverWarnings: { count: warningCount, first: serverWarnings },
    failures,
    warnings,
    samples,
  });

  // ---- summary ---------------------------------------------------------------------------------------
  const pct = (n: number, of: number) => `${(n / of * 100).toFixed(0)}%`;
  const lines = [
    ``,
    `Liveboard soak — ${new Date().toISOString()} — ${
      settings.store === "postgres" ? "PostgreSQL" : "SQLite"
    }, Deno ${Deno.version.deno}, ${navigator.hardwareConcurrency} cores (server on core ${SERVER_CORE}, clients on core ${CLIENT_CORE})`,
    ``,
    `Run:          ${
      fixed(runSeconds / 60)
    } min, ${settings.clients} clients on ${boards.length} boards (${users.length} users)`,
    `Transports:   at start ${TRANSPORTS.map((t) => `${t} ${mix[t] ?? 0}`).join(", ")}; at end ${
      TRANSPORTS.map((t) => `${t} ${clientTotals.finalMix[t] ?? 0}`).join(", ")
    }`,
    `Churn:        ${clientTotals.reconnects} reconnects (${
      fixed(clientTotals.reconnects / (runSeconds / 60), 0)
    }/min; ${pct(settings.churnFraction, 1)} of the clients every ${
      settings.churnEveryMs / 1000
    } s), ${clientTotals.switches} transport switches, up to ${verify.reconnectsMax} per client`,
    `Writes:       ${writes.ok} ok (${fixed(writes.ok / runSeconds)}/s; ${
      Object.entries(writes.byOp).map(([op, n]) => `${op} ${n}`).join(", ")
    }), ${writes.errors} errors, p99 ${fixed(writes.latency.percentile(0.99), 0)} ms`,
    `Events:       ${committed} committed, ${thousands(verify.delivered)} delivered (of ${
      thousands(verify.expected)
    } expected; ${
      TRANSPORTS.map((t) => `${t} ${thousands(clientTotals.received[t] ?? 0)}`).join(", ")
    })`,
    `Exactly once: ${verify.lost} lost, ${verify.duplicated} duplicated, ${verify.outOfOrder} out of order, ${verify.stray} stray; ${behind} clients behind at the end`,
    `Resyncs:      ${clientTotals.resyncForced} asked for (a future cursor) and ${clientTotals.resyncUnexpected} unexpected (${
      TRANSPORTS.map((t) => `${t} ${clientTotals.resyncsByTransport[t] ?? 0}`).join(", ")
    }); each refetched the snapshot (${clientTotals.snapshotErrors} errors); ${verify.excused} deliveries it covers excused`,
    `Latency:      commit → receipt p50/p99 ms (live events): ${
      TRANSPORTS.map((t) => `${t} ${fixed(latency[t].p50, 0)}/${fixed(latency[t].p99, 0)}`).join(
        ", ",
      )
    }`,
    `Reconnect:    start → up p50/p99 ms: ${
      Object.entries(connectTime).map(([t, h]) => `${t} ${fixed(h.p50, 0)}/${fixed(h.p99, 0)}`)
        .join(", ")
    }; client event-loop delay p99 ${
      finalClients.map((s) => fixed(s.loopDelayMs?.p99, 0)).join(" / ")
    } ms (max ${finalClients.map((s) => fixed(s.loopDelayMs?.max, 0)).join(" / ")})`,
    `Server RSS:   first ${fixed(windowS / 60)} min ${fixed(rss.firstAvgMB)} MB, last ${
      fixed(windowS / 60)
    } min ${fixed(rss.lastAvgMB)} MB, max ${fixed(rss.maxMB)} MB, slope ${
      fixed(rss.slopeMBPerHour)
    } MB/h (second half ${fixed(rss.secondHalfSlopeMBPerHour)} MB/h) — ${
      rssFlat ? "flat" : "GROWING"
    } (second window ${fixed(rss.secondWindowAvgMB)} MB; warm-up: 90% of the last level after ${
      fixed(rss.warmupMinutes)
    } min); before clients ${fixed(rss.baselineMB)} MB, 10 s after close ${
      fixed(rss.idleAfterCloseMB)
    } MB`,
    `JS heap:      first ${fixed(rss.heapFirstAvgMB)} MB, last ${fixed(rss.heapLastAvgMB)} MB${
      baseline.afterGc && idle.afterGc
        ? ` (after a forced GC: ${fixed(baseline.afterGc.heapMB)} MB before the clients, ${
          fixed(idle.afterGc.heapMB)
        } MB after; RSS ${fixed(baseline.afterGc.rssMB)} → ${fixed(idle.afterGc.rssMB)} MB)`
        : ""
    }; CPU on average: server ${fixed(mean(samples.map((s) => s.cpuPercent)), 0)}%, clients ${
      fixed(mean(samples.map((s) => s.clientCpuPercent)), 0)
    }% of a core; machine load average ${
      fixed(mean(samples.map((s) => s.loadAverage)))
    } (${navigator.hardwareConcurrency} cores), CPU pressure ${
      fixed(mean(samples.map((s) => s.cpuPressure)), 0)
    }% (other work on this machine)`,
    `Connections:  ${beforeClose.total} before close (${
      Object.entries(beforeClose.byTransport).map(([t, n]) => `${t} ${n}`).join(", ")
    }); after close ${atEnd.total} (${
      Object.entries(atEnd.byTransport).map(([t, n]) => `${t} ${n}`).join(", ")
    }) within ${
      fixed(zeroAfterMs / 1000)
    } s, ${atEnd.busSubscribers} bus subscribers (${baseline.connections.busSubscribers} before), ${atEnd.rooms} rooms; open files ${baseline.openFiles} before, ${idle.openFiles} after`,
    `Server:       ${warningCount} warnings logged; closes by reason: ${
      Object.entries(serverCloses).map(([k, n]) => `${k} ${n}`).join(", ") || "none"
    }`,
    ...(Object.keys(clientTotals.errors).length
      ? [
        `Client errors: ${
          Object.entries(clientTotals.errors).map(([k, n]) => `${k} ${n}`).join(", ")
        }`,
      ]
      : []),
    ...warnings.map((w) => `warning: ${w}`),
    failures.length
      ? `\nFAILED: ${failures.join("; ")}`
      : `\nPASSED: every event exactly once, in order; connection counts back to 0`,
  ];
  console.log(lines.join("\n"));
  report.summary = lines.join("\n");
  exitCode = failures.length ? 1 : 0;
} catch (error) {
  console.error(`soak: ${error instanceof Error ? error.stack : error}`);
  console.error(`server output (last lines):\n${server.tail}`);
  report.error = String(error instanceof Error ? error.stack : error);
} finally {
  await cleanup();
  const outDir = settings.out.includes("/")
    ? settings.out.slice(0, settings.out.lastIndexOf("/")) || "/"
    : ".";
  await Deno.mkdir(outDir, { recursive: true });
  await Deno.writeTextFile(settings.out, JSON.stringify(report, null, 2) + "\n");
  console.log(`\nJSON: ${settings.out}`);
}
Deno.exit(exitCode);
