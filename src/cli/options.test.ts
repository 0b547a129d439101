import { describe, expect, it } from "vitest";
import { detectMode } from "./main.js";
import { parseOptions, UsageError } from "./options.js";

describe("bridge flags (issue 2 §5: --name=value and --name value)", () => {
  it("accepts both forms and leaves everything else to the tool in order", () => {
    const o = parseOptions(["--tool", "probe", "--startup-a", "--protocol=json", "--concurrency", "3", "x", "--persistent_worker", "--extra"]);
    expect(o.tool).toBe("probe");
    expect(o.protocol).toBe("json");
    expect(o.concurrency).toBe(3);
    expect(o.persistentWorker).toBe(true);
    expect(o.toolArgs).toEqual(["--startup-a", "x", "--extra"]);
  });

  it("recognises bridge flags after --persistent_worker (Bazel's --worker_extra_flag position, §3.2)", () => {
    const o = parseOptions(["--tool=probe", "--persistent_worker", "--log-level=debug", "--shutdown-grace-ms", "50"]);
    expect(o.logLevel).toBe("debug");
    expect(o.shutdownGraceMs).toBe(50);
  });

  it("--tool-processes sets the pool size; --tools, its old spelling, still does", () => {
    expect(parseOptions(["--tool=probe", "--tool-processes", "3"]).toolProcesses).toBe(3);
    expect(parseOptions(["--tool=probe", "--tools=2"]).toolProcesses).toBe(2);
    expect(parseOptions(["--tool=probe"]).toolProcesses).toBeUndefined();
    expect(() => parseOptions(["--tool-processes=0"])).toThrow(/--tool-processes expects an integer >= 1/);
  });

  it("passes everything after -- to the tool verbatim", () => {
    expect(parseOptions(["--tool=probe", "--", "--tool=x", "--persistent_worker"]).toolArgs).toEqual(["--tool=x", "--persistent_worker"]);
  });

  it("rejects bad values with a message naming the flag", () => {
    expect(() => parseOptions(["--protocol=xml"])).toThrow(UsageError);
    expect(() => parseOptions(["--protocol=xml"])).toThrow(/--protocol expects proto or json/);
    expect(() => parseOptions(["--concurrency=0"])).toThrow(/--concurrency expects an integer >= 1/);
    expect(() => parseOptions(["--tool"])).toThrow(/--tool expects a value/);
  });
});

describe("mode detection (docs/protocol/buck2-worker.md §14, docs/protocol/bazel-worker.md §11)", () => {
  it("WORKER_SOCKET wins, then --persistent_worker, else one-shot", () => {
    const bazel = parseOptions(["--tool=probe", "--persistent_worker"]);
    expect(detectMode(bazel, { WORKER_SOCKET: "/tmp/s" })).toBe("buck2");
    expect(detectMode(bazel, {})).toBe("bazel");
    expect(detectMode(parseOptions(["--tool=probe", "@x"]), {})).toBe("oneshot");
    expect(detectMode(parseOptions(["--tool=probe"]), { WORKER_SOCKET: "" })).toBe("oneshot");
  });
});
