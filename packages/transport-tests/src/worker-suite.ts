import { describe, it, type TestContext } from "vitest";
import { registerBasicWorkerTests } from "./worker-basic-tests.js";
import { registerCanvasWorkerTests } from "./worker-canvas-tests.js";
import { registerContextWorkerTests } from "./worker-context-tests.js";
import { registerEtaWorkerTests } from "./worker-eta-tests.js";
import { type WorkerConformanceOptions, WorkerHarness } from "./worker-harness.js";
import { registerPoolWorkerTests } from "./worker-pool-tests.js";
import { registerRateLimitWorkerTests } from "./worker-rate-limit-tests.js";
import { registerRetryWorkerTests } from "./worker-retry-tests.js";
import { registerRevokeWorkerTests } from "./worker-revoke-tests.js";

/** Registers one worker test; the harness (apps, workers, queue) is cleaned up after it, pass or fail. */
export type DefineWorkerTest = (
  title: string,
  body: (harness: WorkerHarness, context: TestContext) => Promise<void>,
  options?: { timeoutMs?: number },
) => void;

/**
 * Registers the worker conformance tests with vitest: the worker's behaviour (retries, ETA, expiry,
 * time limits, pools, rate limits, revocation, hooks) checked end to end on the caller's broker and
 * result backend. Every test uses its own queue and its own app and worker instances.
 */
export function runWorkerConformance(options: WorkerConformanceOptions): void {
  const defineTest = testDefiner(options);
  describe(`${options.name} worker conformance`, () => {
    for (const register of WORKER_TEST_GROUPS) register(defineTest);
  });
}

// Each feature's tests live in their own worker-*-tests.ts file and are listed here.
const WORKER_TEST_GROUPS: readonly ((define: DefineWorkerTest) => void)[] = [
  registerBasicWorkerTests,
  registerContextWorkerTests,
  registerRateLimitWorkerTests,
  registerRetryWorkerTests,
  registerEtaWorkerTests,
  registerRevokeWorkerTests,
  registerPoolWorkerTests,
  registerCanvasWorkerTests,
];

function testDefiner(options: WorkerConformanceOptions): DefineWorkerTest {
  return (title, body, testOptions = {}) => {
    it(
      title,
      async (context) => {
        const harness = new WorkerHarness(options);
        try {
          await body(harness, context);
        } finally {
          await harness.cleanup();
        }
      },
      testOptions.timeoutMs ?? 60_000,
    );
  };
}
