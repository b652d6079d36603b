/**
 * Model-based property tests: random sequences of operations from several users (the owner and
 * one or two members, who may be removed, leave and be added again) against a real server, over
 * REST and the WebSocket's mutation messages — cards, lists, the board, members, and the trash and
 * undo: restoring cards and lists, reverting any earlier event of the board (anyone's, stale ones,
 * board and member events, ones from before a member joined), keyed and sent again. Every answer
 * is checked against a simple model of the board as it happens (its trash and its log included,
 * with what each event's inverse needs); after each sequence (a) the snapshot and the trash are
 * the model's and every event says what the model expects, (b) the board's event log from cursor 0,
 * folded with the browser client's own `BoardModel.applyEvent`, is the snapshot, (c) positions are
 * dense and nothing is orphaned. The servers run with small card and list limits. Parts:
 * tests/model_helpers.ts.
 *
 * MODEL_SEED (default 20261203) and MODEL_RUNS (default 80 sequences) make a run reproducible;
 * a failure prints the seed, the shrunk sequence, what each of its operations answered, and
 * MODEL_PATH, which replays just that shrunk sequence:
 *   MODEL_SEED=7 MODEL_RUNS=500 deno test -A tests/model_test.ts
 * MODEL_MAX_OPS (default 30) bounds a sequence's length.
 * MODEL_VERBOSE=1 also prints how many answers of each kind (by request: ok, or the error code)
 * there were.
 */
import fc from "fast-check";
import { startTestServer, TEST_STORE, type TestServer } from "./helpers.ts";
import { WsClient } from "./ws_helpers.ts";
import {
  type Ctx,
  type FoldFrom,
  type Limits,
  MutationSocket,
  newStats,
  reorderedRetryScenarioArb,
  runScenario,
  type Scenario,
  scenarioArb,
  undoScenarioArb,
  USERS,
} from "./model_helpers.ts";

const SEED = Number(Deno.env.get("MODEL_SEED") ?? 20261203);
const RUNS = Number(Deno.env.get("MODEL_RUNS") ?? 80);
const PATH = Deno.env.get("MODEL_PATH");
const MAX_OPS = Number(Deno.env.get("MODEL_MAX_OPS") ?? 30);

/**
 * Small card and list limits, so sequences reach them (creates, restores and reverts that
 * restore are refused with 409 limit_reached); every sequence makes a board of Alice's, so she
 * may own as many as it takes.
 */
const LIMITS: Limits = { cards: 9, lists: 4 };

/** A server with the three users signed in, each with a WebSocket; all closed by `close`. */
async function open(): Promise<Ctx & { close(): Promise<void> }> {
  const server: TestServer = await startTestServer({
    maxCardsPerBoard: LIMITS.cards,
    maxListsPerBoard: LIMITS.lists,
    maxBoardsPerUser: 1_000_000,
  });
  const sockets: WsClient[] = [];
  const close = async () => {
    await Promise.all(sockets.map((s) => s.close()));
    await server.shutdown();
  };
  try {
    const tokens = await Promise.all(USERS.map((u) => server.login(u.email)));
    for (const token of tokens) sockets.push(await WsClient.open(server, { token }));
    const mutationSockets = sockets.map((s) => new MutationSocket(s));
    return { server, tokens, sockets: mutationSockets, stats: newStats(), limits: LIMITS, close };
  } catch (error) {
    await close();
    throw error;
  }
}

/**
 * Runs the property on a server of its own and prints one summary line; on failure, throws with
 * the seed, the shrunk sequence and the error of its last run (which lists what each of its
 * operations answered).
 */
async function check(
  test: string,
  label: string,
  arbitrary: fc.Arbitrary<Scenario>,
  foldFrom: FoldFrom,
  runs: number,
): Promise<void> {
  const ctx = await open();
  const started = performance.now();
  try {
    const details = await fc.check(
      fc.asyncProperty(arbitrary, (scenario) => runScenario(ctx, scenario, foldFrom)),
      { seed: SEED, numRuns: runs, ...(PATH ? { path: PATH } : {}) },
    );
    const s = ctx.stats;
    const seconds = ((performance.now() - started) / 1000).toFixed(1);
    console.log(
      `${label}: ${s.sequences} sequences, ${s.operations} operations, ${s.requests} requests ` +
        `(${s.ws} over WebSocket; ${s.refused} refused, of which ${s.conflicts} version ` +
        `conflicts and ${s.removedWrites} writes by removed members; ${s.races} races, ` +
        `${s.retries} retries), seed ${SEED}, ${TEST_STORE}, ${seconds} s`,
    );
    if (Deno.env.get("MODEL_VERBOSE")) {
      const sorted = Object.entries(s.outcomes).sort(([a], [b]) => a.localeCompare(b));
      console.log(`answers: ${sorted.map(([k, n]) => `${k}: ${n}`).join(", ")}`);
    }
    if (details.failed) {
      const error = details.errorInstance instanceof Error
        ? details.errorInstance.message
        : String(details.errorInstance);
      const store = TEST_STORE === "postgres" ? "LIVEBOARD_TEST_STORE=postgres " : "";
      throw new Error(
        `Property failed after ${details.numRuns} sequence(s), seed ${details.seed}, shrunk ` +
          `${details.numShrinks} time(s).\n` +
          `Reproduce: ${store}MODEL_SEED=${details.seed} MODEL_RUNS=${RUNS} ` +
          `deno test -A tests/model_test.ts --filter "${test}"\n` +
          `Only the shrunk sequence: add MODEL_PATH="${details.counterexamplePath}"\n` +
          `Shrunk sequence: ${JSON.stringify(details.counterexample?.[0])}\n${error}`,
      );
    }
  } finally {
    await ctx.close();
  }
}

/** Declares a property test: its name is also the `--filter` that reproduces it. */
function property(
  name: string,
  label: string,
  arbitrary: fc.Arbitrary<Scenario>,
  foldFrom: FoldFrom,
  runs = RUNS,
): void {
  Deno.test(name, () => check(name, label, arbitrary, foldFrom, runs));
}

property(
  "random operation sequences from several users leave the board exactly as a simple model predicts",
  "model",
  scenarioArb(MAX_OPS),
  "created",
);

// The issue's property (b) read strictly: from cursor 0 and an empty board, with no snapshot to
// start from. Fails until `board_created` carries what a new board starts with (its three lists
// and its owner) and `applyEvent` applies it.
property(
  "folding a board's whole event log from an empty board with the client's applyEvent rebuilds its snapshot",
  "model, log from cursor 0",
  scenarioArb(MAX_OPS),
  "empty",
  Math.max(1, Math.ceil(RUNS / 4)),
);

// The same JSON body with its members in another order is the same request. Fails until the
// idempotency fingerprint stops hashing the body's field order (src/idempotency.ts).
property(
  "a keyed request retried with its JSON fields in another order is answered once, not refused",
  "model, reordered retries",
  reorderedRetryScenarioArb(8),
  "created",
  Math.max(1, Math.ceil(RUNS / 4)),
);

// Undo and redo, sent with a key and sent again later: the answer must be the first one, "whatever
// changed since" (README, Idempotency keys). Fails until a revert sent again answers from its
// key's record before its own checks, and answers the event that key made — not the newest revert
// of the same event by the same user (Actions.revert, #revertOfBy).
property(
  "an undo sent again with its idempotency key is answered with the event it made, once",
  "model, keyed undo and redo",
  undoScenarioArb(12),
  "created",
  Math.max(1, Math.ceil(RUNS / 4)),
);
