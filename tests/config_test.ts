/**
 * Configuration: defaults, environment variables, flags (which win), and a precise error naming
 * the setting for every kind of bad value.
 */
import assert from "node:assert/strict";
import {
  ConfigError,
  configWith,
  describeConfig,
  loadConfig,
  OPTIONS,
  processEnv,
  TRANSPORTS,
} from "../src/config.ts";

const flagOf = (env: string) => "--" + env.toLowerCase().replaceAll("_", "-");

Deno.test("the defaults serve on port 3000 in normal mode with every transport", () => {
  const config = loadConfig([], {});
  assert.equal(config.port, 3000);
  assert.equal(config.host, "127.0.0.1");
  assert.equal(config.databaseUrl, "./data/liveboard.db");
  assert.equal(config.demo, false);
  assert.equal(config.seed, false);
  assert.equal(config.signup, true);
  assert.deepEqual(config.adminEmails, []);
  assert.deepEqual(config.transports, [...TRANSPORTS]);
  assert.equal(config.sseHeartbeatMs, 15_000);
  assert.equal(config.longPollTimeoutMs, 30_000);
  assert.equal(config.maxBodyBytes, 65_536);
  assert.equal(config.logLevel, "info");
});

Deno.test("environment variables set values and flags override them", () => {
  const env = {
    PORT: "4000",
    DEMO: "yes",
    TRANSPORTS: "sse, poll",
    ADMIN_EMAILS: "a@example.com, b@example.com,",
    DATABASE_URL: "/tmp/x.db",
    LONGPOLL_TIMEOUT_MS: "500",
  };
  const fromEnv = loadConfig([], env);
  assert.equal(fromEnv.port, 4000);
  assert.equal(fromEnv.demo, true);
  assert.deepEqual(fromEnv.transports, ["sse", "poll"]);
  assert.deepEqual(fromEnv.adminEmails, ["a@example.com", "b@example.com"]);
  assert.equal(fromEnv.databaseUrl, "/tmp/x.db");
  assert.equal(fromEnv.longPollTimeoutMs, 500);

  const flagged = loadConfig(
    ["--port", "5000", "--demo=false", "--longpoll-timeout-ms=750", "--signup", "off"],
    env,
  );
  assert.equal(flagged.port, 5000);
  assert.equal(flagged.demo, false);
  assert.equal(flagged.longPollTimeoutMs, 750);
  assert.equal(flagged.signup, false);
  assert.deepEqual(flagged.transports, ["sse", "poll"], "unflagged settings keep the env value");
});

Deno.test("a bare boolean flag switches it on", () => {
  assert.equal(loadConfig(["--demo"], { DEMO: "false" }).demo, true);
  assert.equal(loadConfig(["--seed", "--port", "1"], {}).seed, true);
  // A boolean word right after the flag is its value.
  const explicit = loadConfig(["--demo", "false", "--port", "1"], { DEMO: "true" });
  assert.deepEqual([explicit.demo, explicit.port], [false, 1]);
  for (
    const [raw, value] of [["1", true], ["on", true], ["TRUE", true], ["0", false], ["no", false]]
  ) {
    assert.equal(loadConfig([], { COOKIE_SECURE: raw as string }).cookieSecure, value, String(raw));
  }
});

Deno.test("every setting can be given as a flag named after its variable", () => {
  const defaults = loadConfig([], {});
  for (const option of OPTIONS) {
    const raw = option.default === "" ? "" : option.default;
    const config = loadConfig([`${flagOf(option.env)}=${raw}`], {});
    if (option.env === "INSTANCE_ID") continue; // "random" draws a new name each time
    assert.deepEqual(config[option.key], defaults[option.key], option.env);
  }
});

