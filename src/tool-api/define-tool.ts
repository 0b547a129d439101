// The public API a tool author implements. A tool module default-exports the value returned by
// `defineTool`; the bridge loads it inside a tool process (or inline) and calls `run` per request.

/** A file the build system declared as an input of this request, with its opaque digest. */
export interface ToolInput {
  readonly path: string;
  /** Opaque content token: Bazel sends hex text, BuildBuddy a serialized REAPI Digest; may be empty. */
  readonly digest: Uint8Array;
}

/** One request, as the tool sees it. Protocol details (ids framing, gRPC) are already gone. */
export interface ToolJob {
  /** Protocol request id (0 for singleplex and one-shot). For logs only. */
  readonly id: number;
  /** Request arguments with every `@argfile` / `--flagfile=` already expanded. */
  readonly args: readonly string[];
  /** Declared inputs (empty when the build system sends none: Buck2, NativeLink, one-shot). */
  readonly inputs: readonly ToolInput[];
  /** Absolute directory the request's relative paths resolve against (sandbox_dir applied). */
  readonly cwd: string;
  /** The bridge's environment overlaid with the request's own entries; a fresh object per job. */
  readonly env: Readonly<Record<string, string>>;
  /** > 0 asks for extra detail in the output. */
  readonly verbosity: number;
  /** Deadline for this request in ms, when the build system gave one. */
  readonly timeoutMs?: number;
}

/** Per-request context handed to `run`. */
export interface ToolContext<State> {
  /** Fires on cancellation, timeout or shutdown. Long work must watch it. */
  readonly signal: AbortSignal;
  /** Appends a line to this request's output (never to the protocol stream). */
  log(line: string): void;
  /** Whatever `init` returned for this tool process. */
  readonly state: State;
  /** The startup arguments this tool process was created with. */
  readonly startupArgs: readonly string[];
}

export interface ToolResult {
  exitCode: number;
  output?: string;
}

export interface ToolDefinition<State = unknown> {
  /** Short name used in logs. */
  readonly name: string;
  /**
   * How many jobs one tool process may run at once. Default 1: tools are assumed not to be
   * re-entrant unless they say so.
   */
  readonly maxConcurrentJobs?: number;
  /** Once per tool process, with the worker's startup arguments (everything that is not a bridge flag). */
  init?(startupArgs: readonly string[]): State | Promise<State>;
  run(job: ToolJob, ctx: ToolContext<State>): ToolResult | Promise<ToolResult>;
  /** Once, when the tool process is retired or the bridge shuts down. */
  dispose?(state: State): void | Promise<void>;
}

const TOOL_BRAND = Symbol.for("worker-bridge.tool");

/** Declares a tool. The returned object is what a tool module should `export default`. */
export function defineTool<State = undefined>(definition: ToolDefinition<State>): ToolDefinition<State> {
  if (typeof definition.run !== "function") {
    throw new TypeError("defineTool: `run(job, ctx)` must be a function");
  }
  if (definition.maxConcurrentJobs !== undefined && !(definition.maxConcurrentJobs >= 1)) {
    throw new TypeError("defineTool: `maxConcurrentJobs` must be >= 1");
  }
  return Object.assign(Object.create(null) as object, definition, { [TOOL_BRAND]: true }) as ToolDefinition<State>;
}

export function isToolDefinition(value: unknown): value is ToolDefinition<unknown> {
  return typeof value === "object" && value !== null && (value as Record<symbol, unknown>)[TOOL_BRAND] === true;
}
