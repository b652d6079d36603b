/**
 * Server-Sent Events wire format (WHATWG HTML §9.2): turns a message into the exact bytes of
 * one event block. `id` and `event` must be single-line; `data` may span lines, each of which
 * becomes its own `data:` line.
 */

export interface SseMessage {
  comment?: string;
  retry?: number;
  id?: number | string;
  event?: string;
  data?: string;
}

const encoder = new TextEncoder();

function singleLine(field: string, value: string): string {
  if (/[\r\n\0]/.test(value)) throw new TypeError(`SSE ${field} must be one line: "${value}"`);
  return value;
}

/** The text of one SSE block, ending with the blank line that dispatches it. */
export function formatSse(message: SseMessage): string {
  let text = "";
  if (message.comment !== undefined) {
    for (const line of message.comment.split(/\r\n|\r|\n/)) text += `: ${line}\n`;
  }
  if (message.retry !== undefined) text += `retry: ${Math.trunc(message.retry)}\n`;
  if (message.id !== undefined) text += `id: ${singleLine("id", String(message.id))}\n`;
  if (message.event !== undefined) text += `event: ${singleLine("event", message.event)}\n`;
  if (message.data !== undefined) {
    for (const line of message.data.split(/\r\n|\r|\n/)) text += `data: ${line}\n`;
  }
  return text + "\n";
}

export function encodeSse(message: SseMessage): Uint8Array {
  return encoder.encode(formatSse(message));
}
