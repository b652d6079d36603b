/** The SSE wire format, byte for byte (WHATWG HTML §9.2), and the single-line rule for id/event. */
import assert from "node:assert/strict";
import { encodeSse, formatSse } from "../src/realtime/sse_format.ts";

const bytes = (text: string) => new TextEncoder().encode(text);

Deno.test("an event with id, name and data is framed as id, event, data and a blank line", () => {
  assert.deepEqual(
    encodeSse({ id: 42, event: "task_created", data: '{"type":"task_created"}' }),
    bytes('id: 42\nevent: task_created\ndata: {"type":"task_created"}\n\n'),
  );
});

Deno.test("an unnamed data message has only a data line", () => {
  assert.equal(formatSse({ data: '{"type":"connected"}' }), 'data: {"type":"connected"}\n\n');
});

Deno.test("fields come in a fixed order: comment, retry, id, event, data", () => {
  assert.equal(
    formatSse({ data: "d", event: "e", id: "7", retry: 1500, comment: "c" }),
    ": c\nretry: 1500\nid: 7\nevent: e\ndata: d\n\n",
  );
});

Deno.test("multi-line data becomes one data line per line, whatever the line ending", () => {
  assert.equal(formatSse({ data: "a\nb\r\nc\rd" }), "data: a\ndata: b\ndata: c\ndata: d\n\n");
  assert.equal(formatSse({ data: "" }), "data: \n\n");
  assert.equal(formatSse({ data: "x\n" }), "data: x\ndata: \n\n");
});

Deno.test("a heartbeat is a comment line and a retry hint is a whole number", () => {
  assert.equal(formatSse({ comment: "heartbeat" }), ": heartbeat\n\n");
  assert.equal(formatSse({ comment: "two\nlines" }), ": two\n: lines\n\n");
  assert.equal(formatSse({ retry: 3000 }), "retry: 3000\n\n");
  assert.equal(formatSse({ retry: 2500.9 }), "retry: 2500\n\n");
});

Deno.test("data is encoded as UTF-8", () => {
  assert.deepEqual(
    encodeSse({ data: "é ✓ 🎉" }),
    new Uint8Array([
      ...bytes("data: "),
      0xc3,
      0xa9,
      0x20,
      0xe2,
      0x9c,
      0x93,
      0x20,
      0xf0,
      0x9f,
      0x8e,
      0x89,
      0x0a,
      0x0a,
    ]),
  );
});

Deno.test("a newline, carriage return or NUL in id or event is refused", () => {
  for (const bad of ["a\nb", "a\rb", "a\r\nb", "a\0b", "\n"]) {
    assert.throws(() => formatSse({ id: bad, data: "x" }), TypeError, `id ${JSON.stringify(bad)}`);
    assert.throws(() => formatSse({ event: bad, data: "x" }), TypeError);
  }
  assert.throws(
    () => formatSse({ event: "task_created\ndata: forged", data: "x" }),
    /SSE event must be one line/,
  );
});
