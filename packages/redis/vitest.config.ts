import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    include: ["test/**/*.test.ts"],
    typecheck: { enabled: true, include: ["test/**/*.test-d.ts"] },
    // Real servers: Redis on loopback, clusters and sentinels started by the tests, Python Celery.
    testTimeout: 30_000,
    hookTimeout: 60_000,
  },
});
