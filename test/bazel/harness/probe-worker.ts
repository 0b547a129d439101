import { expect } from "vitest";
import { FakeBazel, isJson, type Profile } from "./fake-bazel.js";

/** Starts the bridge with the probe tool as a Bazel worker for `profile`, as a rule would. */
export function startProbeWorker(
  profile: Profile,
  opts: { multiplex?: boolean; extra?: string[]; startup?: string[]; env?: Record<string, string>; cli?: string } = {},
): FakeBazel {
  const startup = opts.startup ?? ["--tool", "probe", "--concurrency=8"];
  const protocolFlag = isJson(profile) ? ["--protocol=json"] : [];
  return new FakeBazel({
    profile,
    startupArgs: [...startup, ...protocolFlag],
    extraFlags: opts.extra ?? [],
    multiplex: opts.multiplex ?? false,
    ...(opts.env ? { env: opts.env } : {}),
    ...(opts.cli ? { cli: opts.cli } : {}),
  });
}

/** Ends the worker as Bazel does and asserts it broke no protocol rule and exited 0. */
export async function stopCleanly(w: FakeBazel): Promise<void> {
  const exit = await w.stop();
  expect(w.violations, w.diagnostics()).toEqual([]);
  expect(exit.code, w.diagnostics()).toBe(0);
}

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
