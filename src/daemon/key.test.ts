import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { afterAll, describe, expect, it } from "vitest";
import { computeDaemonKey, daemonTool, type DaemonHostSettings } from "./key.js";

const dir = mkdtempSync(join(tmpdir(), "wb-key-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const tool = join(dir, "tool.mjs");
writeFileSync(tool, "export default 1;\n");
const url = pathToFileURL(tool).href;
const t = () => daemonTool(tool, dir);
const host: DaemonHostSettings = { host: "process", concurrency: 2, tools: undefined, abortGraceMs: 3000, maxRequestsPerTool: undefined, maxToolMemoryMb: undefined };

describe("the daemon key (docs/daemon.md, the key)", () => {
  it("is the same for the same tool, arguments and settings", () => {
    expect(computeDaemonKey(t(), ["-a"], host).digest).toBe(computeDaemonKey(t(), ["-a"], { ...host }).digest);
  });

  it("names this node binary and version, this bridge build, the tool path and its content digest", () => {
    const k = computeDaemonKey(t(), [], host);
    expect(k.parts.node).toBe(process.execPath);
    expect(k.parts.nodeVersion).toBe(process.version);
    expect(k.parts.tool).toBe(url);
    expect(k.parts.toolDigest).toMatch(/^[0-9a-f]{64}$/);
    // The bridge by content only: no path of it may reach the key.
    expect(k.parts.bridge).toMatch(/^[0-9a-f]{64}$/);
    expect(k.digest).toMatch(/^[0-9a-f]{64}$/);
    expect(k.fileStem).toBe(`d-${k.digest.slice(0, 24)}`);
  });

  it("names a built-in tool by name, not by the path of the module holding it", () => {
    const k = computeDaemonKey(daemonTool("probe", dir), [], host);
    expect(k.parts.tool).toBe("builtin:probe");
    expect(k.parts.toolDigest).toBe("in-bridge");
    expect(daemonTool("probe", dir).spec).toBe("probe");
    expect(computeDaemonKey(daemonTool("tsc", dir), [], host).digest).not.toBe(k.digest);
  });

  it("changes with the startup arguments, each host setting, and the tool's content", () => {
    const base = computeDaemonKey(t(), ["-a"], host).digest;
    const variants = [
      computeDaemonKey(t(), ["-b"], host),
      computeDaemonKey(t(), ["-a", "-a"], host),
      computeDaemonKey(t(), ["-a"], { ...host, host: "inline" }),
      computeDaemonKey(t(), ["-a"], { ...host, concurrency: 3 }),
      computeDaemonKey(t(), ["-a"], { ...host, tools: 1 }),
      computeDaemonKey(t(), ["-a"], { ...host, abortGraceMs: 1 }),
      computeDaemonKey(t(), ["-a"], { ...host, maxRequestsPerTool: 5 }),
      computeDaemonKey(t(), ["-a"], { ...host, maxToolMemoryMb: 100 }),
    ].map((k) => k.digest);
    expect(new Set([base, ...variants]).size).toBe(variants.length + 1);
    writeFileSync(tool, "export default 2;\n");
    expect(computeDaemonKey(t(), ["-a"], host).digest).not.toBe(base);
  });
});
