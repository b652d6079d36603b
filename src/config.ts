/**
 * Configuration: every setting is an environment variable and also a command-line flag
 * (`PORT=4000` or `--port 4000` / `--port=4000`; flags win). Values are validated once at
 * start-up; a bad value stops the server with a message naming the setting.
 */

/** The transports a deployment can switch on or off. */
export const TRANSPORTS = ["websocket", "sse", "longpoll", "poll"] as const;
export type Transport = typeof TRANSPORTS[number];

export interface Config {
  port: number;
  host: string;
  /** SQLite file path (or `:memory:`), or a `postgres://` URL. */
  databaseUrl: string;
  /** PostgreSQL schema holding Liveboard's tables (several deployments can share a database). */
  databaseSchema: string;
  /** PostgreSQL: how long a write may wait for a lock before it fails as `store_unavailable`. */
  databaseLockTimeoutMs: number;
  /** Redis for cross-instance mode (relay, presence, rooms, control); empty = one instance. */
  redisUrl: string;
  /** Prefix of every Redis key and channel (several deployments or tests share one Redis). */
  redisPrefix: string;
  /** This instance's name in the cluster (random when not set). */
  instanceId: string;
  /** A dead instance's presence is reaped this long after its last heartbeat. */
  presenceTtlMs: number;
  /** How often the relay compares the log's head with what it delivered. */
  relayCheckMs: number;
  /** Test-only fault hooks (see README, Testing); never set in production. */
  testFaults: string[];
  /** Demo mode: anonymous requests act as the demo guest; demo data is seeded. */
  demo: boolean;
  /** Seed the demo data in normal mode too (idempotent). */
  seed: boolean;
  signup: boolean;
  adminEmails: string[];
  pbkdf2Iterations: number;
  sessionTtlHours: number;
  sessionCacheMs: number;
  cookieSecure: boolean;
  /** Origins allowed to open WebSockets; empty means "same host as the request". */
  allowedOrigins: string[];
  transports: Transport[];
  maxBodyBytes: number;
  bodyTimeoutMs: number;
  sseHeartbeatMs: number;
  sseRetryMs: number;
  /** Bytes an SSE client may have queued (not yet read) before it is disconnected as slow. */
  sseQueueBytes: number;
  sseMaxBoards: number;
  sseMaxStreamsPerUser: number;
  maxCardsPerBoard: number;
  maxListsPerBoard: number;
  maxBoardsPerUser: number;
  longPollTimeoutMs: number;
  longPollMaxPerUser: number;
  wsHeartbeatMs: number;
  wsMaxMessageBytes: number;
  wsMaxConnectionsPerUser: number;
  /** Bytes a WebSocket may have buffered before ephemeral messages are dropped; twice that closes it. */
  wsBufferBytes: number;
  /** Typing/cursor messages per second per connection (token bucket, burst = 2 s worth). */
  wsEphemeralRate: number;
  typingTimeoutMs: number;
  eventRetentionCount: number;
  eventRetentionHours: number;
  eventRetentionPerBoard: number;
  pruneIntervalMs: number;
  shutdownTimeoutMs: number;
  logLevel: "debug" | "info" | "warn" | "silent";
  logFormat: "text" | "json";
  metricsToken: string;
}

type Kind = "int" | "bool" | "string" | "list";
interface Option {
  key: keyof Config;
  env: string;
  kind: Kind;
  default: string;
  min?: number;
  max?: number;
  choices?: readonly string[];
  secret?: boolean;
  /** Never printed: the start-up line shows `***` when it is set. */
  hidden?: boolean;
  help: string;
}

