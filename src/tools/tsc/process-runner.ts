// Runs a real compiler process for one request: the TypeScript 7 native binary (which has no
// in-process API to keep warm), or the JavaScript tsc for modes the warm path leaves to it.
import { spawn } from "node:child_process";
import { join } from "node:path";
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

export function runCompilerProcess(
  ts: ResolvedTypeScript,
  args: readonly string[],
  cwd: string,
  env: Readonly<Record<string, string>>,
  signal: AbortSignal,
): Promise<ProcessResult> {
  const { file, prefix } = compilerCommand(ts);
  return new Promise((resolvePromise, reject) => {
    const child = spawn(file, [...prefix, ...args], { cwd, env: { ...env }, stdio: ["ignore", "pipe", "pipe"], signal });
    const chunks: Buffer[] = [];
    child.stdout.on("data", (c: Buffer) => chunks.push(c));
    child.stderr.on("data", (c: Buffer) => chunks.push(c));
    child.on("error", (err) => {
      if (signal.aborted) resolvePromise({ exitCode: 1, output: "tsc was cancelled\n" });
      else reject(new Error(`cannot run ${file}: ${err.message}`));
    });
    child.on("close", (code, sig) => {
      const output = Buffer.concat(chunks).toString("utf8");
      if (code === null) {
        resolvePromise({ exitCode: 1, output: `${output}${file} was terminated by ${sig ?? "a signal"}\n` });
      } else {
        resolvePromise({ exitCode: code, output });
      }
    });
  });
}
