/**
 * Liveboard's entry point: read the configuration, start the server, and shut down gracefully
 * on SIGINT/SIGTERM. Everything else lives in src/.
 */
import { ConfigError, describeConfig, loadConfig, processEnv } from "./src/config.ts";
import { startServer } from "./src/server.ts";

/** A bad setting (or a port/host/database it names) ends the process with exit code 2. */
function exitForConfig(error: unknown): never {
  if (!(error instanceof ConfigError)) throw error;
  console.error(`liveboard: ${error.message}`);
  Deno.exit(2);
}

let config;
try {
  config = loadConfig(Deno.args, processEnv());
} catch (error) {
  exitForConfig(error);
}

const server = await startServer(config).catch(exitForConfig);
const mode = config.demo ? "demo mode (anonymous requests act as the demo guest)" : "normal mode";
console.log(`Liveboard listening on ${server.url} in ${mode}`);
console.log(`config: ${describeConfig(config)}`);

for (const signal of ["SIGINT", "SIGTERM"] as const) {
  Deno.addSignalListener(signal, () => {
    server.shutdown().then(() => Deno.exit(0));
  });
}
