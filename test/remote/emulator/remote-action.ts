/** One platform property, in the order the client sent it (REAPI `Platform.Property`). */
export interface PlatformProperty {
  readonly name: string;
  readonly value: string;
}

/** A file of the action's input root. A plain string is UTF-8 content, not executable. */
export type InputFile =
  | string
  | {
      readonly content: string | Uint8Array;
      readonly executable?: boolean;
      /** Bazel's `bazel_tool_input` node property (Buck2 never sets it). */
      readonly toolInput?: boolean;
    };

/**
 * A REAPI action reduced to what the executors look at: `Command.arguments`,
 * `Command.platform`, `Command.environment_variables`, the input root and the output paths.
 * `working_directory` is always `""` (the input root), as both Bazel and Buck2 send it.
 */
export interface RemoteAction {
  readonly arguments: readonly string[];
  readonly platform: readonly PlatformProperty[];
  readonly env: Readonly<Record<string, string>>;
  /** Input root: project-relative path -> file. */
  readonly inputRoot: Readonly<Record<string, InputFile>>;
  /** Files collected into the ActionResult after the run (`Command.output_paths`). */
  readonly outputPaths?: readonly string[];
  /** `Action.timeout`; the emulator's default applies when absent. */
  readonly timeoutMs?: number;
}

/** gRPC status codes the executors answer with (`ExecuteResponse.status`). */
export type StatusCode = "OK" | "INVALID_ARGUMENT" | "FAILED_PRECONDITION" | "UNAVAILABLE" | "DEADLINE_EXCEEDED" | "INTERNAL";

/** How the emulator ran the action: useful to assert warm reuse and the fallback. */
export interface ExecutionTrace {
  readonly path: "persistent" | "one-shot" | "not-run";
  /** Argv of the process that ran it (the worker's startup argv on the persistent path). */
  readonly argv: readonly string[];
  /** The worker process that served the request (persistent path). */
  readonly workerPid?: number;
  /** True when this action started the worker (cold), false when a warm one was reused. */
  readonly workerStarted?: boolean;
  /** How a worker that had to be stopped for this action ended (timeout, protocol error). */
  readonly workerStopped?: "SIGTERM" | "SIGKILL" | "exited";
}

export interface ActionResult {
  readonly status: { readonly code: StatusCode; readonly message: string };
  readonly exitCode: number;
  readonly stdout: string;
  readonly stderr: string;
  /** Output path -> UTF-8 content, for every declared output that exists after the run. */
  readonly outputFiles: Readonly<Record<string, string>>;
  readonly execution: ExecutionTrace;
}

/** The executor profiles of docs/protocol/remote-executors.md §10.2. */
export type ProfileName = "buildbuddy-proto" | "buildbuddy-json" | "buildfarm" | "nativelink" | "buildbarn" | "plain";

export interface RemoteExecutor {
  readonly profile: ProfileName;
  /** Runs one action; resolves with the result (errors are statuses, never rejections). */
  execute(action: RemoteAction): Promise<ActionResult>;
  /** Pids of the worker processes currently alive. */
  livePids(): number[];
  /** Stops every worker (close stdin, then SIGTERM, then SIGKILL by pid) and removes temp dirs. */
  close(): Promise<void>;
}

export function platformValue(platform: readonly PlatformProperty[], name: string): string | undefined {
  // BuildBuddy looks names up lower-cased; the others compare exactly. Lower-casing here is
  // harmless because the REAPI names used in these profiles never differ only by case.
  const wanted = name.toLowerCase();
  return platform.find((p) => p.name.toLowerCase() === wanted)?.value;
}

/** BuildBuddy's boolean: case-insensitive "true" (so Buck2's Starlark `"True"` counts). */
export function isTrue(value: string | undefined): boolean {
  return value !== undefined && value.toLowerCase() === "true";
}

export function notRun(code: StatusCode, message: string): ActionResult {
  return { status: { code, message }, exitCode: 0, stdout: "", stderr: "", outputFiles: {}, execution: { path: "not-run", argv: [] } };
}

export function fileContent(file: InputFile): Uint8Array {
  const content = typeof file === "string" ? file : file.content;
  return typeof content === "string" ? Buffer.from(content, "utf8") : content;
}
