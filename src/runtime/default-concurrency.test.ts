import { availableParallelism } from "node:os";
import { describe, expect, test } from "vitest";
import { defaultConcurrency } from "./runtime.js";

describe("defaultConcurrency", () => {
  const cpus = availableParallelism();

  test("a tool that takes one job at a time gets one per CPU", () => {
    expect(defaultConcurrency({})).toBe(cpus);
    expect(defaultConcurrency({ maxConcurrentJobs: 1 })).toBe(cpus);
  });

  test("a tool that declares more jobs per process than there are CPUs gets what it declared", () => {
    expect(defaultConcurrency({ maxConcurrentJobs: cpus + 14 })).toBe(cpus + 14);
    expect(defaultConcurrency({ maxConcurrentJobs: 2.5 * cpus + 1 })).toBe(Math.max(cpus, Math.floor(2.5 * cpus + 1)));
  });

  test("an unbounded tool gets a finite number the process pool can divide by", () => {
    expect(defaultConcurrency({ maxConcurrentJobs: Number.POSITIVE_INFINITY })).toBe(Number.MAX_SAFE_INTEGER);
    expect(defaultConcurrency({ maxConcurrentJobs: Number.MAX_SAFE_INTEGER })).toBe(Number.MAX_SAFE_INTEGER);
  });
});
