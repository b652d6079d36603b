/**
 * The servers under comparison, each a separate process pinned to the server core: Liveboard itself (normal mode, fresh database,
 * seeded, signed in as Alice), the raw Deno baseline, and Socket.IO on Node; and for the
 * cross-instance scenarios Liveboard on a fresh PostgreSQL schema (one instance, no Redis), and a
 * cluster of two instances A and B on a fresh schema and Redis prefix — both pinned to the same
 * server core, so the pair has the one core a single instance has. Each is described
 * by how a load generator connects to it and how one mutation is triggered. Memory scenarios start
 * them with the V8 inspector open, to force a GC before reading RSS; timing scenarios never do:
 * under `--inspect` Deno reports every WebSocket frame to the debugger in a process that has
 * loaded Node compatibility code (Liveboard has, through npm packages), which doubles its CPU per
 * delivery and would measure the inspector rather than the server.
 */
import { Child, collectGarbage, INSPECTOR_LINE, SERVER_CORE } from "./procs.ts";
import { type Backing, freshBacking } from "./services.ts";

const root = new URL("../../", import.meta.url).pathname;
const here = import.meta.dirname!;

export type TargetName = "liveboard" | "deno" | "socketio" | "liveboard-pg" | "cluster";
export const TARGET_LABELS: Record<TargetName, string> = {
  liveboard: "Liveboard",
  deno: "raw Deno",
  socketio: "Socket.IO 4",
  "liveboard-pg": "Liveboard on PostgreSQL (1 instance)",
  cluster: "Liveboard cluster (A + B on PostgreSQL + Redis, both on core 0)",
};

/** How a load generator opens one kind of connection (see load_client.mjs `open`). */
export interface ConnectSpec {
  kind: "ws" | "sio" | "sse";
  url: string;
  headers: Record<string, string>;
  join?: string;
  /** A connection is ready once a message matching this arrives (else: once open). */
  ready?: string;
}

export interface Target {
  name: TargetName;
  /** A cluster's instance ("A", "B"); a cluster target itself is instance A. */
  instance?: string;
  /** A cluster's instances, A first (writes and mutations go to A). */
  instances?: Target[];
  /** Whether it runs in cross-instance mode (PostgreSQL + Redis), or on PostgreSQL alone. */
  backing?: "postgres" | "postgres+redis";
  pid: number;
  url: string;
  ws: ConnectSpec;
  sse?: ConnectSpec;
  /** Long-poll URL parked until the next event, and its headers. */
  poll?(): Promise<{ url: string; headers: Record<string, string> }>;
  /** POST target of the write path (Liveboard also serves `PATCH <url>/:id/move`). */
  write?: {
    url: string;
    headers: Record<string, string>;
    /** Creates a board of realistic size to move tasks in: its task ids and list ids. */
    prepareMoves?(): Promise<{ ids: string[]; lists: string[] }>;
  };
  /** Triggers one event carrying `marker`; resolves when the server has answered. */
  mutate(marker: string, seq: number): Promise<void>;
  /** Live connections per transport, as the server counts them. */
  counts(): Promise<{ websocket: number; sse: number; longpoll: number }>;
  /** Collects garbage; answers the JS heap's used bytes. */
  gc(): Promise<number>;
  /** Cross-instance mode: events this instance's relay took from the log, not from Redis. */
  filled?(): Promise<number>;
  stop(): Promise<void>;
}

export interface StartOptions {
  nodeModules: string;
  /** Extra Liveboard flags (e.g. heartbeat intervals). */
  flags?: string[];
  /** Open the V8 inspector so `gc()` works (memory scenarios only; it skews CPU figures). */
  inspect?: boolean;
}

export function startTarget(name: TargetName, options: StartOptions): Promise<Target> {
  if (name === "liveboard") return startLiveboard(options);
  if (name === "liveboard-pg") return startLiveboardPg(options);
  if (name === "cluster") return startCluster(options);
  if (name === "deno") return startDeno(options);
  return startSocketIo(options);
}

