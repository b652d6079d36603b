/**
 * PostgreSQL and Redis for the cross-instance scenarios: whether they answer (the test helpers'
 * checks), a fresh schema and Redis prefix per target (`lbbench_…` and `lbbench:…:`, so a
 * leftover is easy to tell from a test's; removed when the target stops), and the CPU time the
 * services spend on Liveboard's behalf — PostgreSQL's backends serving the given Liveboard
 * processes (found through their TCP ports: `ss` and `pg_stat_activity`), and the Redis server
 * (the whole server: it may have other clients).
 */
import { dropRedisPrefix } from "../cluster_helpers.ts";
import {
  postgresAvailable,
  redisAvailable,
  TEST_POSTGRES_URL,
  TEST_REDIS_URL,
  withPostgres,
} from "../helpers.ts";
import { cpuSeconds } from "./procs.ts";

export { postgresAvailable, redisAvailable, TEST_POSTGRES_URL, TEST_REDIS_URL };

/** A fresh PostgreSQL schema (and Redis prefix) for one target; `drop` removes both. */
export interface Backing {
  databaseUrl: string;
  schema: string;
  redisUrl: string;
  redisPrefix: string;
  drop(): Promise<void>;
}

export function freshBacking(): Promise<Backing> {
  const id = crypto.randomUUID().replaceAll("-", "");
  const schema = `lbbench_${id.slice(0, 16)}`;
  const redisPrefix = `lbbench:${id.slice(16, 24)}:`;
  return Promise.resolve({
    databaseUrl: TEST_POSTGRES_URL,
    schema,
    redisUrl: TEST_REDIS_URL,
    redisPrefix,
    drop: async () => {
      await withPostgres((sql) => sql.unsafe(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`));
      await dropRedisPrefix(TEST_REDIS_URL, redisPrefix);
    },
  });
}

async function run(command: string, args: string[]): Promise<string> {
  const out = await new Deno.Command(command, { args, stdout: "piped", stderr: "null" })
    .output().catch(() => null);
  return out?.success ? new TextDecoder().decode(out.stdout) : "";
}

/** The PostgreSQL backend pids serving TCP connections made by the processes `pids`. */
async function backendsOf(pids: number[]): Promise<number[]> {
  const port = new URL(TEST_POSTGRES_URL).port || "5432";
  const lines = await run("ss", ["-tnpH", "state", "established", `( dport = :${port} )`]);
  const mine = new Set(pids);
  const ports: number[] = [];
  for (const line of lines.split("\n")) {
    const pid = Number(line.match(/pid=(\d+)/)?.[1]);
    const local = line.trim().split(/\s+/)[2];
    if (mine.has(pid) && local) ports.push(Number(local.slice(local.lastIndexOf(":") + 1)));
  }
  if (ports.length === 0) return [];
  return await withPostgres(async (sql) =>
    (await sql`SELECT pid FROM pg_stat_activity WHERE client_port = ANY(${ports})`)
      .map((row) => Number(row.pid))
  );
}

let redisPid: number | undefined;

/** The Redis server's pid (from INFO), when redis-cli can tell. */
async function redisServerPid(): Promise<number | undefined> {
  if (redisPid) return redisPid;
  const info = await run("redis-cli", ["-u", TEST_REDIS_URL, "info", "server"]);
  const pid = Number(info.match(/process_id:(\d+)/)?.[1]);
  return redisPid = Number.isFinite(pid) && pid > 0 ? pid : undefined;
}

/** CPU seconds so far of each PostgreSQL backend serving `pids`, and of the Redis server. */
export interface ServiceCpu {
  postgres: Map<number, number>;
  redis?: number;
}

export async function serviceCpu(pids: number[], withRedis: boolean): Promise<ServiceCpu> {
  const postgres = new Map<number, number>();
  for (const pid of await backendsOf(pids).catch(() => [])) {
    const seconds = await cpuSeconds(pid).catch(() => undefined);
    if (seconds !== undefined) postgres.set(pid, seconds);
  }
  const redis = withRedis ? await redisServerPid() : undefined;
  return { postgres, redis: redis ? await cpuSeconds(redis).catch(() => undefined) : undefined };
}

/**
 * CPU seconds between two readings: every backend seen at the end counts from its first reading
 * (or from zero: it was opened in between); a backend that ended in between is not counted.
 */
export function serviceCpuDelta(before: ServiceCpu, after: ServiceCpu) {
  let postgres = 0;
  for (const [pid, seconds] of after.postgres) {
    postgres += seconds - (before.postgres.get(pid) ?? 0);
  }
  const redis = before.redis !== undefined && after.redis !== undefined
    ? after.redis - before.redis
    : undefined;
  return { postgres, redis };
}
