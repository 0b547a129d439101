import { describe, expect, it } from "vitest";
import { JobAbort } from "./job-abort.js";

// JobAbort must behave like an AbortController wherever it is observed (docs/architecture.md:
// cancellation reaches the tool as ctx.signal), whether the signal is read before or after the abort.

describe("JobAbort", () => {
  it("a signal read after the abort is already aborted, with the reason", () => {
    const a = new JobAbort();
    const reason = new Error("cancelled by Bazel");
    a.abort(reason);
    expect(a.aborted).toBe(true);
    expect(a.signal.aborted).toBe(true);
    expect(a.signal.reason).toBe(reason);
  });

  it("a signal read before the abort fires its listeners once, and the switch's own listeners too", () => {
    const a = new JobAbort();
    const seen: string[] = [];
    a.onAbort((r) => seen.push(`switch:${String(r)}`));
    a.signal.addEventListener("abort", () => seen.push(`signal:${String(a.signal.reason)}`));
    a.abort("first");
    a.abort("second");
    expect(seen).toEqual(["switch:first", "signal:first"]);
    expect(a.reason).toBe("first");
  });

  it("the default reason is an AbortError, as AbortController gives", () => {
    const a = new JobAbort();
    a.abort();
    expect((a.reason as DOMException).name).toBe("AbortError");
    expect((a.signal.reason as DOMException).name).toBe("AbortError");
  });

  it("a removed listener is not called; listeners added after the abort are not called", () => {
    const a = new JobAbort();
    let calls = 0;
    const remove = a.onAbort(() => calls++);
    remove();
    a.abort();
    a.onAbort(() => calls++);
    expect(calls).toBe(0);
  });

  it("over(controller): the controller's signal is the one handed out, and aborting either side is seen by both", () => {
    const viaController = new AbortController();
    const a = JobAbort.over(viaController);
    expect(a.signal).toBe(viaController.signal);
    let fired = 0;
    a.onAbort(() => fired++);
    viaController.abort("client");
    expect([a.aborted, a.reason, fired]).toEqual([true, "client", 1]);

    const viaSwitch = new AbortController();
    const b = JobAbort.over(viaSwitch);
    b.abort("timeout");
    expect([viaSwitch.signal.aborted, viaSwitch.signal.reason]).toEqual([true, "timeout"]);

    const already = new AbortController();
    already.abort("before");
    expect(JobAbort.over(already).aborted).toBe(true);
  });
});
