import { startWorker } from "./bazel-client.js";

/**
 * Whether `--host=process` works in the built CLI. Returns undefined when it does, else the reason
 * (printed by the tests that need it, so a skipped case always says why). The process host is the
 * default, so under CI an unusable one is a failure, never a skip.
 */
export async function processHostUnavailable(): Promise<string | undefined> {
  const reason = await probeProcessHost();
  if (reason !== undefined && process.env.CI) throw new Error(`the process host must work in CI: ${reason}`);
  return reason;
}

async function probeProcessHost(): Promise<string | undefined> {
  const w = startWorker({ protocol: "proto", args: ["--host=process"], watchdogMs: 20_000 });
  w.send({ arguments: ["--echo=up"] });
  try {
    const [r] = await w.waitForResponses(1, 15_000);
    w.closeStdin();
    await w.waitForExit(10_000);
    return r?.output === "up" ? undefined : `--host=process answered ${JSON.stringify(r)}`;
  } catch (err) {
    w.kill();
    const line = w.stderr.split("\n").find((l) => l.trim() !== "") ?? (err as Error).message;
    return `--host=process is not usable in dist/cli.js yet: ${line.trim()}`;
  }
}
