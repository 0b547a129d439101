// Runs a real compiler process for one request: the TypeScript 7 native binary (which has no
// in-process API to keep warm), or the JavaScript tsc for modes the warm path leaves to it.
import { join } from "node:path";
import { runTsgo } from "./native/run-tsgo.js";
import { nativeCompilerPath, type ResolvedTypeScript } from "./resolve-typescript.js";

export interface ProcessResult {
  readonly exitCode: number;
  readonly output: string;
}

export function compilerCommand(ts: ResolvedTypeScript): { file: string; prefix: string[] } {
  if (ts.major >= 7) return { file: nativeCompilerPath(ts), prefix: [] };
  // The worker's environment may have no PATH (Bazel), so node is this process's own binary.
  return { file: process.execPath, prefix: [join(ts.dir, "lib", "tsc.js")] };
}

const CANCELLED: ProcessResult = { exitCode: 1, output: "tsc was cancelled\n" };

export async function runCompilerProcess(
  ts: ResolvedTypeScript,
  args: readonly string[],
  cwd: string,
  env: Readonly<Record<string, string>>,
  signal: AbortSignal,
): Promise<ProcessResult> {
  const { file, prefix } = compilerCommand(ts);
  // runTsgo answers only once the process is gone (not at the kill, as spawn's own `signal` option
  // would), so nothing writes into the request directory after the answer.
  const result = await runTsgo(file, [...prefix, ...args], cwd, env, signal);
  switch (result.kind) {
    case "cancelled":
      return CANCELLED;
    case "killed":
      return { exitCode: 1, output: `${result.output}${file} was terminated by ${result.signal}\n` };
    case "exited":
      return { exitCode: result.exitCode, output: result.output };
  }
}
