import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    include: ["test/**/*.test.ts"],
    // In-process server on loopback, the official driver as client; TTL tests wait a few sweeps.
    testTimeout: 20_000,
    hookTimeout: 20_000,
  },
});
