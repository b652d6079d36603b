/**
 * The cluster harness: N real Liveboard instances as child processes (`main.ts`, port 0) on one
 * PostgreSQL schema and one Redis key prefix of their own, with short timers so the suite stays
 * quick; instances can be killed (SIGKILL), stopped (SIGTERM) and added. A private
 * `redis-server` on a port of its own serves the tests that stop and restart Redis — the shared
 * one is never touched. Output of every instance is printed when a test fails.
 */
import { fileURLToPath } from "node:url";
import { RedisLink } from "../src/realtime/redis.ts";
import {
  expectStatus,
  spawnServer,
  SseReader,
  TEST_REDIS_URL,
  type TestDatabase,
  testDatabase,
  testRedisPrefix,
  withPostgres,
} from "./helpers.ts";

const ROOT = fileURLToPath(new URL("..", import.meta.url));
const RUN_FLAGS = ["--allow-net", "--allow-read", "--allow-write", "--allow-env"];

/** One instance: a child process serving at `url`. */
export class Instance {
  output = "";
  readonly exited: Promise<Deno.CommandStatus>;
  #drained: Promise<unknown>;

  private constructor(
    readonly name: string,
    readonly child: Deno.ChildProcess,
    readonly url: string,
    drained: Promise<unknown>,
    output: () => string,
  ) {
    this.exited = child.status;
    this.#drained = drained;
    Object.defineProperty(this, "output", { get: output });
  }

  static async start(name: string, env: Record<string, string>): Promise<Instance> {
    const { child, url, drained, output } = await spawnServer(
      Deno.execPath(),
      ["run", ...RUN_FLAGS, "main.ts"],
      { cwd: ROOT, env, name },
    );
    return new Instance(name, child, url, drained, output);
  }

  get pid(): number {
    return this.child.pid;
  }

  /** fetch relative to the instance, JSON in and out. */
  request(path: string, init: RequestInit & { json?: unknown; token?: string } = {}) {
    const headers = new Headers(init.headers);
    if (init.json !== undefined) headers.set("content-type", "application/json");
    if (init.token) headers.set("authorization", `Bearer ${init.token}`);
    const body = init.json !== undefined ? JSON.stringify(init.json) : init.body;
    return fetch(this.url + path, { ...init, headers, body });
  }

  /** Signs in as a seeded user (password `liveboard`); returns the token. */
  async login(email: string): Promise<string> {
    const response = await this.request("/login", {
      method: "POST",
      json: { email, password: "liveboard" },
    });
    return (await expectStatus(response, 200)).token;
  }

  /** Opens an SSE stream (status must be 200). */
  async sse(path: string, headers: Record<string, string> = {}): Promise<SseReader> {
    const response = await fetch(this.url + path, { headers });
    if (response.status !== 200) {
      throw new Error(`SSE ${path}: ${response.status} ${await response.text()}`);
    }
    return new SseReader(response);
  }

  get wsUrl(): string {
    return this.url.replace(/^http/, "ws") + "/ws";
  }

  /** Ends the process (SIGKILL: no cleanup at all) and waits for it. */
  async kill(signal: Deno.Signal = "SIGKILL"): Promise<number> {
    try {
      this.child.kill(signal);
    } catch {
      // Already gone.
    }
    const killer = setTimeout(() => {
      try {
        this.child.kill("SIGKILL");
      } catch {
        // gone
      }
    }, 10_000);
    const { code } = await this.exited;
    clearTimeout(killer);
    await this.#drained;
    return code;
  }
}

export interface ClusterOptions {
  redisUrl?: string;
  /** Extra settings for every instance (env names). */
  env?: Record<string, string>;
}

/** N instances on a schema and a Redis prefix of their own. */
export class Cluster {
  readonly instances: Instance[] = [];
  #count = 0;

  private constructor(
    readonly database: TestDatabase,
    readonly prefix: string,
    readonly redisUrl: string,
    readonly env: Record<string, string>,
  ) {}

  static async start(n: number, options: ClusterOptions = {}): Promise<Cluster> {
    const cluster = new Cluster(
      await testDatabase("postgres"),
      testRedisPrefix(),
      options.redisUrl ?? TEST_REDIS_URL,
      options.env ?? {},
    );
    try {
      // One after the other: the first migrates and seeds, the others find it done.
      for (let i = 0; i < n; i++) await cluster.add();
    } catch (error) {
      await cluster.stop();
      throw error;
    }
    return cluster;
  }

