/**
 * The browser client's files from `static/`, located through `import.meta.dirname` so that
 * `deno compile --include static` finds them inside the binary. Only names inside `static/` are
 * served. Each file is kept in memory once read — its bytes, a gzip copy for text and an ETag
 * from its SHA-256 — and read again when its size or modification time changes (so editing the
 * client while `deno task dev` runs is seen at the next load). Answers say `no-cache` with the
 * ETag: a browser asks every time and gets an empty 304 while the file is unchanged.
 */
import type { Context } from "hono";
import { acceptsGzip, COMPRESS_MIN_BYTES, gzip } from "./compression.ts";

const STATIC_DIR = `${import.meta.dirname}/../../static`;

const TYPES: Record<string, string> = {
  html: "text/html; charset=utf-8",
  js: "text/javascript; charset=utf-8",
  css: "text/css; charset=utf-8",
  svg: "image/svg+xml",
  png: "image/png",
  ico: "image/x-icon",
  json: "application/json",
  webmanifest: "application/manifest+json",
};
/** Types already compressed (or too small to gain). */
const STORED_AS_IS = new Set(["png", "ico"]);

interface CachedFile {
  size: number;
  modified: number | undefined;
  type: string;
  bytes: Uint8Array<ArrayBuffer>;
  etag: string;
  gzipped?: { bytes: Uint8Array<ArrayBuffer>; etag: string };
}

const cache = new Map<string, CachedFile>();

/** Serves `path` from static/ (`/` is index.html); null when there is no such file. */
export async function serveStatic(c: Context, path: string): Promise<Response | null> {
  const name = path === "/" ? "index.html" : path.slice(1);
  // Names as the client's files are: short segments (a segment of 256 bytes or more made the file
  // system throw "File name too long", answered with a 500).
  if (name.length > 200 || !/^[\w-]{1,64}(\/[\w-]{1,64})*\.[a-z]{1,12}$/.test(name)) return null;
  const extension = name.slice(name.lastIndexOf(".") + 1);
  const type = TYPES[extension];
  // static/deno.json is the client's type-checking configuration, not a file of the client.
  if (!type || name === "deno.json") return null;
  const file = await load(name, type, !STORED_AS_IS.has(extension));
  if (!file) return null;
  const variant = file.gzipped && acceptsGzip(c.req.header("accept-encoding"))
    ? file.gzipped
    : undefined;
  const etag = variant?.etag ?? file.etag;
  const headers: Record<string, string> = {
    "content-type": file.type,
    "cache-control": "no-cache",
    etag,
  };
  if (file.gzipped) headers.vary = "Accept-Encoding";
  if (variant) headers["content-encoding"] = "gzip";
  if (matches(c.req.header("if-none-match"), etag)) return c.body(null, 304, headers);
  return c.body(variant?.bytes ?? file.bytes, 200, headers);
}

/** The file, from memory while its size and modification time are unchanged; null if none. */
async function load(name: string, type: string, compress: boolean): Promise<CachedFile | null> {
  const fullPath = `${STATIC_DIR}/${name}`;
  let info: Deno.FileInfo;
  try {
    info = await Deno.stat(fullPath);
    if (!info.isFile) return null;
  } catch (error) {
    if (error instanceof Deno.errors.NotFound || error instanceof Deno.errors.NotADirectory) {
      return null;
    }
    throw error;
  }
  const modified = info.mtime?.getTime();
  const cached = cache.get(name);
  if (cached && cached.size === info.size && cached.modified === modified) return cached;
  let bytes: Uint8Array<ArrayBuffer>;
  try {
    bytes = await Deno.readFile(fullPath);
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return null; // removed since the stat
    throw error;
  }
  const hash = await digest(bytes);
  const file: CachedFile = { size: info.size, modified, type, bytes, etag: `"${hash}"` };
  if (compress && bytes.byteLength >= COMPRESS_MIN_BYTES) {
    file.gzipped = { bytes: gzip(bytes), etag: `"${hash}-gzip"` };
  }
  cache.set(name, file);
  return file;
}

/** The first 128 bits of the SHA-256 of `bytes`, as base64url. */
async function digest(bytes: Uint8Array<ArrayBuffer>): Promise<string> {
  const hash = new Uint8Array(await crypto.subtle.digest("SHA-256", bytes));
  return btoa(String.fromCharCode(...hash.subarray(0, 16)))
    .replaceAll("+", "-").replaceAll("/", "_").replace(/=+$/, "");
}

/** Whether an `If-None-Match` list names `etag` (weakly, as RFC 9110 says for this header). */
function matches(header: string | undefined, etag: string): boolean {
  if (!header) return false;
  if (header.trim() === "*") return true;
  return header.split(",").some((tag) => tag.trim().replace(/^W\//, "") === etag);
}