Deno.test("a bad value stops start-up with a message naming the setting and the value", () => {
  const cases: [string[], Record<string, string>, RegExp][] = [
    [["--port", "abc"], {}, /^Invalid PORT "abc": expected a whole number/],
    [[], { PORT: "abc" }, /^Invalid PORT "abc"/],
    [[], { PORT: "70000" }, /^Invalid PORT "70000": must be at most 65535/],
    [[], { PORT: "-1" }, /^Invalid PORT "-1"/],
    [[], { PORT: "3.5" }, /^Invalid PORT "3.5"/],
    [[], { DEMO: "maybe" }, /^Invalid DEMO "maybe": expected true or false/],
    [[], { SSE_HEARTBEAT_MS: "5" }, /^Invalid SSE_HEARTBEAT_MS "5": must be at least 10/],
    [[], { MAX_BODY_BYTES: "10" }, /^Invalid MAX_BODY_BYTES "10": must be at least 1024/],
    [
      [],
      { TRANSPORTS: "sse,carrier-pigeon" },
      /^Invalid TRANSPORTS .*"carrier-pigeon" is not one of/,
    ],
    [
      [],
      { LOG_LEVEL: "loud" },
      /^Invalid LOG_LEVEL "loud": expected one of debug, info, warn, silent/,
    ],
    [[], { HOST: "  " }, /^Invalid HOST .*must not be empty/],
    [
      [],
      { DATABASE_URL: "mysql://u:p@db/liveboard" },
      /^Invalid DATABASE_URL "mysql:\/\/u:\*\*\*@db\/liveboard": mysql:\/\/ is not supported/,
    ],
    [[], { DATABASE_URL: "sqlite://x.db" }, /^Invalid DATABASE_URL .*give a SQLite file path/],
    [[], { DATABASE_URL: "postgres://[bad" }, /^Invalid DATABASE_URL .*not a valid postgres/],
    [[], { DATABASE_SCHEMA: "Drop;" }, /^Invalid DATABASE_SCHEMA "Drop;"/],
    [[], { REDIS_URL: "localhost:6379", DATABASE_URL: "postgres://h/db" }, /^Invalid REDIS_URL/],
    [[], { REDIS_URL: "redis://h:6379" }, /^Invalid REDIS_URL with a SQLite DATABASE_URL/],
    [[], { INSTANCE_ID: "a b" }, /^Invalid INSTANCE_ID "a b"/],
    [["--transports", ""], {}, /^Invalid TRANSPORTS "": enable at least one/],
    [[], { TRANSPORTS: ",," }, /^Invalid TRANSPORTS "": enable at least one/],
    [[], { PBKDF2_ITERATIONS: "1" }, /^Invalid PBKDF2_ITERATIONS "1": must be at least 1000/],
    [[], { ADMIN_EMAILS: "root" }, /^Invalid ADMIN_EMAILS: "root" is not an email address/],
    [[], { ALLOWED_ORIGINS: "notaurl" }, /^Invalid ALLOWED_ORIGINS: "notaurl" is not an origin/],
    [
      [],
      { ALLOWED_ORIGINS: "https://a.example.com/path" },
      /^Invalid ALLOWED_ORIGINS: "https:\/\/a.example.com\/path"/,
    ],
    [["--prot", "3000"], {}, /^Unknown flag "--prot"/],
    [["3000"], {}, /^Unknown flag "3000"/],
    [["--port"], {}, /^Flag "--port" needs a value/],
  ];
  for (const [args, env, message] of cases) {
    assert.throws(() => loadConfig(args, env), (error: unknown) => {
      assert.ok(error instanceof ConfigError, String(error));
      assert.match(error.message, message);
      return true;
    });
  }
});

Deno.test("the start-up description lists every setting and masks a password in a URL", () => {
  const text = describeConfig(configWith({ databaseUrl: "sqlite://admin:hunter2@host/board.db" }));
  for (const option of OPTIONS) assert.match(text, new RegExp(`(^| )${option.env}=`));
  assert.match(text, /DATABASE_URL=sqlite:\/\/admin:\*\*\*@host\/board\.db/);
  assert.doesNotMatch(text, /hunter2/);
  assert.match(describeConfig(loadConfig([], {})), /PORT=3000 HOST=127\.0\.0\.1 /);
});

Deno.test("processEnv reads exactly the known variables", () => {
  const saved = Deno.env.get("SSE_RETRY_MS");
  Deno.env.set("SSE_RETRY_MS", "1234");
  try {
    const env = processEnv();
    assert.deepEqual(Object.keys(env).sort(), OPTIONS.map((o) => o.env).sort());
    assert.equal(loadConfig([], env).sseRetryMs, 1234);
  } finally {
    if (saved === undefined) Deno.env.delete("SSE_RETRY_MS");
    else Deno.env.set("SSE_RETRY_MS", saved);
  }
});

Deno.test("demo mode keeps its data in its own database file unless one is named", () => {
  assert.equal(loadConfig([], {}).databaseUrl, "./data/liveboard.db");
  assert.equal(loadConfig(["--demo"], {}).databaseUrl, "./data/demo.db");
  assert.equal(loadConfig(["--demo", "--database-url", "x.db"], {}).databaseUrl, "x.db");
  assert.equal(loadConfig([], { DEMO: "true", DATABASE_URL: "y.db" }).databaseUrl, "y.db");
  assert.equal(
    loadConfig(["--allowed-origins", "https://a.example.com"], {}).allowedOrigins[0],
    "https://a.example.com",
  );
});
