/**
 * Online backup of a SQLite database with SQLite's backup API (`node:sqlite` `backup`): a
 * consistent copy — every write committed before it, nothing half-done; the copy starts over if
 * a write lands meanwhile — while the server keeps serving (WAL mode: readers and the writer do
 * not block each other). The copy is a complete database file; restoring is copying it back in
 * place with the server stopped (README, Operations). PostgreSQL has its own tools (`pg_dump`).
 * (`VACUUM INTO` is not available: Deno's SQLite allows no attached databases.)
 */
import { backup, DatabaseSync } from "node:sqlite";

/** Writes a consistent copy of the database at `source` to `target` (which must not exist). */
export async function backupSqlite(source: string, target: string): Promise<void> {
  try {
    Deno.statSync(source);
  } catch {
    throw new Error(`No SQLite database at "${source}"`);
  }
  let exists = true;
  try {
    Deno.statSync(target);
  } catch {
    exists = false;
  }
  if (exists) throw new Error(`"${target}" exists already; give a new file name`);
  const dir = target.replace(/[/\\][^/\\]*$/, "");
  if (dir && dir !== target) Deno.mkdirSync(dir, { recursive: true });
  const db = new DatabaseSync(source);
  try {
    await backup(db, target);
  } finally {
    db.close();
  }
}