/** The table of settings; README's configuration section mirrors it. */
export const OPTIONS: Option[] = [
  { key: "port", env: "PORT", kind: "int", default: "3000", min: 0, help: "TCP port (0 = any)" },
  { key: "host", env: "HOST", kind: "string", default: "127.0.0.1", help: "interface to bind" },
  {
    key: "databaseUrl",
    env: "DATABASE_URL",
    kind: "string",
    default: "./data/liveboard.db",
    secret: true,
    help: "SQLite file path, or postgres://user@host:port/db",
  },
  {
    key: "databaseSchema",
    env: "DATABASE_SCHEMA",
    kind: "string",
    default: "public",
    help: "PostgreSQL schema for Liveboard's tables",
  },
  {
    key: "databaseLockTimeoutMs",
    env: "DATABASE_LOCK_TIMEOUT_MS",
    kind: "int",
    default: "5000",
    min: 10,
    help: "PostgreSQL lock and statement wait before a 503",
  },
  {
    key: "redisUrl",
    env: "REDIS_URL",
    kind: "string",
    default: "none",
    secret: true,
    help: "redis://host:port for several instances (none = one instance)",
  },
  {
    key: "redisPrefix",
    env: "REDIS_PREFIX",
    kind: "string",
    default: "liveboard:",
    help: "prefix of Redis keys and channels",
  },
  {
    key: "instanceId",
    env: "INSTANCE_ID",
    kind: "string",
    default: "random",
    help: "this instance's name in the cluster",
  },
  {
    key: "presenceTtlMs",
    env: "PRESENCE_TTL_MS",
    kind: "int",
    default: "10000",
    min: 100,
    help: "a silent instance's viewers leave after this",
  },
  {
    key: "relayCheckMs",
    env: "RELAY_CHECK_MS",
    kind: "int",
    default: "1000",
    min: 10,
    help: "relay head check (and poll while Redis is down: a quarter of it)",
  },
  {
    key: "testFaults",
    env: "LIVEBOARD_TEST_FAULTS",
    kind: "list",
    default: "",
    choices: ["exit_after_commit", "drop_publishes"],
    help: "test-only fault hooks",
  },
  { key: "demo", env: "DEMO", kind: "bool", default: "false", help: "demo mode" },
  { key: "seed", env: "SEED", kind: "bool", default: "false", help: "seed demo data" },
  { key: "signup", env: "SIGNUP", kind: "bool", default: "true", help: "allow POST /signup" },
  {
    key: "adminEmails",
    env: "ADMIN_EMAILS",
    kind: "list",
    default: "",
    help: "emails allowed /admin",
  },
  {
    key: "pbkdf2Iterations",
    env: "PBKDF2_ITERATIONS",
    kind: "int",
    default: "600000",
    min: 1000,
    help: "password hash cost",
  },
  {
    key: "sessionTtlHours",
    env: "SESSION_TTL_HOURS",
    kind: "int",
    default: "720",
    min: 1,
    help: "session lifetime",
  },
  {
    key: "sessionCacheMs",
    env: "SESSION_CACHE_MS",
    kind: "int",
    default: "1000",
    min: 0,
    max: 60_000,
    help: "how long a confirmed session is trusted without asking the store",
  },
  {
    key: "cookieSecure",
    env: "COOKIE_SECURE",
    kind: "bool",
    default: "false",
    help: "mark the session cookie Secure (behind HTTPS)",
  },
  {
    key: "allowedOrigins",
    env: "ALLOWED_ORIGINS",
    kind: "list",
    default: "",
    help: "extra origins allowed to open WebSockets",
  },
  {
    key: "transports",
    env: "TRANSPORTS",
    kind: "list",
    default: TRANSPORTS.join(","),
    choices: TRANSPORTS,
    help: "enabled transports",
  },
  {
    key: "maxBodyBytes",
    env: "MAX_BODY_BYTES",
    kind: "int",
    default: "65536",
    min: 1024,
    help: "largest request body",
  },
  {
    key: "bodyTimeoutMs",
    env: "BODY_TIMEOUT_MS",
    kind: "int",
    default: "10000",
    min: 100,
    help: "time a request body may take to arrive (408 after)",
  },
  {
    key: "sseHeartbeatMs",
    env: "SSE_HEARTBEAT_MS",
    kind: "int",
    default: "15000",
    min: 10,
    help: "SSE comment heartbeat",
  },
  {
    key: "sseRetryMs",
    env: "SSE_RETRY_MS",
    kind: "int",
    default: "3000",
    min: 0,
    help: "SSE retry hint",
  },
  {
    key: "sseQueueBytes",
    env: "SSE_QUEUE_BYTES",
    kind: "int",
    default: "1048576",
    min: 1024,
    help: "unread bytes before an SSE client is dropped as slow",
  },
  {
    key: "sseMaxBoards",
    env: "SSE_MAX_BOARDS",
    kind: "int",
    default: "20",
    min: 1,
    help: "boards in one /events stream",
  },
  {
    key: "maxCardsPerBoard",
    env: "MAX_CARDS_PER_BOARD",
    kind: "int",
    default: "5000",
    min: 1,
    help: "cards on one board (409 limit_reached above)",
  },
  {
    key: "maxListsPerBoard",
    env: "MAX_LISTS_PER_BOARD",
    kind: "int",
    default: "100",
    min: 1,
    help: "lists on one board (409 limit_reached above)",
  },
  {
    key: "maxBoardsPerUser",
    env: "MAX_BOARDS_PER_USER",
    kind: "int",
    default: "100",
    min: 1,
    help: "boards one user owns (409 limit_reached above)",
  },
  {
    key: "sseMaxStreamsPerUser",
    env: "SSE_MAX_STREAMS_PER_USER",
    kind: "int",
    default: "20",
    min: 1,
    help: "open SSE streams per user (429 above)",
  },
  {
    key: "longPollTimeoutMs",
    env: "LONGPOLL_TIMEOUT_MS",
    kind: "int",
    default: "30000",
    min: 10,
    help: "long-poll hold time",
  },
  {
    key: "longPollMaxPerUser",
    env: "LONGPOLL_MAX_PER_USER",
    kind: "int",
    default: "8",
    min: 1,
    help: "parked long polls per user",
  },
  {
    key: "wsHeartbeatMs",
    env: "WS_HEARTBEAT_MS",
    kind: "int",
    default: "30000",
    min: 10,
    help: "WebSocket ping interval",
  },
  {
    key: "wsMaxMessageBytes",
    env: "WS_MAX_MESSAGE_BYTES",
    kind: "int",
    default: "16384",
    min: 256,
    help: "largest WebSocket frame",
  },
  {
    key: "wsMaxConnectionsPerUser",
    env: "WS_MAX_CONNECTIONS_PER_USER",
    kind: "int",
    default: "20",
    min: 1,
    help: "sockets per user",
  },
  {
    key: "wsBufferBytes",
    env: "WS_BUFFER_BYTES",
    kind: "int",
    default: "1048576",
    min: 1024,
    help: "socket send buffer budget",
  },
  {
    key: "wsEphemeralRate",
    env: "WS_EPHEMERAL_RATE",
    kind: "int",
    default: "20",
    min: 1,
    help: "typing+cursor messages/s per socket",
  },
  {
    key: "typingTimeoutMs",
    env: "TYPING_TIMEOUT_MS",
    kind: "int",
    default: "5000",
    min: 10,
    help: "typing indicator expiry",
  },
  {
    key: "eventRetentionCount",
    env: "EVENT_RETENTION_COUNT",
    kind: "int",
    default: "100000",
    min: 1,
    help: "events kept in the log",
  },
  {
    key: "eventRetentionHours",
    env: "EVENT_RETENTION_HOURS",
    kind: "int",
    default: "168",
    min: 1,
    help: "age of the oldest kept event",
  },
  {
    key: "eventRetentionPerBoard",
    env: "EVENT_RETENTION_PER_BOARD",
    kind: "int",
    default: "1000",
    min: 0,
    help: "each board's newest events, kept whatever their age and the log's count",
  },
  {
    key: "pruneIntervalMs",
    env: "PRUNE_INTERVAL_MS",
    kind: "int",
    default: "60000",
    min: 10,
    help: "how often the log is pruned",
  },
  {
    key: "shutdownTimeoutMs",
    env: "SHUTDOWN_TIMEOUT_MS",
    kind: "int",
    default: "5000",
    min: 100,
    help: "graceful shutdown deadline",
  },
  {
    key: "logLevel",
    env: "LOG_LEVEL",
    kind: "string",
    default: "info",
    choices: ["debug", "info", "warn", "silent"],
    help: "log verbosity",
  },
  {
    key: "logFormat",
    env: "LOG_FORMAT",
    kind: "string",
    default: "text",
    choices: ["text", "json"],
    help: "log lines as text, or one JSON object each",
  },
  {
    key: "metricsToken",
    env: "METRICS_TOKEN",
    kind: "string",
    default: "",
    hidden: true,
    help: "a Bearer token that may read /metrics (admins' sessions may too)",
  },
];

