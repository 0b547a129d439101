// `worker-bridge replay DIR [--cold] [--host inline|process|thread] [--only SEQ,...] [--show-output]`:
// re-runs requests written by `--record DIR` outside any build system and reports differences.
// With the default inline host the tool runs in this process, so
// `node --inspect-brk dist/cli.js replay DIR --only 7` stops in the tool under a debugger.
import { existsSync } from "node:fs";
import { createLogger, isLogLevel, type LogLevel } from "../core/logger.js";
import { findSessions, readRequests, readSession } from "../record/record-format.js";
import { replaySession, type ReplayOutcome } from "../record/replay-session.js";
import { installOutputCapture, writeStderr } from "../supervisor/output-capture.js";
import type { HostKind } from "../supervisor/create-host.js";
import { bridgeMessage, EXIT_CODES } from "../errors.js";

const USAGE = `usage: worker-bridge replay DIR [--cold] [--host inline|process|thread] [--only SEQ[,SEQ...]] [--show-output] [--log-level LEVEL]

  DIR            a directory given to --record (every session in it), or one session directory
  --cold         start a fresh tool (new init) for every request; default: one warm tool, requests in order
  --host KIND    inline (default: debuggable with node --inspect), process or thread
  --only SEQS    replay only these request numbers (the NNNNNN in request-NNNNNN.json)
  --show-output  print the replayed output of every request, not only of differing ones`;

interface ReplayArgs {
  dir: string;
  cold: boolean;
  host: HostKind;
  only?: Set<number>;
  showOutput: boolean;
  logLevel: LogLevel;
}

function parse(argv: readonly string[]): ReplayArgs | string {
  let dir: string | undefined;
  const out: Omit<ReplayArgs, "dir"> = { cold: false, host: "inline", showOutput: false, logLevel: "warn" };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    const [name, inline] = arg.includes("=") ? [arg.slice(0, arg.indexOf("=")), arg.slice(arg.indexOf("=") + 1)] : [arg, undefined];
    const value = (): string | undefined => inline ?? argv[++i];
    if (name === "--cold") out.cold = true;
    else if (name === "--show-output") out.showOutput = true;
    else if (name === "--host") {
      const v = value();
      if (v !== "inline" && v !== "process" && v !== "thread") return `--host expects inline, process or thread, got ${JSON.stringify(v)}`;
      out.host = v;
    } else if (name === "--only") {
      const v = value() ?? "";
      if (!/^\d+(,\d+)*$/.test(v)) return `--only expects comma-separated request numbers, got ${JSON.stringify(v)}`;
      out.only = new Set(v.split(",").map(Number));
    } else if (name === "--log-level") {
      const v = value() ?? "";
      if (!isLogLevel(v)) return `--log-level expects silent|error|warn|info|debug|trace, got ${JSON.stringify(v)}`;
      out.logLevel = v;
    } else if (name === "--help" || name === "-h") return "";
    else if (!arg.startsWith("-") && dir === undefined) dir = arg;
    else return `unknown replay argument ${JSON.stringify(arg)}`;
  }
  if (dir === undefined) return "a record directory is required";
  return { dir, ...out };
}

/** Exit code: 0 when every replayed request matched its recording, 1 on differences, 2 (EXIT_CODES.usage) on usage errors. */
export async function replayMain(argv: readonly string[]): Promise<number> {
  const { protocolWrite } = installOutputCapture();
  const print = (line: string): void => void protocolWrite(`${line}\n`);
  const args = parse(argv);
  if (typeof args === "string") {
    writeStderr(args.length > 0 ? `${bridgeMessage(`replay: ${args}`)}\n${USAGE}\n` : `${USAGE}\n`);
    return args.length > 0 ? EXIT_CODES.usage : EXIT_CODES.ok;
  }
  if (!existsSync(args.dir)) {
    writeStderr(`${bridgeMessage(`replay: ${args.dir} does not exist`)}\n`);
    return EXIT_CODES.usage;
  }
  const sessions = findSessions(args.dir);
  if (sessions.length === 0) {
    writeStderr(`${bridgeMessage(`replay: no recorded session in ${args.dir} (expected session.json there or in its subdirectories)`)}\n`);
    return EXIT_CODES.usage;
  }
  const logger = createLogger({ level: args.logLevel });
  const totals = { same: 0, different: 0, skipped: 0 };
  for (const dir of sessions) {
    const session = readSession(dir);
    const requests = readRequests(dir);
    print(`session ${dir}: tool ${session.tool}, ${requests.length} request(s), ${args.cold ? "cold" : "warm"}, host ${args.host}`);
    await replaySession(session, requests, { cold: args.cold, host: args.host, ...(args.only ? { only: args.only } : {}), abortGraceMs: 3000, logger }, (o) => {
      totals[o.kind]++;
      for (const line of describeOutcome(o, args.showOutput)) print(line);
    });
  }
  print(`replayed ${totals.same + totals.different} request(s): ${totals.same} same, ${totals.different} different, ${totals.skipped} skipped`);
  return totals.different > 0 ? 1 : 0;
}

function describeOutcome(o: ReplayOutcome, showOutput: boolean): string[] {
  const head = `  #${o.seq} (id ${o.id})`;
  if (o.kind === "skipped") return [`${head}: skipped, ${o.reason}`];
  if (o.kind === "same") return [`${head}: same (exit ${o.result.exitCode})`, ...(showOutput ? block("output", o.result.output) : [])];
  const lines = [`${head}: DIFFERENT`];
  if (o.result.exitCode !== o.recorded.exitCode) lines.push(`    exit code: recorded ${o.recorded.exitCode}, replayed ${o.result.exitCode}`);
  if (o.result.output !== o.recorded.output) {
    lines.push(`    output differs from line ${firstDifferentLine(o.recorded.output, o.result.output)}`);
    lines.push(...block("recorded output", o.recorded.output), ...block("replayed output", o.result.output));
  }
  return lines;
}

function block(title: string, text: string): string[] {
  const clipped = text.length > 4000 ? `${text.slice(0, 4000)}\n… (${text.length - 4000} more characters)` : text;
  return [`    --- ${title} ---`, ...clipped.split("\n").map((l) => `    | ${l}`)];
}

function firstDifferentLine(a: string, b: string): number {
  const la = a.split("\n");
  const lb = b.split("\n");
  let i = 0;
  while (i < la.length && i < lb.length && la[i] === lb[i]) i++;
  return i + 1;
}
