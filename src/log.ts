/** Logging: one line per request and per connection; levels from LOG_LEVEL. */

const LEVELS = { debug: 0, info: 1, warn: 2, silent: 3 } as const;
export type LogLevel = keyof typeof LEVELS;

let threshold: number = LEVELS.info;

export function setLogLevel(level: LogLevel): void {
  threshold = LEVELS[level];
}

function write(level: Exclude<LogLevel, "silent">, message: string): void {
  if (LEVELS[level] < threshold) return;
  const line = `${new Date().toISOString()} ${level.toUpperCase().padEnd(5)} ${message}`;
  if (level === "warn") console.error(line);
  else console.log(line);
}

export const log = {
  /** Whether `level` is written: lets a hot path skip building a line nobody will see. */
  enabled: (level: Exclude<LogLevel, "silent">) => LEVELS[level] >= threshold,
  debug: (message: string) => write("debug", message),
  info: (message: string) => write("info", message),
  warn: (message: string) => write("warn", message),
};
