/**
 * The benchmark's side of the Node load generators: `LoadClient` drives one load_client.mjs
 * process (JSON lines over stdin/stdout), `runWriteClient` runs write_client.mjs once.
 */
import { Child, CLIENT_CORE } from "./procs.ts";

const here = import.meta.dirname!;

// deno-lint-ignore no-explicit-any
type Reply = Record<string, any>;

export class LoadClient {
  #child: Child;
  #nextId = 1;
  #pending = new Map<number, (reply: Reply) => void>();

  constructor(nodeModules: string, readonly label: string) {
    this.#child = new Child(`load client ${label}`, "node", [
      `${here}/load_client.mjs`,
      nodeModules,
    ], {
      core: CLIENT_CORE,
      stdin: true,
      onLine: (line) => {
        const reply = JSON.parse(line) as Reply;
        this.#pending.get(reply.id)?.(reply);
        this.#pending.delete(reply.id);
      },
    });
  }

  /** Sends one command and resolves with its reply; a reply with `error` rejects. */
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

  async stop(): Promise<void> {
    await this.#child.stop();
  }
}

export interface WriteRun {
  requests: number;
  errors: number;
  seconds: number;
  latencies: number[];
  firstError: string;
}

/** Runs the write-path generator to completion (pinned to the client core). */
export async function runWriteClient(options: Record<string, unknown>): Promise<WriteRun> {
  let output = "";
  const child = new Child("write client", "node", [
    `${here}/write_client.mjs`,
    JSON.stringify(options),
  ], { core: CLIENT_CORE, onLine: (line) => output = line });
  const status = await child.process.status;
  await child.drained;
  if (!status.success || !output) {
    throw new Error(`write client failed (${status.code}):\n${child.tail}`);
  }
  return JSON.parse(output);
}
