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

const CANCELLED: ProcessResult = { exitCode: 1, output: "tsc was cancelled\n" };

export function runCompilerProcess(
  ts: ResolvedTypeScript,
  args: readonly string[],
  cwd: string,
  env: Readonly<Record<string, string>>,
  signal: AbortSignal,
): Promise<ProcessResult> {
  const { file, prefix } = compilerCommand(ts);
  return new Promise((resolvePromise, reject) => {
    if (signal.aborted) {
      resolvePromise(CANCELLED);
      return;
    }
    // Not spawn's own `signal` option: it reports the abort (an "error") as soon as the kill is
    // sent, while the compiler may still be writing into the request directory. The answer waits
    // for the process to be gone, so nothing touches that directory after it.
    const child = spawn(file, [...prefix, ...args], { cwd, env: { ...env }, stdio: ["ignore", "pipe", "pipe"] });
    const chunks: Buffer[] = [];
    child.stdout.on("data", (c: Buffer) => chunks.push(c));
    child.stderr.on("data", (c: Buffer) => chunks.push(c));
    const onAbort = (): void => {
      child.kill("SIGKILL");
    };
    signal.addEventListener("abort", onAbort, { once: true });
    child.on("error", (err) => {
      signal.removeEventListener("abort", onAbort);
      reject(new Error(`cannot run ${file}: ${err.message}`));
    });
    child.on("close", (code, sig) => {
      signal.removeEventListener("abort", onAbort);
      const output = Buffer.concat(chunks).toString("utf8");
      if (signal.aborted) {
        resolvePromise(CANCELLED);
      } else if (code === null) {
        resolvePromise({ exitCode: 1, output: `${output}${file} was terminated by ${sig ?? "a signal"}\n` });
      } else {
        resolvePromise({ exitCode: code, output });
      }
    });
  });
}
