/**
 * Login throttling: the unit rules with a hand-turned clock (free tries, doubling waits capped,
 * a success forgetting the account's failures from that address, other addresses unaffected),
 * and over HTTP: parallel wrong passwords are mostly refused with 429 and `Retry-After` before
 * any hashing, while the real user's login from elsewhere still works.
 */
import assert from "node:assert/strict";
import { clientAddress, LoginThrottle } from "../src/login_throttle.ts";
import { expectStatus, startTestServer } from "./helpers.ts";

const OPTIONS = {
  perAccountAndAddress: 3,
  perAddress: 10,
  perAccount: 6,
  signUpsPerAddress: 2,
  windowMs: 60_000,
  maxWaitMs: 8_000,
};

Deno.test("an account's wrong passwords from one address are free three times, then wait doubling up to the cap", () => {
  let now = 0;
  const throttle = new LoginThrottle(OPTIONS, () => now);
  for (let i = 0; i < 3; i++) assert.equal(throttle.begin("a@x", "1.1.1.1"), null);
  assert.equal(throttle.begin("a@x", "1.1.1.1"), 1000, "the fourth waits 1 s");
  now += 1000;
  assert.equal(throttle.begin("a@x", "1.1.1.1"), null, "then may try");
  assert.equal(throttle.begin("a@x", "1.1.1.1"), 2000, "and then waits 2 s");
  now += 2000;
  assert.equal(throttle.begin("a@x", "1.1.1.1"), null);
  now += 4000;
  assert.equal(throttle.begin("A@X", "1.1.1.1"), null, "letter case is one account");
  assert.equal(throttle.begin("a@x", "1.1.1.1"), 8000, "the cap");
  now += 8000;
  assert.equal(throttle.begin("a@x", "1.1.1.1"), null, "the cap waited out");
  assert.equal(throttle.begin("a@x", "1.1.1.1"), 8000, "never more than the cap");
  // Failures leave the window after windowMs.
  now += 60_001;
  assert.equal(throttle.begin("a@x", "1.1.1.1"), null);
});

Deno.test("a success forgets the account's failures from that address; others keep trying", () => {
  let now = 0;
  const throttle = new LoginThrottle(OPTIONS, () => now);
  for (let i = 0; i < 3; i++) assert.equal(throttle.begin("a@x", "1.1.1.1"), null);
  assert.ok(throttle.begin("a@x", "1.1.1.1")! > 0);
  assert.equal(throttle.begin("a@x", "2.2.2.2"), null, "the real user, elsewhere, may try");
  throttle.succeeded("a@x", "2.2.2.2");
  now += 1000;
  assert.equal(throttle.begin("a@x", "1.1.1.1"), null);
  throttle.succeeded("a@x", "1.1.1.1");
  for (let i = 0; i < 2; i++) assert.equal(throttle.begin("a@x", "1.1.1.1"), null, "free again");
});

Deno.test("guesses spread over many addresses slow the account down, and one address over many accounts", () => {
  const now = 0;
  const throttle = new LoginThrottle(OPTIONS, () => now);
  for (let i = 0; i < 6; i++) assert.equal(throttle.begin("a@x", `10.0.0.${i}`), null);
  assert.ok(throttle.begin("a@x", "10.0.0.99")! > 0, "the account from a new address waits");
  for (let i = 0; i < 10; i++) assert.equal(throttle.begin(`u${i}@x`, "3.3.3.3"), null);
  assert.ok(throttle.begin("u99@x", "3.3.3.3")! > 0, "the address waits for a new account too");
});

Deno.test("the client address is the peer, or the proxy's last X-Forwarded-For hop when the peer is local", () => {
  const request = (forwarded?: string) =>
    new Request("http://x/", { headers: forwarded ? { "x-forwarded-for": forwarded } : {} });
  assert.equal(clientAddress(request(), "203.0.113.5"), "203.0.113.5");
  assert.equal(clientAddress(request("6.6.6.6"), "203.0.113.5"), "203.0.113.5", "not trusted");
  assert.equal(clientAddress(request("6.6.6.6, 198.51.100.7"), "127.0.0.1"), "198.51.100.7");
  assert.equal(clientAddress(request(), "::1"), "::1");
});

Deno.test("50 wrong passwords at once: all but the free tries get 429 with Retry-After, and the user still signs in", async () => {
  await using server = await startTestServer({ demo: false, seed: true });
  const wrong = () =>
    server.request("/login", {
      method: "POST",
      json: { email: "alice@example.com", password: "not her password" },
    });
  const answers = await Promise.all(Array.from({ length: 50 }, wrong));
  const statuses = answers.map((response) => response.status);
  assert.equal(statuses.filter((status) => status === 401).length, 5, "the free tries");
  assert.equal(statuses.filter((status) => status === 429).length, 45);
  const refused = answers.find((response) => response.status === 429)!;
  const retryAfter = Number(refused.headers.get("retry-after"));
  assert.ok(retryAfter >= 1 && retryAfter <= 60, `Retry-After ${retryAfter}`);
  const bodies = await Promise.all(answers.map((response) => response.json()));
  assert.equal(bodies[answers.indexOf(refused)].error.code, "too_many_logins");
  // The real user, from another address (a proxy on this machine says which), is not locked out.
  const real = await server.request("/login", {
    method: "POST",
    headers: { "x-forwarded-for": "198.51.100.7" },
    json: { email: "alice@example.com", password: "liveboard" },
  });
  await expectStatus(real, 200);
});

Deno.test("sign-ups from one address are free twice here, then wait; other addresses are not slowed", () => {
  let now = 0;
  const throttle = new LoginThrottle(OPTIONS, () => now);
  assert.equal(throttle.beginSignUp("203.0.113.9"), null);
  assert.equal(throttle.beginSignUp("203.0.113.9"), null);
  assert.equal(throttle.beginSignUp("203.0.113.9"), 1000);
  assert.equal(throttle.beginSignUp("198.51.100.1"), null);
  now = 1000;
  assert.equal(throttle.beginSignUp("203.0.113.9"), null, "after the wait, one more");
  assert.equal(throttle.beginSignUp("203.0.113.9"), 2000, "then the wait doubles");
  now = 61_000;
  assert.equal(throttle.beginSignUp("203.0.113.9"), null, "the window forgets");
});

Deno.test("the eleventh sign-up from one address in 15 minutes gets 429 with Retry-After", async () => {
  await using server = await startTestServer({ signup: true });
  const signUp = (i: number, address: string) =>
    server.request("/signup", {
      method: "POST",
      headers: { "x-forwarded-for": address },
      json: { email: `flood-${i}@example.com`, name: `Flood ${i}`, password: "a long password" },
    });
  for (let i = 0; i < 10; i++) await expectStatus(await signUp(i, "203.0.113.7"), 201);
  const refused = await signUp(10, "203.0.113.7");
  const body = await expectStatus(refused, 429);
  assert.equal(body.error.code, "too_many_signups");
  assert.equal(refused.headers.get("retry-after"), "1");
  await expectStatus(await signUp(11, "198.51.100.7"), 201);
});
