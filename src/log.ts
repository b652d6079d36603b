/**
 * Logging: one line per request and per connection; levels from LOG_LEVEL, and LOG_FORMAT
 * `text` (time, level, message, then `key=value` fields) or `json` (one object per line:
 * `time`, `level`, `msg` and the fields), for a log collector.
 */

const LEVELS = { debug: 0, info: 1, warn: 2, silent: 3 } as const;
export type LogLevel = keyof typeof LEVELS;
export type LogFormat = "text" | "json";
/** Structured details of a line (request id, route, status, user id...). */
export type LogFields = Record<string, string | number | boolean | null | undefined>;

let threshold: number = LEVELS.info;
let format: LogFormat = "text";

export function setLogLevel(level: LogLevel): void {
  threshold = LEVELS[level];
}

export function setLogFormat(value: LogFormat): void {
  format = value;
}

function line(level: Exclude<LogLevel, "silent">, message: string, fields: LogFields): string {
  const time = new Date().toISOString();
  if (format === "json") return JSON.stringify({ time, level, msg: message, ...fields });
  const details = Object.entries(fields)
    .filter(([, value]) => value !== undefined && value !== null)
    .map(([key, value]) => ` ${key}=${value}`)
    .join("");
  return `${time} ${level.toUpperCase().padEnd(5)} ${message}${details}`;
}

function write(level: Exclude<LogLevel, "silent">, message: string, fields: LogFields = {}): void {
  if (LEVELS[level] < threshold) return;
  const text = line(level, message, fields);
  if (level === "warn") console.error(text);
  else console.log(text);
}

export const log = {
  /** Whether `level` is written: lets a hot path skip building a line nobody will see. */
  enabled: (level: Exclude<LogLevel, "silent">) => LEVELS[level] >= threshold,
  debug: (message: string, fields?: LogFields) => write("debug", message, fields),
  info: (message: string, fields?: LogFields) => write("info", message, fields),
  warn: (message: string, fields?: LogFields) => write("warn", message, fields),
  /** Written whatever the level (the start-up lines), in the chosen format. */
  always: (message: string, fields: LogFields = {}) => console.log(line("info", message, fields)),
};
