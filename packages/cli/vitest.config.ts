import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    include: ["test/**/*.test.ts"],
    globalSetup: ["test/global-setup.ts"],
    // The tests start the built CLI as child processes; tsx's esbuild start-up makes those slow on CI.
    testTimeout: 30_000,
  },
});
