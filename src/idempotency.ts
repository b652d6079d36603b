/**
 * Idempotency keys from the client's side of the contract: what a key may look like, and the
 * fingerprint of the request it names (the action, its target and its input, hashed), so that
 * the same key sent again for a different request is refused instead of answered with the
 * first one's result. REST reads the key from the `Idempotency-Key` header, WebSocket from the
 * message's `idempotencyKey`; both reach the same `Actions` method, so a retry may even switch
 * transports. The store records and replays (see `MutationOptions` in store/store.ts).
 */
import { badRequest } from "./errors.ts";
import type { IdempotencyKey } from "./store/store.ts";

/** Letters, digits and `_-.:`, 1 to 200 of them (a UUID fits; so does `outbox:42`). */
const KEY = /^[\w.:-]{1,200}$/;

/** A key as sent (null when none was), checked; 400 `invalid_idempotency_key` when malformed. */
export function parseIdempotencyKey(raw: string | null | undefined): string | null {
  if (raw === null || raw === undefined) return null;
  if (!KEY.test(raw)) {
    throw badRequest(
      "invalid_idempotency_key",
      "An idempotency key is 1 to 200 letters, digits or _-.: characters",
    );
  }
  return raw;
}

/** The key with the fingerprint of the request it names. */
export async function idempotencyKey(
  key: string,
  action: string,
  target: string,
  input: unknown,
): Promise<IdempotencyKey> {
  const text = JSON.stringify([action, target, canonical(input ?? null)]);
  const digest = await crypto.subtle.digest("SHA-256", new TextEncoder().encode(text));
  return { key, fingerprint: btoa(String.fromCharCode(...new Uint8Array(digest))) };
}

/**
 * The value with every object's keys in sorted order, so that the same input fingerprints the
 * same however its fields were ordered (a retry may come through the other door, whose client
 * builds the message in another order).
 */
function canonical(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(canonical);
  if (value === null || typeof value !== "object") return value;
  const entries = Object.entries(value as Record<string, unknown>)
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    .map(([key, item]) => [key, canonical(item)]);
  return Object.fromEntries(entries);
}