/** An event of the same shape and size as a Liveboard `task_created` event. */
export function sampleEvent(marker: string, seq: number): string {
  const at = new Date().toISOString();
  const task = {
    id: "task-01KAP6Z2M7V8Q9R0S1T2U3V4W5",
    boardId: "board-1",
    listId: "list-todo",
    title: `bench ${marker}`,
    description: "",
    assigneeId: null,
    position: 4,
    version: 1,
    createdBy: "user-1",
    createdAt: at,
    updatedAt: at,
  };
  return JSON.stringify({
    type: "task_created",
    id: seq,
    boardId: "board-1",
    task,
    actorId: "user-1",
    at,
  });
}

async function expectOk(response: Response, what: string): Promise<void> {
  if (!response.ok) throw new Error(`${what}: ${response.status} ${await response.text()}`);
  await response.body?.cancel();
}

/**
 * Deno flags of a server process: the inspector when asked, and a CPU profile written at exit
 * into `BENCH_CPU_PROF_DIR` when that is set (to find where a scenario's server time goes).
 */
const inspectFlag = (options: StartOptions) => [
  ...(options.inspect ? ["--inspect=127.0.0.1:0"] : []),
  ...(Deno.env.get("BENCH_CPU_PROF_DIR")
    ? ["--cpu-prof", `--cpu-prof-dir=${Deno.env.get("BENCH_CPU_PROF_DIR")}`]
    : []),
];

async function launch(child: Child, listening: RegExp, options: StartOptions) {
  const [inspector, ready] = await Promise.all([
    options.inspect ? child.waitForLine(INSPECTOR_LINE) : Promise.resolve(null),
    child.waitForLine(listening),
  ]);
  const inspectorUrl = inspector?.[1];
  const gc = () =>
    inspectorUrl
      ? collectGarbage(inspectorUrl)
      : Promise.reject(new Error("gc() needs a target started with inspect: true"));
  return { gc, ready };
}

/** Where one Liveboard process keeps its data, and what it is called. */
interface LiveboardSetup {
  name: TargetName;
  /** Store flags: a SQLite file, or a PostgreSQL URL and schema (and Redis). */
  store: string[];
  instance?: string;
  backing?: Target["backing"];
  /** Signs in with this token instead of logging in (a cluster's second instance). */
  token?: string;
  /** Runs when the process has stopped (removes the database). */
  cleanup?: () => Promise<void>;
}

async function startLiveboard(options: StartOptions): Promise<Target> {
  const dir = await Deno.makeTempDir({ prefix: "liveboard-bench-" });
  return await startLiveboardProcess(options, {
    name: "liveboard",
    store: ["--database-url", `${dir}/bench.db`],
    cleanup: () => Deno.remove(dir, { recursive: true }).catch(() => {}),
  });
}

/** One instance on a fresh PostgreSQL schema, no Redis: the store's own write path. */
async function startLiveboardPg(options: StartOptions): Promise<Target> {
  const backing = await freshBacking();
  try {
    return await startLiveboardProcess(options, {
      name: "liveboard-pg",
      store: ["--database-url", backing.databaseUrl, "--database-schema", backing.schema],
      backing: "postgres",
      cleanup: () => backing.drop(),
    });
  } catch (error) {
    await backing.drop();
    throw error;
  }
}

/**
 * Two instances A and B on one fresh schema and Redis prefix, both pinned to the server core.
 * The target is A (mutations, writes, log-in); `instances` holds A and B. Stopping it stops
 * both and removes the schema and the Redis keys.
 */
