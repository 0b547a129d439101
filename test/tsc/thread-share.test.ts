// The default thread count of a TypeScript 7 compile: the cores other runnable tasks leave idle.
import { expect, test } from "vitest";
import { halfTheCores, idleCores, tsgoThreadsNow } from "../../src/tools/tsc/native/thread-share.js";

const loadavg = (running: number) => () => `0.50 0.40 0.30 ${running}/300 12345\n`;

test("a lone compile on an idle machine gets every core (at most 8)", () => {
  expect(tsgoThreadsNow(2, loadavg(1))).toBe(2);
  expect(tsgoThreadsNow(6, loadavg(1))).toBe(6);
  expect(tsgoThreadsNow(64, loadavg(1))).toBe(8);
});

test("other runnable tasks (parallel actions, other builds) shrink the share to at least one thread", () => {
  expect(idleCores(8, loadavg(5))).toBe(4);
  expect(tsgoThreadsNow(8, loadavg(8))).toBe(1);
  expect(tsgoThreadsNow(2, loadavg(30))).toBe(1);
});

test("without a readable running count, half the cores (1 to 4)", () => {
  const unreadable = (): string => {
    throw new Error("ENOENT");
  };
  expect(idleCores(8, unreadable)).toBeUndefined();
  expect(idleCores(8, () => "garbage")).toBeUndefined();
  expect(tsgoThreadsNow(8, unreadable)).toBe(halfTheCores(8));
  expect([halfTheCores(1), halfTheCores(2), halfTheCores(8), halfTheCores(32)]).toEqual([1, 1, 4, 4]);
});
