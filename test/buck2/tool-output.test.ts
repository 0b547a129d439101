// Non-UTF-8 tool output must still reach Buck2 as a valid proto string (spec
// docs/protocol/buck2-worker.md §1.3; §15 scenario 11). The harness decodes `stderr` strictly, like prost.
import { fileURLToPath } from "node:url";
import { afterEach, describe, expect, test } from "vitest";
import { bridgeExe } from "./harness/index.js";
import { HarnessPool } from "./helpers.js";

const METER = fileURLToPath(new URL("./fixtures/meter-tool.mjs", import.meta.url));
const pool = new HarnessPool();
afterEach(() => pool.cleanup());

describe("Buck2 stderr encoding", () => {
  for (const streaming of [false, true]) {
    test(`stderr is valid UTF-8 when the tool prints invalid bytes or lone surrogates (${streaming ? "ExecuteStream" : "Execute"}) (§1.3, scenario 11)`, async () => {
      const buck2 = pool.create();
      const worker = buck2.defineWorker({ exe: bridgeExe("--tool", METER, "--host", "inline"), streaming });
      const result = await buck2.runAction({ worker, args: ["--bytes=66fffe67", "--lone-surrogate"] });
      expect(result.kind).toBe("success");
      if (result.kind === "success") {
        expect(result.stderr).toContain("f\uFFFD\uFFFDg");
        expect(result.stderr).toContain("a\uFFFDb");
        expect(result.stderr.isWellFormed()).toBe(true);
      }
      await buck2.endCommand();
    });
  }
});