async function startCluster(options: StartOptions): Promise<Target> {
  const backing: Backing = await freshBacking();
  const store = (id: string) => [
    ...["--database-url", backing.databaseUrl, "--database-schema", backing.schema],
    ...["--redis-url", backing.redisUrl, "--redis-prefix", backing.redisPrefix],
    ...["--instance-id", id],
  ];
  const started: Target[] = [];
  try {
    // One after the other: A migrates and seeds, B finds it done.
    const a = await startLiveboardProcess(options, {
      name: "cluster",
      instance: "A",
      backing: "postgres+redis",
      store: store("A"),
    });
    started.push(a);
    const b = await startLiveboardProcess(options, {
      name: "cluster",
      instance: "B",
      backing: "postgres+redis",
      store: store("B"),
      token: a.ws.headers.authorization.slice("Bearer ".length),
    });
    started.push(b);
    return {
      ...a,
      instances: [a, b],
      stop: async () => {
        await Promise.all(started.map((t) => t.stop()));
        await backing.drop();
      },
    };
  } catch (error) {
    await Promise.all(started.map((t) => t.stop()));
    await backing.drop();
    throw error;
  }
}

async function startLiveboardProcess(
  options: StartOptions,
  setup: LiveboardSetup,
): Promise<Target> {
  const label = setup.instance ? `Liveboard ${setup.instance}` : TARGET_LABELS[setup.name];
  const child = new Child(label, Deno.execPath(), [
    "run",
    "--allow-net",
    "--allow-read",
    "--allow-write",
    "--allow-env",
    ...inspectFlag(options),
    `${root}main.ts`,
    ...["--port", "0", "--host", "127.0.0.1", ...setup.store, "--seed"],
    ...["--pbkdf2-iterations", "1000", "--log-level", "warn"],
    ...["--admin-emails", "alice@example.com"],
    ...["--longpoll-max-per-user", "100000", "--longpoll-timeout-ms", "120000"],
    ...["--ws-max-connections-per-user", "100000"],
    ...["--sse-max-streams-per-user", "100000"],
    // The write path creates a card per request for seconds on one board: far past the
    // default 5,000-card limit, which would answer 409 instead of writing.
    ...["--max-cards-per-board", "100000000"],
    ...(options.flags ?? []),
  ], { core: SERVER_CORE });
  let url: string, gc: () => Promise<number>;
  try {
    const launched = await launch(child, /Liveboard listening on (http:\/\/\S+)/, options);
    url = launched.ready[1];
    gc = launched.gc;
  } catch (error) {
    await child.stop();
    await setup.cleanup?.();
    throw error;
  }
  const stop = async () => {
    await child.stop(8000);
    await setup.cleanup?.();
  };
  let token = setup.token;
  if (!token) {
    const login = await fetch(`${url}/login`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ email: "alice@example.com", password: "liveboard" }),
    });
    if (login.status !== 200) {
      const text = await login.text();
      await stop();
      throw new Error(`login failed: ${text}`);
    }
    token = (await login.json()).token as string;
  }
  const headers = { authorization: `Bearer ${token}` };
  const wsUrl = url.replace(/^http/, "ws");
  const health = async () => await (await fetch(`${url}/healthz`)).json();
  return {
    name: setup.name,
    instance: setup.instance,
    backing: setup.backing,
    pid: child.pid,
    url,
    ws: {
      kind: "ws",
      url: `${wsUrl}/ws`,
      headers,
      join: JSON.stringify({ type: "join", boardId: "board-1" }),
      ready: '"type":"presence"',
    },
    sse: { kind: "sse", url: `${url}/boards/board-1/events`, headers, ready: '"type":"connected"' },
    poll: async () => {
      return { url: `${url}/boards/board-1/poll?cursor=${(await health()).cursor}`, headers };
    },
    write: {
      url: `${url}/tasks`,
      headers,
      prepareMoves: () => prepareMoves(url, headers),
    },
    mutate: async (marker) => {
      await expectOk(
        await fetch(`${url}/tasks`, {
          method: "POST",
          headers: { ...headers, "content-type": "application/json" },
          body: JSON.stringify({ listId: "list-todo", title: `bench ${marker}` }),
        }),
        "POST /tasks",
      );
    },
    counts: async () => {
      const response = await fetch(`${url}/admin/connections`, { headers });
      if (!response.ok) throw new Error(`/admin/connections: ${await response.text()}`);
      return (await response.json()).byTransport;
    },
    gc,
    filled: setup.backing === "postgres+redis"
      ? async () => Number((await health()).relay?.filled ?? NaN)
      : undefined,
    stop,
  };
}

