/**
 * Who the user is: `GET /me` (null when signed out), sign-in and sign-out. In demo mode the
 * server treats anonymous visitors as the demo guest; the three seeded accounts below (password
 * "liveboard") let one person try collaboration from two browser profiles.
 */
import { api, ApiError } from "./api.js";

/** @typedef {{id: string, email: string, name: string}} User */

export const DEMO_ACCOUNTS = [
  { email: "alice@example.com", name: "Alice" },
  { email: "bob@example.com", name: "Bob" },
  { email: "carol@example.com", name: "Carol" },
];
export const DEMO_PASSWORD = "liveboard";

/** @returns {Promise<{user: User, isAdmin: boolean, demo: boolean} | null>} */
export async function whoAmI() {
  try {
    return await api("GET", "/me");
  } catch (error) {
    if (error instanceof ApiError && error.status === 401) return null;
    throw error;
  }
}

/**
 * @param {string} email
 * @param {string} password
 */
export function signIn(email, password) {
  return api("POST", "/login", { email, password });
}

/**
 * @param {string} email
 * @param {string} name
 * @param {string} password
 */
export function signUp(email, name, password) {
  return api("POST", "/signup", { email, name, password });
}

export async function signOut() {
  try {
    await api("POST", "/logout");
  } catch (error) {
    // Already signed out (an expired session): nothing to end.
    if (!(error instanceof ApiError && error.status === 401)) throw error;
  }
}
