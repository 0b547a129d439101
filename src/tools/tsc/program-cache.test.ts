import { describe, expect, it } from "vitest";
import { newEntry, ProgramCache } from "./program-cache.js";

describe("ProgramCache", () => {
  it("keeps at most maxTargets targets, dropping the least recently used but never the current one", () => {
    const cache = new ProgramCache(Number.MAX_SAFE_INTEGER, 2);
    for (const id of ["a", "b", "c"]) cache.set(newEntry(id, id, "key", `/dir/${id}`));
    cache.get("a");
    // "b" is now the least recently used; "c" is the current request's target.
    expect(cache.enforceBudget("c")).toBe(1);
    expect(cache.size).toBe(2);
    expect(cache.get("b")).toBeUndefined();
    expect(cache.get("a")).toBeDefined();
    expect(cache.get("c")).toBeDefined();
    expect(cache.evictions).toBe(1);
    // The current target stays even when it is the oldest.
    const small = new ProgramCache(Number.MAX_SAFE_INTEGER, 1);
    small.set(newEntry("old", "old", "key", "/dir/old"));
    small.set(newEntry("new", "new", "key", "/dir/new"));
    expect(small.enforceBudget("old")).toBe(1);
    expect(small.get("old")).toBeDefined();
    expect(small.size).toBe(1);
  });
});
