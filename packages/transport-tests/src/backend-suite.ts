import { describe, it } from "vitest";
import { BackendHarness, type ResolvedBackendOptions, resolveBackendOptions } from "./backend-harness.js";
import { registerStoreBackendTests } from "./backend-store-tests.js";
import { registerWaitBackendTests } from "./backend-wait-tests.js";
import type { BackendConformanceOptions } from "./options.js";

/** Registers one backend test; the harness is cleaned up after it, pass or fail. */
export type DefineBackendTest = (
  title: string,
  body: (harness: BackendHarness) => Promise<void>,
  options?: { skip?: boolean; timeoutMs?: number },
) => void;

/**
 * Registers the result backend conformance tests with vitest (`describe`/`it`), inside the caller's
 * test file. Every test uses its own ids and its own backend instances from `createBackend`.
 */
export function runBackendConformance(options: BackendConformanceOptions): void {
  const resolved = resolveBackendOptions(options);
  const defineTest = testDefiner(resolved);
  describe(`${resolved.name} result backend conformance`, () => {
    registerStoreBackendTests(defineTest, resolved);
    registerWaitBackendTests(defineTest);
  });
}

function testDefiner(options: ResolvedBackendOptions): DefineBackendTest {
  return (title, body, { skip = false, timeoutMs = options.timeoutMs * 3 } = {}) => {
    it.skipIf(skip)(
      title,
      async () => {
        const harness = new BackendHarness(options);
        try {
          await body(harness);
        } finally {
          await harness.cleanup();
        }
      },
      timeoutMs,
    );
  };
}
