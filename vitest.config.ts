import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    include: ["test/**/*.test.ts", "src/**/*.test.ts"],
    exclude: ["test/e2e/**", "test/load/**", "test/buildbarn/**", "node_modules/**", "dist/**"],
    testTimeout: 60_000,
    hookTimeout: 60_000,
    // 2-core machines: child-process-heavy suites interfere when too many run at once.
    maxWorkers: 2,
    minWorkers: 1,
  },
});
