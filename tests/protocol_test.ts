/**
 * The protocol's one table (static/js/protocol.js) against what is documented and what is sent:
 * the README lists exactly its error codes with their statuses and its close codes, and every
 * reason that ends a connection for good is also an error code.
 */
import assert from "node:assert/strict";
import { CLOSE_REASONS, ERROR_CODES, finalAction } from "../static/js/protocol.js";
import { AppError } from "../src/errors.ts";

const readme = await Deno.readTextFile(new URL("../README.md", import.meta.url));

/** The rows of the first table after `heading` in the README, as arrays of trimmed cells. */
function tableAfter(heading: string): string[][] {
  const start = readme.indexOf(heading);
  assert.ok(start >= 0, `README has a "${heading}" section`);
  const lines = readme.slice(start).split("\n");
  const first = lines.findIndex((line) => line.startsWith("|"));
  const rows = [];
  for (const line of lines.slice(first + 2)) {
    if (!line.startsWith("|")) break;
    rows.push(line.split("|").slice(1, -1).map((cell) => cell.trim()));
  }
  return rows;
}

Deno.test("the README's Errors table lists exactly the protocol's error codes, each with its status", () => {
  const documented = new Map(
    tableAfter("### Errors").map(([status, code]) => [code.replaceAll("`", ""), Number(status)]),
  );
  const table = new Map(Object.entries(ERROR_CODES).map(([code, { status }]) => [code, status]));
  assert.deepEqual(documented, table);
});

Deno.test("the README's close codes are the protocol's close reasons", () => {
  const rows = tableAfter("#### Close codes");
  for (const reason of Object.values(CLOSE_REASONS)) {
    if (reason.code === 1000) continue;
    const row = rows.find(([code]) => Number(code) === reason.code);
    assert.ok(row, `close code ${reason.code} is documented`);
    assert.ok(
      row[1].includes(`\`${reason.name}\``),
      `close code ${reason.code} names ${reason.name}`,
    );
    assert.equal(row[2].includes("**no**"), !reason.reconnect, `reconnect hint of ${reason.name}`);
  }
});

Deno.test("every reason that ends a connection for good is an error code the client knows", () => {
  for (const reason of Object.values(CLOSE_REASONS)) {
    if (reason.reconnect || reason.code === 1000) continue;
    assert.ok(reason.name in ERROR_CODES, `${reason.name} is an error code`);
  }
  assert.equal(finalAction(CLOSE_REASONS.unauthorized.name), "auth");
  assert.equal(finalAction(CLOSE_REASONS.boardDeleted.name), "stop");
  assert.equal(finalAction(CLOSE_REASONS.slow.name), null);
});

Deno.test("an error takes its status from the table", () => {
  for (const [code, { status }] of Object.entries(ERROR_CODES)) {
    const error = new AppError(code as keyof typeof ERROR_CODES, "x");
    assert.equal(error.status, status);
    assert.deepEqual(error.toJSON(), { error: { code, message: "x" } });
  }
});
