/** Accounts over HTTP: sign-up (can be switched off), login, logout and `GET /me`. */
import { Hono } from "hono";
import { hashPassword, newSessionToken, sessionCookie, verifyPassword } from "../auth.ts";
import { AppError, unauthorized } from "../errors.ts";
import { clientAddress, LoginThrottle } from "../login_throttle.ts";
import { loginSchema, parseInput, signupSchema } from "../schemas.ts";
import type { User } from "../store/store.ts";
import {
  type AppContext,
  type AppEnv,
  jsonBody,
  peerAddress,
  requireCaller,
  type Services,
} from "./context.ts";

export function authRoutes(services: Services): Hono<AppEnv> {
  const { store, config } = services;
  const app = new Hono<AppEnv>();
  const ttlSeconds = config.sessionTtlHours * 3600;
  // Verified against when the email is unknown, so a login takes as long either way and its
  // timing does not tell which emails have accounts.
  const decoyHash = hashPassword(crypto.randomUUID(), config.pbkdf2Iterations);

  async function startSession(c: AppContext, user: User, status: 200 | 201) {
    const { token, tokenHash } = await newSessionToken();
    await store.createSession(tokenHash, user.id, new Date(Date.now() + ttlSeconds * 1000));
    c.header("set-cookie", sessionCookie(token, ttlSeconds, config.cookieSecure));
    return c.json({ user, token }, status);
  }

  const throttle = new LoginThrottle();
  app.post("/signup", async (c) => {
    if (!config.signup) {
      throw new AppError("signup_disabled", "Sign-up is switched off on this server");
    }
    const input = parseInput(signupSchema, await jsonBody(c, services));
    // ADMIN_EMAILS grants admin to whoever holds the address, and sign-up does not prove that
    // anyone owns an address: a listed address that has no account yet could be claimed. So it
    // cannot be signed up for; its account must exist first (sign up, then list it).
    const email = input.email.toLowerCase();
    if (config.adminEmails.some((admin) => admin.toLowerCase() === email)) {
      throw new AppError(
        "email_reserved",
        "This address is reserved for an administrator; ask the operator",
      );
    }
    const wait = throttle.beginSignUp(clientAddress(c.req.raw, peerAddress(c)));
    if (wait !== null) {
      const seconds = Math.ceil(wait / 1000);
      c.header("retry-after", String(seconds));
      throw new AppError(
        "too_many_signups",
        `Too many accounts created from this address; try again in ${seconds} s`,
      );
    }
    const passwordHash = await hashPassword(input.password, config.pbkdf2Iterations);
    const user = await store.createUser({ email: input.email, name: input.name, passwordHash });
    return startSession(c, user, 201);
  });

  app.post("/login", async (c) => {
    const input = parseInput(loginSchema, await jsonBody(c, services));
    const address = clientAddress(c.req.raw, peerAddress(c));
    const wait = throttle.begin(input.email, address);
    if (wait !== null) {
      const seconds = Math.ceil(wait / 1000);
      c.header("retry-after", String(seconds));
      throw new AppError(
        "too_many_logins",
        `Too many failed logins; try again in ${seconds} s`,
      );
    }
    const found = await store.findUserByEmail(input.email);
    const hash = found?.passwordHash ?? await decoyHash;
    const valid = await verifyPassword(input.password, hash);
    if (!found?.passwordHash || !valid) throw unauthorized("Wrong email or password");
    throttle.succeeded(input.email, address);
    // Told only to whoever knows the password: a guesser learns nothing about the account.
    if (found.deactivated) {
      throw new AppError("account_deactivated", "This account was deactivated by an operator");
    }
    return startSession(c, found.user, 200);
  });

  app.post("/logout", requireCaller(services), async (c) => {
    const { sessionHash } = c.get("caller");
    if (sessionHash) {
      await store.deleteSession(sessionHash);
      services.control.endSessions([sessionHash]);
    }
    c.header("set-cookie", sessionCookie("", 0, config.cookieSecure));
    return c.json({ ok: true });
  });

  app.get("/me", requireCaller(services), (c) => {
    const { user, isAdmin } = c.get("caller");
    // `user.isAdmin` is the stored flag; what counts is the caller's effective right (which
    // ADMIN_EMAILS and demo mode also grant), so both say the same.
    return c.json({
      user: { ...user, isAdmin },
      isAdmin,
      demo: config.demo,
      transports: config.transports,
    });
  });

  return app;
}