/**
 * A fresh board with its three lists of 30 tasks each: moves shift positions within a list, so
 * their cost grows with the list, and the board the create phase filled would not be typical.
 */
async function prepareMoves(url: string, headers: Record<string, string>) {
  const post = async (path: string, body: unknown) => {
    const response = await fetch(`${url}${path}`, {
      method: "POST",
      headers: { ...headers, "content-type": "application/json" },
      body: JSON.stringify(body),
    });
    if (response.status !== 201) throw new Error(`POST ${path}: ${await response.text()}`);
    return await response.json();
  };
  const snapshot = await post("/boards", { title: "Bench moves" });
  const lists: string[] = snapshot.lists.map((list: { id: string }) => list.id);
  const ids: string[] = [];
  for (const listId of lists) {
    for (let i = 0; i < 30; i++) ids.push((await post("/tasks", { listId, title: `m${i}` })).id);
  }
  return { ids, lists };
}

function broadcaster(url: string) {
  return async (marker: string, seq: number) => {
    await expectOk(
      await fetch(`${url}/broadcast`, { method: "POST", body: sampleEvent(marker, seq) }),
      "POST /broadcast",
    );
  };
}

async function countsOf(url: string) {
  const counts = await (await fetch(`${url}/count`)).json();
  return { websocket: 0, sse: 0, longpoll: 0, ...counts };
}

async function startDeno(options: StartOptions): Promise<Target> {
  const dir = await Deno.makeTempDir({ prefix: "liveboard-bench-raw-" });
  const child = new Child("raw Deno baseline", Deno.execPath(), [
    "run",
    "--allow-net",
    "--allow-read",
    "--allow-write",
    ...inspectFlag(options),
    `${here}/baseline_deno.ts`,
    `${dir}/raw.db`,
  ], { core: SERVER_CORE });
  const { gc, ready } = await launch(child, /^listening (\d+)/, options);
  const url = `http://127.0.0.1:${ready[1]}`;
  return {
    name: "deno",
    pid: child.pid,
    url,
    ws: { kind: "ws", url: `ws://127.0.0.1:${ready[1]}/ws`, headers: {} },
    sse: { kind: "sse", url: `${url}/sse`, headers: {}, ready: '"type":"connected"' },
    poll: () => Promise.resolve({ url: `${url}/poll`, headers: {} }),
    write: { url: `${url}/tasks`, headers: {} },
    mutate: broadcaster(url),
    counts: () => countsOf(url),
    gc,
    stop: async () => {
      await child.stop();
      await Deno.remove(dir, { recursive: true }).catch(() => {});
    },
  };
}

async function startSocketIo(options: StartOptions): Promise<Target> {
  const child = new Child("Socket.IO baseline", "node", [
    ...inspectFlag(options),
    `${here}/baseline_socketio.mjs`,
    options.nodeModules,
  ], { core: SERVER_CORE });
  const { gc, ready } = await launch(child, /^listening (\d+)/, options);
  const url = `http://127.0.0.1:${ready[1]}`;
  return {
    name: "socketio",
    pid: child.pid,
    url,
    ws: {
      kind: "sio",
      url: `ws://127.0.0.1:${ready[1]}/socket.io/?EIO=4&transport=websocket`,
      headers: {},
    },
    mutate: broadcaster(url),
    counts: () => countsOf(url),
    gc,
    stop: () => child.stop(),
  };
}