  /** Starts one more instance (with extra settings of its own). */
  async add(env: Record<string, string> = {}): Promise<Instance> {
    const name = `i${++this.#count}`;
    const instance = await Instance.start(name, {
      PORT: "0",
      HOST: "127.0.0.1",
      DATABASE_URL: this.database.databaseUrl,
      DATABASE_SCHEMA: this.database.databaseSchema,
      REDIS_URL: this.redisUrl,
      REDIS_PREFIX: this.prefix,
      INSTANCE_ID: name,
      DEMO: "true",
      PBKDF2_ITERATIONS: "1000",
      PRESENCE_TTL_MS: "1500",
      RELAY_CHECK_MS: "200",
      TYPING_TIMEOUT_MS: "600",
      LOG_LEVEL: "warn",
      ...this.env,
      ...env,
    });
    this.instances.push(instance);
    return instance;
  }

  /** The seqs PostgreSQL holds for these boards after `after`, in order: what readers must see. */
  logIds(boardIds: string[], after: number): Promise<number[]> {
    return withPostgres(
      async (sql) =>
        (await sql`SELECT seq FROM events WHERE board_id = ANY(${boardIds}) AND seq > ${after}
        ORDER BY seq`).map((row) => Number(row.seq)),
      this.database.databaseSchema,
    );
  }

  /** The log's head. */
  cursor(): Promise<number> {
    return withPostgres(
      async (sql) => Number((await sql`SELECT seq FROM event_head`)[0].seq),
      this.database.databaseSchema,
    );
  }

  /** Prints every instance's output (call when a test failed). */
  dump(): void {
    for (const instance of this.instances) {
      console.error(`--- ${instance.name} (${instance.url}) ---\n${instance.output}`);
    }
  }

  /** Stops every instance still running, drops the schema and the Redis keys. */
  async stop(): Promise<void> {
    await Promise.all(this.instances.map((instance) => instance.kill("SIGTERM")));
    await this.database.drop();
    await dropRedisPrefix(this.redisUrl, this.prefix).catch(() => {});
  }
}

/** Runs `fn` on a fresh cluster and always tears it down; dumps the output when `fn` throws. */
export async function withCluster(
  n: number,
  fn: (cluster: Cluster) => Promise<void>,
  options: ClusterOptions = {},
): Promise<void> {
  const cluster = await Cluster.start(n, options);
  try {
    await fn(cluster);
  } catch (error) {
    cluster.dump();
    throw error;
  } finally {
    await cluster.stop();
  }
}

/** Removes every key under a prefix. */
export async function dropRedisPrefix(url: string, prefix: string): Promise<void> {
  const { hostname, port } = new URL(url);
  try {
    (await Deno.connect({ hostname, port: Number(port || 6379) })).close();
  } catch {
    return; // Not running (a private Redis already stopped): nothing to drop.
  }
  const link = await RedisLink.open(url, prefix);
  try {
    if (!link.up) return;
    for await (const keys of link.commands.scanIterator({ MATCH: `${prefix}*`, COUNT: 500 })) {
      const list = Array.isArray(keys) ? keys : [keys];
      if (list.length) await link.commands.del(list);
    }
  } finally {
    await link.close();
  }
}

/** A free TCP port on 127.0.0.1 (for the private Redis). */
export function freePort(): number {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const { port } = listener.addr as Deno.NetAddr;
  listener.close();
  return port;
}

/** A private redis-server this test may stop and restart (it keeps nothing on disk). */
export class PrivateRedis {
  #child?: Deno.ChildProcess;

  constructor(readonly port = freePort()) {}

  get url(): string {
    return `redis://127.0.0.1:${this.port}`;
  }

  async start(): Promise<void> {
    this.#child = new Deno.Command("redis-server", {
      args: [
        "--port",
        String(this.port),
        "--bind",
        "127.0.0.1",
        "--save",
        "",
        "--appendonly",
        "no",
      ],
      stdin: "null",
      stdout: "null",
      stderr: "null",
    }).spawn();
    const deadline = Date.now() + 5000;
    while (Date.now() < deadline) {
      try {
        const conn = await Deno.connect({ hostname: "127.0.0.1", port: this.port });
        conn.close();
        return;
      } catch {
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
    }
    throw new Error("private redis-server did not start");
  }

  /** Kills it (SIGKILL) and waits. */
  async stop(): Promise<void> {
    if (!this.#child) return;
    try {
      this.#child.kill("SIGKILL");
    } catch {
      // gone
    }
    await this.#child.status;
    this.#child = undefined;
  }
}

/** Whether `redis-server` can be started here (for the restart tests). */
export const redisServerInstalled: boolean = await (async () => {
  try {
    const { success } = await new Deno.Command("redis-server", { args: ["--version"] }).output();
    return success;
  } catch {
    return false;
  }
})();
