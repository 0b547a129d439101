import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { afterAll, describe, expect, it } from "vitest";
import { computeDaemonKey, type DaemonHostSettings } from "./key.js";

const dir = mkdtempSync(join(tmpdir(), "wb-key-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const tool = join(dir, "tool.mjs");
writeFileSync(tool, "export default 1;\n");
const url = pathToFileURL(tool).href;
const host: DaemonHostSettings = { host: "process", concurrency: 2, tools: undefined, abortGraceMs: 3000, maxRequestsPerTool: undefined, maxToolMemoryMb: undefined };

describe("the daemon key (docs/daemon.md, the key)", () => {
  it("is the same for the same tool, arguments and settings", () => {
    expect(computeDaemonKey(url, ["-a"], host).digest).toBe(computeDaemonKey(url, ["-a"], { ...host }).digest);
  });

  it("names this node binary and version, this bridge build, the tool path and its content digest", () => {
    const k = computeDaemonKey(url, [], host);
    expect(k.parts.node).toBe(process.execPath);
    expect(k.parts.nodeVersion).toBe(process.version);
    expect(k.parts.toolModule).toBe(url);
    expect(k.parts.toolDigest).toMatch(/^[0-9a-f]{64}$/);
    expect(k.parts.bridge).toMatch(/^\d+\.\d+\.\d+\S* \S+key\.(ts|js) \d+/);
    expect(k.digest).toMatch(/^[0-9a-f]{64}$/);
    expect(k.fileStem).toBe(`d-${k.digest.slice(0, 24)}`);
  });

  it("changes with the startup arguments, each host setting, and the tool's content", () => {
    const base = computeDaemonKey(url, ["-a"], host).digest;
    const variants = [
      computeDaemonKey(url, ["-b"], host),
      computeDaemonKey(url, ["-a", "-a"], host),
      computeDaemonKey(url, ["-a"], { ...host, host: "inline" }),
      computeDaemonKey(url, ["-a"], { ...host, concurrency: 3 }),
      computeDaemonKey(url, ["-a"], { ...host, tools: 1 }),
      computeDaemonKey(url, ["-a"], { ...host, abortGraceMs: 1 }),
      computeDaemonKey(url, ["-a"], { ...host, maxRequestsPerTool: 5 }),
      computeDaemonKey(url, ["-a"], { ...host, maxToolMemoryMb: 100 }),
    ].map((k) => k.digest);
    expect(new Set([base, ...variants]).size).toBe(variants.length + 1);
    writeFileSync(tool, "export default 2;\n");
    expect(computeDaemonKey(url, ["-a"], host).digest).not.toBe(base);
  });
});
