/**
 * Liveboard's entry point: read the configuration, start the server, and shut down gracefully
 * on SIGINT/SIGTERM — or, as `main.ts backup <file>`, copy the SQLite database while it serves.
 * Everything else lives in src/.
 */
import { ConfigError, describeConfig, loadConfig, processEnv, storeKind } from "./src/config.ts";
import { backupSqlite } from "./src/store/sqlite/backup.ts";
import { log } from "./src/log.ts";
import { startServer } from "./src/server.ts";

/** A bad setting (or a port/host/database it names) ends the process with exit code 2. */
function exitForConfig(error: unknown): never {
  if (!(error instanceof ConfigError)) throw error;
  console.error(`liveboard: ${error.message}`);
  Deno.exit(2);
}

// `main.ts backup <file> [settings]`: a consistent copy of the SQLite database, while it serves.
if (Deno.args[0] === "backup") {
  const [, target, ...settings] = Deno.args;
  try {
    if (!target || target.startsWith("--")) throw new ConfigError("Name the backup file");
    const { databaseUrl } = loadConfig(settings, processEnv());
    if (storeKind(databaseUrl) === "postgres") {
      throw new ConfigError("DATABASE_URL is PostgreSQL: back it up with pg_dump");
    }
    await backupSqlite(databaseUrl, target);
    console.log(`liveboard: backed up ${databaseUrl} to ${target}`);
    Deno.exit(0);
  } catch (error) {
    if (error instanceof ConfigError) exitForConfig(error);
    console.error(`liveboard: backup failed: ${(error as Error).message}`);
    Deno.exit(1);
  }
}

let config;
try {
  config = loadConfig(Deno.args, processEnv());
} catch (error) {
  exitForConfig(error);
}

const server = await startServer(config).catch(exitForConfig);
const mode = config.demo ? "demo mode (anonymous requests act as the demo guest)" : "normal mode";
log.always(`Liveboard listening on ${server.url} in ${mode}`, { url: server.url });
log.always(`config: ${describeConfig(config)}`);

for (const signal of ["SIGINT", "SIGTERM"] as const) {
  Deno.addSignalListener(signal, () => {
    server.shutdown().then(() => Deno.exit(0));
  });
}
