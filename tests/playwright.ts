/**
 * playwright-core's `chromium`, loaded so that it works with named permissions: playwright-core
 * probes for WSL with existsSync("/proc/sys/fs/binfmt_misc/WSLInterop") when it loads, and Deno
 * refuses that path without --allow-all and throws instead of answering false. The test and bench
 * tasks grant only named permissions, so refused paths answer "does not exist".
 */
import fs from "node:fs";

const existsSync = fs.existsSync;
fs.existsSync = (path: fs.PathLike) => {
  try {
    return existsSync(path);
  } catch (error) {
    if (error instanceof Deno.errors.NotCapable) return false;
    throw error;
  }
};

export const { chromium } = await import("playwright-core");
