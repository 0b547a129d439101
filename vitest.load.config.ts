import { defineConfig } from "vitest/config";

// Full-size load runs (`npm run test:load`): too slow for every `npm test`, so they live apart.
// The reduced-size variants in test/reliability/load-reduced.test.ts run in the normal suite.
export default defineConfig({
  test: {
    include: ["test/load/**/*.test.ts"],
    testTimeout: 600_000,
    hookTimeout: 120_000,
    // One load file at a time: two of them at once on a 2-core machine measure each other.
    fileParallelism: false,
  },
});