/** A setting that could not be parsed; its message names the setting and the value. */
export class ConfigError extends Error {}

function flagName(option: Option): string {
  return "--" + option.env.toLowerCase().replaceAll("_", "-");
}

const TRUE_WORDS = ["1", "true", "yes", "on"];
const FALSE_WORDS = ["0", "false", "no", "off"];
const BOOL_WORDS = [...TRUE_WORDS, ...FALSE_WORDS];

/** Reads `--name value`, `--name=value` and bare boolean `--name` flags. */
function parseFlags(args: string[]): Map<string, string> {
  const known = new Map(OPTIONS.map((o) => [flagName(o), o]));
  const flags = new Map<string, string>();
  for (let i = 0; i < args.length; i++) {
    const arg = args[i];
    const eq = arg.indexOf("=");
    const name = eq === -1 ? arg : arg.slice(0, eq);
    const option = known.get(name);
    if (!option) throw new ConfigError(`Unknown flag "${arg}" (see README, Configuration)`);
    if (eq !== -1) flags.set(option.env, arg.slice(eq + 1));
    else if (option.kind === "bool") {
      // `--demo` alone means true; `--demo false` takes the word that follows when it is one.
      const next = args[i + 1]?.trim().toLowerCase();
      flags.set(option.env, next !== undefined && BOOL_WORDS.includes(next) ? args[++i] : "true");
    } else if (i + 1 < args.length) flags.set(option.env, args[++i]);
    else throw new ConfigError(`Flag "${name}" needs a value`);
  }
  return flags;
}

