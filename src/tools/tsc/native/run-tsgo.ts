// Runs a compiler binary once (tsgo, or node running the JavaScript tsc). On cancellation the process
// is killed and waited for: the target's directory must not be written by a compiler nobody is
// listening to while the next request runs.
import { spawn } from "node:child_process";

export type TsgoResult =
  | { readonly kind: "exited"; readonly exitCode: number; readonly output: string }
  | { readonly kind: "cancelled" }
  | { readonly kind: "killed"; readonly signal: string; readonly output: string };

export function runTsgo(
  exe: string,
  args: readonly string[],
  cwd: string,
  env: Readonly<Record<string, string>>,
  signal: AbortSignal,
): Promise<TsgoResult> {
  return new Promise((resolvePromise, reject) => {
    if (signal.aborted) {
      resolvePromise({ kind: "cancelled" });
      return;
    }
    const child = spawn(exe, [...args], { cwd, env: { ...env }, stdio: ["ignore", "pipe", "pipe"] });
    const chunks: Buffer[] = [];
    child.stdout.on("data", (c: Buffer) => chunks.push(c));
    child.stderr.on("data", (c: Buffer) => chunks.push(c));
    const onAbort = (): void => {
      child.kill("SIGKILL");
    };
    signal.addEventListener("abort", onAbort, { once: true });
    child.on("error", (err) => {
      signal.removeEventListener("abort", onAbort);
      reject(new Error(`cannot run ${exe}: ${err.message}`));
    });
    child.on("close", (code, sig) => {
      signal.removeEventListener("abort", onAbort);
      const output = Buffer.concat(chunks).toString("utf8");
      if (signal.aborted) resolvePromise({ kind: "cancelled" });
      else if (code === null) resolvePromise({ kind: "killed", signal: sig ?? "a signal", output });
      else resolvePromise({ kind: "exited", exitCode: code, output });
    });
  });
}
