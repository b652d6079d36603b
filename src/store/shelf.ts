/**
 * Paging the trash and the archive (one table, `trash`), the same on every store: rows newest
 * first by their insertion key, read in batches, filtered by the caller's predicate (a search,
 * done in code so every store folds letter case alike), `limit` to a page.
 */
import type { ShelfPage, ShelfQuery, TrashItem } from "./store.ts";

/** One trash row and the key pages are cut at (insertion order: SQLite's rowid, PG's ord). */
export interface ShelfRow {
  key: number;
  item: TrashItem;
}

/** Reads up to `n` rows with key < `before` (null: from the newest), newest first. */
export type ShelfReader = (before: number | null, n: number) => Promise<ShelfRow[]>;

/** A search reads this many rows at a time. */
const BATCH = 200;

export async function pageShelf(read: ShelfReader, query: ShelfQuery): Promise<ShelfPage> {
  const items: TrashItem[] = [];
  const batch = query.filter ? BATCH : query.limit + 1;
  let before = query.before ?? null;
  let last = 0;
  for (;;) {
    const rows = await read(before, batch);
    for (const { key, item } of rows) {
      if (query.filter && !query.filter(item)) continue;
      // One more than a page: an older page exists.
      if (items.length === query.limit) return { items, next: last };
      items.push(item);
      last = key;
    }
    if (rows.length < batch) return { items, next: null };
    before = rows[rows.length - 1].key;
  }
}
