/**
 * The browser client's files from `static/`, located through `import.meta.dirname` so that
 * `deno compile --include static` finds them inside the binary. Files are read whole (no open
 * handle is left behind, even for HEAD) and only names inside `static/` are served.
 */
import type { Context } from "hono";

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

/** Serves `path` from static/ (`/` is index.html); null when there is no such file. */
export async function serveStatic(c: Context, path: string): Promise<Response | null> {
  const name = path === "/" ? "index.html" : path.slice(1);
  // Names as the client's files are: short segments (a segment of 256 bytes or more made the file
  // system throw "File name too long", answered with a 500).
  if (name.length > 200 || !/^[\w-]{1,64}(\/[\w-]{1,64})*\.[a-z]{1,12}$/.test(name)) return null;
  const type = TYPES[name.slice(name.lastIndexOf(".") + 1)];
  // static/deno.json is the client's type-checking configuration, not a file of the client.
  if (!type || name === "deno.json") return null;
  try {
    const bytes = await Deno.readFile(`${STATIC_DIR}/${name}`);
    return c.body(bytes, 200, { "content-type": type, "cache-control": "no-cache" });
  } catch (error) {
    if (error instanceof Deno.errors.NotFound || error instanceof Deno.errors.IsADirectory) {
      return null;
    }
    throw error;
  }
}