function parseValue(option: Option, raw: string): unknown {
  const bad = (why: string) =>
    new ConfigError(`Invalid ${option.env} "${raw}": ${why} (${option.help})`);
  switch (option.kind) {
    case "int": {
      if (!/^\d+$/.test(raw.trim())) throw bad("expected a whole number");
      const n = Number(raw);
      if (option.min !== undefined && n < option.min) throw bad(`must be at least ${option.min}`);
      if (option.max !== undefined && n > option.max) throw bad(`must be at most ${option.max}`);
      if (option.key === "port" && n > 65535) throw bad("must be at most 65535");
      return n;
    }
    case "bool": {
      const v = raw.trim().toLowerCase();
      if (TRUE_WORDS.includes(v)) return true;
      if (FALSE_WORDS.includes(v) || v === "") return false;
      throw bad("expected true or false");
    }
    case "list": {
      const items = raw.split(",").map((s) => s.trim()).filter(Boolean);
      for (const item of items) {
        if (option.choices && !option.choices.includes(item)) {
          throw bad(`"${item}" is not one of ${option.choices.join(", ")}`);
        }
      }
      return items;
    }
    case "string": {
      const v = raw.trim();
      // A setting whose default is empty is optional (METRICS_TOKEN); the others need a value.
      if (v === "" && option.default !== "") throw bad("must not be empty");
      if (option.choices && !option.choices.includes(v)) {
        throw bad(`expected one of ${option.choices.join(", ")}`);
      }
      return v;
    }
  }
}

/** Builds the configuration from flags, then environment, then defaults. */
export function loadConfig(
  args: string[] = [],
  env: Record<string, string | undefined> = {},
): Config {
  const flags = parseFlags(args);
  const config: Record<string, unknown> = {};
  for (const option of OPTIONS) {
    const raw = flags.get(option.env) ?? env[option.env] ?? option.default;
    config[option.key] = parseValue(option, raw);
  }
  const result = config as unknown as Config;
  // Demo data (with its public password) lives in its own file, so a later normal-mode start
  // on the default database never inherits the demo accounts.
  if (result.demo && (flags.get("DATABASE_URL") ?? env.DATABASE_URL) === undefined) {
    result.databaseUrl = DEMO_DATABASE;
  }
  checkCombined(result);
  return result;
}

