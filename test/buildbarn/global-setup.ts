import type { TestProject } from "vitest/node";
import { ensureBinaries } from "./cluster.js";
import { findBazel } from "../e2e/support/bazel-session.js";

declare module "vitest" {
  export interface ProvidedContext {
    /** The cluster's bin directory, or why the suite cannot run. */
    buildbarn: { binDir: string; bazel: string } | { skip: string };
  }
}

/**
 * Builds (or finds cached) the cluster's binaries once for the whole suite. Without go or Bazel the
 * suite skips with the reason; with REQUIRE_BUILDBARN=1 (set by .ci/run) that is a failure.
 */
export default function setup(project: TestProject): void {
  const required = process.env.REQUIRE_BUILDBARN === "1";
  const bazel = findBazel();
  const binaries = bazel === undefined ? { ok: false as const, reason: "bazel is not on PATH (Debian: apt-get install bazel-bootstrap)" } : ensureBinaries((l) => console.log(l));
  if (!binaries.ok) {
    if (required) throw new Error(`REQUIRE_BUILDBARN=1 but the Buildbarn suite cannot run: ${binaries.reason}`);
    console.log(`buildbarn suite: skipped — ${binaries.reason} (set REQUIRE_BUILDBARN=1 to make this a failure)`);
    project.provide("buildbarn", { skip: binaries.reason });
    return;
  }
  console.log(
    binaries.built
      ? `buildbarn: built the cluster's binaries in ${(binaries.buildMs / 1000).toFixed(0)} s: ${binaries.binDir}`
      : `buildbarn: cached binaries: ${binaries.binDir}`,
  );
  project.provide("buildbarn", { binDir: binaries.binDir, bazel: bazel! });
}
