import type { HostResult, PreparedJob, ToolHost } from "../core/job.js";
import type { Logger } from "../core/logger.js";
import { createHost, type HostKind } from "../supervisor/create-host.js";
import { loadTool, resolveToolModule } from "../tools/load-tool.js";
import type { RecordedRequest, RecordedSession } from "./record-format.js";

export interface ReplayOptions {
  /** A fresh tool (new init) for every request, instead of one warm tool for the whole session. */
  cold: boolean;
  /** inline (default) runs the tool in this process, so `node --inspect` reaches it. */
  host: HostKind;
  /** Only these sequence numbers, when given. */
  only?: ReadonlySet<number>;
  abortGraceMs: number;
  logger: Logger;
}

export type ReplayOutcome =
  | { seq: number; id: number; kind: "same"; result: HostResult }
  | { seq: number; id: number; kind: "different"; result: HostResult; recorded: RecordedRequest["result"] }
  | { seq: number; id: number; kind: "skipped"; reason: string };

/** Re-runs a recorded session's requests in their original order and compares the results. */
export async function replaySession(
  session: RecordedSession,
  requests: readonly RecordedRequest[],
  options: ReplayOptions,
  onOutcome: (o: ReplayOutcome) => void,
): Promise<ReplayOutcome[]> {
  const toolModule = resolveRecordedTool(session);
  const tool = await loadTool(toolModule);
  const newHost = (): Promise<ToolHost> =>
    createHost({
      kind: options.host,
      toolModule,
      tool,
      startupArgs: session.startupArgs,
      concurrency: 1,
      toolProcesses: 1,
      abortGraceMs: options.abortGraceMs,
      logger: options.logger,
    });
  const outcomes: ReplayOutcome[] = [];
  let warm: ToolHost | undefined;
  try {
    for (const rec of [...requests].sort((a, b) => a.seq - b.seq)) {
      if (options.only && !options.only.has(rec.seq)) continue;
      let outcome: ReplayOutcome;
      if (rec.expandedArgs === undefined || rec.env === undefined) {
        outcome = { seq: rec.seq, id: rec.id, kind: "skipped", reason: `never reached the tool (${rec.result.end})` };
      } else {
        const host = options.cold ? await newHost() : (warm ??= await newHost());
        try {
          const result = await host.run(toPrepared(rec), timeoutSignal(rec.timeoutMs));
          const same = result.exitCode === rec.result.exitCode && result.output === rec.result.output;
          outcome = same
            ? { seq: rec.seq, id: rec.id, kind: "same", result }
            : { seq: rec.seq, id: rec.id, kind: "different", result, recorded: rec.result };
        } finally {
          if (options.cold) await host.close();
        }
      }
      outcomes.push(outcome);
      onOutcome(outcome);
    }
  } finally {
    await warm?.close();
  }
  return outcomes;
}

/** The recorded tool: by its `--tool` spec when it still resolves, else the module URL it had. */
function resolveRecordedTool(session: RecordedSession): string {
  try {
    return resolveToolModule(session.tool, session.bridgeCwd);
  } catch {
    return session.toolModule;
  }
}

function toPrepared(rec: RecordedRequest): PreparedJob {
  return {
    id: rec.id,
    origin: "replay",
    args: rec.expandedArgs!,
    inputs: rec.inputs.map((i) => ({ path: i.path, digest: Buffer.from(i.digestHex, "hex") })),
    cwd: rec.cwd,
    env: rec.env!,
    ...(rec.timeoutMs !== undefined ? { timeoutMs: rec.timeoutMs } : {}),
    verbosity: rec.verbosity,
  };
}

function timeoutSignal(timeoutMs: number | undefined): AbortSignal {
  return timeoutMs !== undefined && timeoutMs > 0 ? AbortSignal.timeout(timeoutMs) : new AbortController().signal;
}
