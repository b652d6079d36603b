/**
 * Accounts and sessions: PBKDF2 password hashing with `crypto.subtle`, random session tokens
 * stored only as SHA-256 hashes, the short-lived cache of sessions the store confirmed, and
 * `authenticate`, which turns a request's `session` cookie or `Authorization: Bearer` token
 * into a user (or the demo guest, in demo mode).
 */
import type { Store, User } from "./store/store.ts";
import { unauthorized } from "./errors.ts";

export const SESSION_COOKIE = "session";
/** The user every anonymous request acts as in demo mode; a member of board-1 only. */
export const DEMO_GUEST_ID = "user-guest";

const encoder = new TextEncoder();
const toBase64 = (bytes: Uint8Array) => btoa(String.fromCharCode(...bytes));
const fromBase64 = (text: string) => Uint8Array.from(atob(text), (c) => c.charCodeAt(0));

async function pbkdf2(password: string, salt: Uint8Array, iterations: number): Promise<Uint8Array> {
  const key = await crypto.subtle.importKey("raw", encoder.encode(password), "PBKDF2", false, [
    "deriveBits",
  ]);
  const bits = await crypto.subtle.deriveBits(
    { name: "PBKDF2", hash: "SHA-256", salt: salt as BufferSource, iterations },
    key,
    256,
  );
  return new Uint8Array(bits);
}

/** Hashes a password as `pbkdf2-sha256$<iterations>$<salt>$<hash>` (base64 parts). */
export async function hashPassword(password: string, iterations: number): Promise<string> {
  const salt = crypto.getRandomValues(new Uint8Array(16));
  const hash = await pbkdf2(password, salt, iterations);
  return `pbkdf2-sha256$${iterations}$${toBase64(salt)}$${toBase64(hash)}`;
}

/** Checks a password against a stored hash in constant time. */
export async function verifyPassword(password: string, stored: string): Promise<boolean> {
  const [scheme, iterations, salt, expected] = stored.split("$");
  if (scheme !== "pbkdf2-sha256" || !expected) return false;
  const actual = await pbkdf2(password, fromBase64(salt), Number(iterations));
  return sameBytes(actual, fromBase64(expected));
}

/** Compares in time that does not depend on where the bytes differ (only on their length). */
export function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  let difference = 0;
  for (let i = 0; i < a.length; i++) difference |= a[i] ^ b[i];
  return difference === 0;
}

/** A new random session token (what the client holds) and its hash (what the database holds). */
export async function newSessionToken(): Promise<{ token: string; tokenHash: string }> {
  const bytes = crypto.getRandomValues(new Uint8Array(32));
  const token = toBase64(bytes).replaceAll("+", "-").replaceAll("/", "_").replace(/=+$/, "");
  return { token, tokenHash: await hashToken(token) };
}

/**
 * Recently seen tokens and their hashes. `crypto.subtle.digest` is an async op costing about as
 * much CPU as the rest of a small request, and a client sends the same token on every request.
 * This cache only saves the hashing (sessions are `SessionCache`'s). Bounded; the oldest entry
 * goes first.
 */
const tokenHashes = new Map<string, string>();
const TOKEN_HASH_CACHE_SIZE = 10_000;

export async function hashToken(token: string): Promise<string> {
  const cached = tokenHashes.get(token);
  if (cached !== undefined) return cached;
  const digest = await crypto.subtle.digest("SHA-256", encoder.encode(token));
  const hash = toBase64(new Uint8Array(digest));
  if (tokenHashes.size >= TOKEN_HASH_CACHE_SIZE) {
    tokenHashes.delete(tokenHashes.keys().next().value!);
  }
  tokenHashes.set(token, hash);
  return hash;
}

/**
 * The session token a request carries: the Authorization header first, then the cookie. An
 * Authorization header that is not a non-empty Bearer token still counts as an attempt (and
 * fails), so a client's mistake is a 401 rather than a silent fall-back to the demo guest.
 */
export function sessionToken(request: Request): string | null {
  const header = request.headers.get("authorization");
  if (header !== null) {
    const match = /^bearer\s+(\S+)\s*$/i.exec(header);
    return match ? match[1] : INVALID_TOKEN;
  }
  const cookies = request.headers.get("cookie") ?? "";
  for (const part of cookies.split(";")) {
    const [name, ...rest] = part.trim().split("=");
    if (name === SESSION_COOKIE) return safeDecode(rest.join("=")) || null;
  }
  return null;
}

/** Stands for a malformed credential: no session has this token. */
const INVALID_TOKEN = "-";

function safeDecode(text: string): string {
  try {
    return decodeURIComponent(text);
  } catch {
    return INVALID_TOKEN;
  }
}