/** The default database in demo mode. */
export const DEMO_DATABASE = "./data/demo.db";

/** Which store a DATABASE_URL names: a `postgres://` URL, or else a SQLite path. */
export function storeKind(databaseUrl: string): "postgres" | "sqlite" {
  return /^postgres(ql)?:\/\//i.test(databaseUrl) ? "postgres" : "sqlite";
}

/** Checks that need more than one value's syntax. */
function checkCombined(config: Config): void {
  const scheme = /^([a-z][a-z0-9+.-]*):\/\//i.exec(config.databaseUrl);
  if (scheme && storeKind(config.databaseUrl) !== "postgres") {
    throw new ConfigError(
      `Invalid DATABASE_URL "${redact(config.databaseUrl)}": ${scheme[1]}:// is not supported; ` +
        "give a SQLite file path or a postgres:// URL",
    );
  }
  if (scheme) {
    try {
      new URL(config.databaseUrl);
    } catch {
      throw new ConfigError(
        `Invalid DATABASE_URL "${redact(config.databaseUrl)}": not a valid postgres:// URL`,
      );
    }
  }
  if (config.redisUrl === "none") config.redisUrl = "";
  if (config.instanceId === "random") config.instanceId = crypto.randomUUID().slice(0, 8);
  if (config.redisUrl) {
    if (!/^rediss?:\/\//i.test(config.redisUrl)) {
      throw new ConfigError(
        `Invalid REDIS_URL "${redact(config.redisUrl)}": expected redis://host:port (or none)`,
      );
    }
    if (storeKind(config.databaseUrl) !== "postgres") {
      throw new ConfigError(
        "Invalid REDIS_URL with a SQLite DATABASE_URL: several instances need a shared " +
          "store; set DATABASE_URL to a postgres:// URL, or unset REDIS_URL for one instance",
      );
    }
  }
  if (!/^[\w.:-]{1,64}$/.test(config.instanceId)) {
    throw new ConfigError(
      `Invalid INSTANCE_ID "${config.instanceId}": use letters, digits, . _ : -`,
    );
  }
  if (!/^[a-z_][a-z0-9_]{0,62}$/.test(config.databaseSchema)) {
    throw new ConfigError(
      `Invalid DATABASE_SCHEMA "${config.databaseSchema}": use lower-case letters, digits and _`,
    );
  }
  if (config.transports.length === 0) {
    throw new ConfigError(`Invalid TRANSPORTS "": enable at least one of ${TRANSPORTS.join(", ")}`);
  }
  for (const email of config.adminEmails) {
    if (!/^[^@\s]+@[^@\s]+$/.test(email)) {
      throw new ConfigError(`Invalid ADMIN_EMAILS: "${email}" is not an email address`);
    }
  }
  for (const origin of config.allowedOrigins) {
    let parsed: URL | undefined;
    try {
      parsed = new URL(origin);
    } catch {
      // reported below
    }
    if (!parsed || parsed.origin !== origin) {
      throw new ConfigError(
        `Invalid ALLOWED_ORIGINS: "${origin}" is not an origin like https://board.example.com`,
      );
    }
  }
}

/** Reads the process's environment for every known setting (needs --allow-env). */
export function processEnv(): Record<string, string | undefined> {
  return Object.fromEntries(OPTIONS.map((o) => [o.env, Deno.env.get(o.env)]));
}

/** Test-friendly config: defaults overridden by `overrides`. */
export function configWith(overrides: Partial<Config>): Config {
  return { ...loadConfig([], {}), ...overrides };
}

/** One line for the start-up log, secrets masked. */
export function describeConfig(config: Config): string {
  return OPTIONS.map((o) => {
    const value = config[o.key];
    const text = Array.isArray(value) ? value.join(",") : String(value);
    if (o.hidden) return `${o.env}=${text ? "***" : ""}`;
    return `${o.env}=${o.secret ? redact(text) : text}`;
  }).join(" ");
}

function redact(url: string): string {
  return url.replace(/\/\/([^:@/]+):([^@/]+)@/, "//$1:***@");
}
