import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, utimesSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { KILLS_BEFORE_PAUSE, PAUSE_MS, clearKillHistory, recordKilledDaemon, startPausedReason } from "./start-history.js";
import { isStaleStartLock, releaseStartLock, tryAcquireStartLock } from "./start-lock.js";

const dir = mkdtempSync(join(tmpdir(), "wb-lock-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe("the start lock (docs/daemon.md, starting)", () => {
  it("only one holder at a time; released only by its holder", () => {
    const lock = join(dir, "a.lock");
    expect(tryAcquireStartLock(lock)).toBe(true);
    expect(tryAcquireStartLock(lock)).toBe(false);
    expect(isStaleStartLock(lock)).toBe(false);
    releaseStartLock(lock);
    expect(existsSync(lock)).toBe(false);
    writeFileSync(lock, "1\n"); // someone else's
    releaseStartLock(lock);
    expect(existsSync(lock)).toBe(true);
  });

  it("is stale when its holder is dead, or when it is older than any start could take", () => {
    const dead = join(dir, "dead.lock");
    writeFileSync(dead, "999999999\n");
    expect(isStaleStartLock(dead)).toBe(true);
    const old = join(dir, "old.lock");
    writeFileSync(old, `${process.pid}\n`);
    expect(isStaleStartLock(old)).toBe(false);
    utimesSync(old, new Date(Date.now() - 60_000), new Date(Date.now() - 60_000));
    expect(isStaleStartLock(old)).toBe(true);
    expect(isStaleStartLock(join(dir, "missing.lock"))).toBe(false);
  });

  it("an empty or unreadable lock is someone's being written: not stale until it is old", () => {
    const empty = join(dir, "empty.lock");
    writeFileSync(empty, "");
    expect(isStaleStartLock(empty)).toBe(false);
    utimesSync(empty, new Date(Date.now() - 60_000), new Date(Date.now() - 60_000));
    expect(isStaleStartLock(empty)).toBe(true);
  });

  it("is never seen without its holder's pid, and leaves no file of its own behind", () => {
    const lock = join(dir, "whole.lock");
    expect(tryAcquireStartLock(lock)).toBe(true);
    expect(readFileSync(lock, "utf8")).toBe(`${process.pid}\n`);
    expect(tryAcquireStartLock(lock)).toBe(false);
    expect(readdirSync(dir).filter((n) => n.startsWith("whole.lock."))).toEqual([]);
    releaseStartLock(lock);
  });
});

describe("start history: daemons killed from outside (docs/daemon.md, where it falls back)", () => {
  it(`after ${KILLS_BEFORE_PAUSE} kills clients stop starting daemons until the pause runs out; daemon start clears it`, () => {
    const h = join(dir, "k.deaths");
    const t0 = 1_000_000_000_000;
    expect(startPausedReason(h, t0)).toBeUndefined();
    recordKilledDaemon(h, t0);
    expect(startPausedReason(h, t0 + 1)).toBeUndefined();
    recordKilledDaemon(h, t0 + 1000);
    expect(startPausedReason(h, t0 + 2000)).toMatch(/the last 2 daemons for this key were killed .*'worker-bridge daemon start'/);
    expect(startPausedReason(h, t0 + 1000 + PAUSE_MS)).toBeUndefined();
    clearKillHistory(h);
    expect(startPausedReason(h, t0 + 2000)).toBeUndefined();
  });
});
