import { defineConfig } from "vitest/config";

// `npm run test:buildbarn`: Bazel 4.2.3 against a real Buildbarn cluster on loopback (test/buildbarn/).
export default defineConfig({
  test: {
    include: ["test/buildbarn/**/*.buildbarn.test.ts"],
    // Builds the cluster's binaries first when they are not cached (about 15 min cold on 2 cores).
    globalSetup: ["test/buildbarn/global-setup.ts"],
    testTimeout: 900_000,
    hookTimeout: 900_000,
    // Each file runs its own cluster and Bazel server: one at a time on a 2-core machine.
    fileParallelism: false,
  },
});
