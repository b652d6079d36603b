/**
 * Login throttling: how many wrong passwords an account and a client address may try before
 * `POST /login` answers 429 with `Retry-After` instead of checking the password. Without it, 300
 * wrong passwords sent 50 at a time were all checked (each a PBKDF2 of 600,000 rounds), and a
 * real login waited 1.85 s behind them.
 *
 * Three counters of failures, each forgetting a failure after `windowMs`:
 * - the account from this address: `perAccountAndAddress` free tries, then a wait that doubles
 *   with each further failure, up to `maxWaitMs` — a guessing client is slowed at once;
 * - the address, over all accounts: `perAddress` free tries, then the same kind of wait;
 * - the account, from anywhere: `perAccount` (higher) free tries, then the same kind of wait — a
 *   guess spread over many addresses is slowed too.
 * A real user is never locked out for long: every wait is at most `maxWaitMs`, and a success
 * clears the account's counter for that address. An attempt counts as a failure while its
 * password is being checked, so fifty at once cannot all pass the free tries. Per instance.
 *
 * Sign-ups are counted per address the same way (`signUpsPerAddress` free, then doubling waits):
 * each costs a password hash, and each new account brings its own connection allowance, so 200
 * sign-ups from one address in half a second was both a CPU and a connection flood.
 */

export interface ThrottleOptions {
  perAccountAndAddress: number;
  perAddress: number;
  perAccount: number;
  signUpsPerAddress: number;
  windowMs: number;
  maxWaitMs: number;
}

export const DEFAULT_THROTTLE: ThrottleOptions = {
  perAccountAndAddress: 5,
  perAddress: 30,
  perAccount: 50,
  signUpsPerAddress: 10,
  windowMs: 15 * 60_000,
  maxWaitMs: 60_000,
};

/** At most this many keys are remembered; the oldest goes first (bounded memory under attack). */
const MAX_KEYS = 100_000;

interface Failures {
  /** Times of the failures still inside the window, oldest first. */
  at: number[];
}

export class LoginThrottle {
  #failures = new Map<string, Failures>();

  constructor(
    readonly options: ThrottleOptions = DEFAULT_THROTTLE,
    readonly now: () => number = Date.now,
  ) {}

  /**
   * Before checking a password: null when it may be checked (it then counts as a failure unless
   * `succeeded` follows), else the milliseconds to wait.
   */
  begin(email: string, address: string): number | null {
    const keys = this.#keys(email, address);
    const wait = Math.max(...keys.map(([key, free]) => this.#wait(key, free)));
    if (wait > 0) return wait;
    for (const [key] of keys) this.#record(key);
    return null;
  }

  /** Before creating an account: null when it may go ahead (it is counted), else the wait. */
  beginSignUp(address: string): number | null {
    const key = `signup:${address}`;
    const wait = this.#wait(key, this.options.signUpsPerAddress);
    if (wait > 0) return wait;
    this.#record(key);
    return null;
  }

  /** The password was right: this account's failures from this address are forgotten. */
  succeeded(email: string, address: string): void {
    const [pair, ...others] = this.#keys(email, address);
    this.#failures.delete(pair[0]);
    // The attempt itself no longer counts against the address or the account.
    for (const [key] of others) this.#failures.get(key)?.at.pop();
  }

  #keys(email: string, address: string): [string, number][] {
    const account = email.trim().toLowerCase();
    return [
      [`pair:${account}\n${address}`, this.options.perAccountAndAddress],
      [`address:${address}`, this.options.perAddress],
      [`account:${account}`, this.options.perAccount],
    ];
  }

  /** How long `key` must wait: none within its free tries, then doubling up to the cap. */
  #wait(key: string, free: number): number {
    const entry = this.#failures.get(key);
    if (!entry) return 0;
    const now = this.now();
    while (entry.at.length > 0 && entry.at[0] <= now - this.options.windowMs) entry.at.shift();
    const over = entry.at.length - free;
    if (over < 0) return 0;
    const wait = Math.min(this.options.maxWaitMs, 1000 * 2 ** over);
    return Math.max(0, entry.at[entry.at.length - 1] + wait - now);
  }

  #record(key: string): void {
    let entry = this.#failures.get(key);
    if (!entry) {
      if (this.#failures.size >= MAX_KEYS) {
        this.#failures.delete(this.#failures.keys().next().value!);
      }
      this.#failures.set(key, entry = { at: [] });
    }
    entry.at.push(this.now());
  }
}

/**
 * The client's address: the peer, or — when the peer is this machine (a proxy such as the nginx
 * of src/deploy/) — the last address that proxy added to `X-Forwarded-For`.
 */
export function clientAddress(request: Request, peer: string | undefined): string {
  const local = peer === undefined || peer === "127.0.0.1" || peer === "::1";
  const forwarded = request.headers.get("x-forwarded-for");
  if (local && forwarded) {
    const last = forwarded.split(",").map((part) => part.trim()).filter(Boolean).pop();
    if (last) return last;
  }
  return peer ?? "unknown";
}
