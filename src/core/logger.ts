/** Structured logging to stderr (Bazel puts it in the worker log, Buck2 in the worker's stderr file). */
export type LogLevel = "silent" | "error" | "warn" | "info" | "debug" | "trace";
export type LogFormat = "text" | "json";

const LEVELS: Record<LogLevel, number> = { silent: 0, error: 1, warn: 2, info: 3, debug: 4, trace: 5 };

export const LOG_LEVELS = Object.keys(LEVELS) as LogLevel[];

export type LogFields = Record<string, string | number | boolean | undefined>;

export interface Logger {
  readonly level: LogLevel;
  enabled(level: LogLevel): boolean;
  log(level: Exclude<LogLevel, "silent">, message: string, fields?: LogFields): void;
  error(message: string, fields?: LogFields): void;
  warn(message: string, fields?: LogFields): void;
  info(message: string, fields?: LogFields): void;
  debug(message: string, fields?: LogFields): void;
  /** Writes at `info` whatever the level: the client asked for detail (Bazel `verbosity` > 0). */
  requested(message: string, fields?: LogFields): void;
}

export interface LoggerOptions {
  level?: LogLevel;
  format?: LogFormat;
  /** Where lines go; stderr by default. Written synchronously so a fatal exit cannot lose them. */
  write?: (line: string) => void;
}

export function createLogger(options: LoggerOptions = {}): Logger {
  const level = options.level ?? "warn";
  const format = options.format ?? "text";
  const threshold = LEVELS[level];
  const write = options.write ?? ((line: string) => process.stderr.write(line));
  const enabled = (l: LogLevel): boolean => LEVELS[l] <= threshold && l !== "silent";
  const emit = (l: Exclude<LogLevel, "silent">, message: string, fields?: LogFields): void => {
    if (format === "json") {
      write(`${JSON.stringify({ time: new Date().toISOString(), level: l, msg: message, ...fields })}\n`);
      return;
    }
    let line = `worker-bridge ${l}: ${message}`;
    if (fields) {
      for (const [k, v] of Object.entries(fields)) if (v !== undefined) line += ` ${k}=${v}`;
    }
    write(`${line}\n`);
  };
  const log = (l: Exclude<LogLevel, "silent">, message: string, fields?: LogFields): void => {
    if (enabled(l)) emit(l, message, fields);
  };
  return {
    level,
    enabled,
    log,
    error: (m, f) => log("error", m, f),
    warn: (m, f) => log("warn", m, f),
    info: (m, f) => log("info", m, f),
    debug: (m, f) => log("debug", m, f),
    requested: (m, f) => emit("info", m, f),
  };
}

export function isLogLevel(value: string): value is LogLevel {
  return value in LEVELS;
}
