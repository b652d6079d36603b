/** The values every store writes into new rows: ids and timestamps. */
import { ulid } from "ulid";

/** The current time as stored: fixed-width ISO-8601 UTC with milliseconds. */
export const now = (): string => new Date().toISOString();

/**
 * Random fractions for `ulid`, drawn from a pool refilled 4 KiB at a time: by default ulid makes
 * one `crypto.getRandomValues` call per character (about 5 µs an id, on every insert). A byte / 256
 * is as uniform over ulid's 32 symbols as its own generator.
 */
const randomPool = new Uint8Array(4096);
let randomNext = randomPool.length;
function random(): number {
  if (randomNext === randomPool.length) {
    crypto.getRandomValues(randomPool);
    randomNext = 0;
  }
  return randomPool[randomNext++] / 256;
}

/** A new sortable id such as `task-01j…` (a lower-case ulid after the prefix). */
export const newId = (prefix: string): string =>
  `${prefix}-${ulid(undefined, random).toLowerCase()}`;