export interface AuthOptions {
  demo: boolean;
  adminEmails: string[];
}

/** How `authenticate` finds a session's user and the demo guest. */
export type SessionLookup = Pick<Store, "findSessionUser" | "getUser">;

/** At most this many sessions are cached; the oldest goes first. */
const SESSION_CACHE_SIZE = 10_000;

/**
 * Sessions the store confirmed, each kept for `ttlMs` (SESSION_CACHE_MS): a client sends its
 * token with every request, and on PostgreSQL looking it up cost about 150 µs of database and
 * 60 µs of server CPU per request — a fifth of a write. Ended sessions leave at once: logout
 * and expiry go through `Control.endSessions`, which calls `forget` here and, through Redis, on
 * every other instance. Only with Redis unreachable can another instance accept an ended
 * session, for at most `ttlMs` more (the same window in which its streams stay open until the
 * session sweep). `ttlMs` 0 looks every request up.
 */
export class SessionCache implements SessionLookup {
  #users = new Map<string, { user: User; until: number }>();

  constructor(readonly store: SessionLookup, readonly ttlMs: number) {}

  async findSessionUser(tokenHash: string): Promise<User | null> {
    const cached = this.#users.get(tokenHash);
    // The monotonic clock: a wall clock set back would trust a cached session for days.
    if (cached && cached.until > performance.now()) return cached.user;
    this.#users.delete(tokenHash);
    const user = await this.store.findSessionUser(tokenHash);
    if (user && this.ttlMs > 0) {
      if (this.#users.size >= SESSION_CACHE_SIZE) {
        this.#users.delete(this.#users.keys().next().value!);
      }
      this.#users.set(tokenHash, { user, until: performance.now() + this.ttlMs });
    }
    return user;
  }

  getUser(id: string): Promise<User | null> {
    return this.store.getUser(id);
  }

  /** Ended sessions: the next request with them asks the store (and is refused). */
  forget(tokenHashes: Iterable<string>): void {
    for (const hash of tokenHashes) this.#users.delete(hash);
  }
}

/** Who is asking. */
export interface Caller {
  user: User;
  /** Hash of the session token, when the caller has one (for logout and revocation). */
  sessionHash: string | null;
  isAdmin: boolean;
}

/**
 * Resolves the caller of a request. A token that is present but invalid is refused even in demo
 * mode, so a client learns its session expired instead of silently becoming the guest.
 */
export async function authenticate(
  request: Request,
  store: SessionLookup,
  options: AuthOptions,
): Promise<Caller> {
  const token = sessionToken(request);
  if (token) {
    const sessionHash = await hashToken(token);
    const user = await store.findSessionUser(sessionHash);
    if (!user) throw unauthorized("Your session has expired or is invalid; sign in again");
    return { user, sessionHash, isAdmin: isAdmin(user, options) };
  }
  if (options.demo) {
    const guest = await store.getUser(DEMO_GUEST_ID);
    if (guest) return { user: guest, sessionHash: null, isAdmin: true };
  }
  throw unauthorized();
}

function isAdmin(user: User, options: AuthOptions): boolean {
  return options.demo || user.isAdmin ||
    options.adminEmails.some((email) => email.toLowerCase() === user.email.toLowerCase());
}

/** The Set-Cookie value for a new session (or, with an empty token, for clearing it). */
export function sessionCookie(token: string, maxAgeSeconds: number, secure: boolean): string {
  const parts = [
    `${SESSION_COOKIE}=${token}`,
    "Path=/",
    "HttpOnly",
    "SameSite=Lax",
    `Max-Age=${token ? maxAgeSeconds : 0}`,
  ];
  if (secure) parts.push("Secure");
  return parts.join("; ");
}

/**
 * Whether a request may act with the session cookie it carries. Browsers send `Origin` on every
 * WebSocket upgrade and cross-origin POST, and the cookie rides along even from another port or
 * a sibling subdomain (the same "site" to `SameSite=Lax`), so a browser origin must be the
 * server's own host or a configured one (ALLOWED_ORIGINS). Clients without an Origin header are
 * not browsers and carry no ambient cookies of a victim, so they pass.
 */
export function originAllowed(request: Request, allowedOrigins: string[]): boolean {
  const origin = request.headers.get("origin");
  if (origin === null) return true;
  const normalized = origin.toLowerCase().replace(/\/+$/, "");
  if (allowedOrigins.some((allowed) => allowed.toLowerCase().replace(/\/+$/, "") === normalized)) {
    return true;
  }
  try {
    return new URL(origin).host === request.headers.get("host")?.toLowerCase();
  } catch {
    return false; // "null" (sandboxed frames, file://) or garbage
  }
}
