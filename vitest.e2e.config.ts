import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    include: ["test/e2e/**/*.e2e.test.ts"],
    testTimeout: 600_000,
    hookTimeout: 600_000,
    // Real Bazel servers are heavy: one e2e file at a time.
    fileParallelism: false,
  },
});
