import { describe, expect, it } from "vitest";
import { CrashLoopDetector } from "../../src/supervisor/crash-loop.js";
import { StderrTail } from "../../src/supervisor/stderr-tail.js";

describe("CrashLoopDetector (issue 4 §3: K crashes in T seconds)", () => {
  it("trips at the K-th crash inside the window and re-arms once the oldest ages out", () => {
    let now = 1_000;
    const d = new CrashLoopDetector(3, 10_000, () => now);
    d.record();
    now += 1_000;
    d.record();
    expect(d.blockedForMs()).toBe(0);
    now += 1_000;
    d.record();
    // The first crash (t=1000) leaves the window at t=11000; now is 3000.
    expect(d.blockedForMs()).toBe(8_000);
    now = 11_000;
    expect(d.blockedForMs()).toBe(0);
  });

  it("does not trip when crashes are spread wider than the window", () => {
    let now = 0;
    const d = new CrashLoopDetector(2, 1_000, () => now);
    d.record();
    now += 1_500;
    d.record();
    expect(d.blockedForMs()).toBe(0);
  });
});

describe("StderrTail (issue 4 §3: crash output names the last lines of stderr)", () => {
  it("keeps only the last N lines, across chunk boundaries, including an unterminated line", () => {
    const t = new StderrTail(2, 100);
    expect(t.push("one\ntw")).toEqual(["one"]);
    expect(t.push("o\nthree\nfou")).toEqual(["two", "three"]);
    expect(t.text()).toBe("two\nthree\nfou");
  });

  it("clips very long lines so a crash report stays readable", () => {
    const t = new StderrTail(5, 10);
    t.push(`${"x".repeat(50)}\n`);
    expect(t.text()).toBe(`${"x".repeat(10)}…`);
  });
});
