import { describe, it, type TestContext } from "vitest";
import { registerBasicBrokerTests } from "./broker-basic-tests.js";
import { registerCapabilityBrokerTests } from "./broker-capability-tests.js";
import { registerDeliveryBrokerTests } from "./broker-delivery-tests.js";
import { BrokerHarness, type ResolvedBrokerOptions, resolveBrokerOptions } from "./broker-harness.js";
import type { BrokerConformanceOptions } from "./options.js";

/** Registers one broker test; the harness is cleaned up after it, pass or fail. */
export type DefineBrokerTest = (
  title: string,
  body: (harness: BrokerHarness, context: TestContext) => Promise<void>,
) => void;

/**
 * Registers the broker conformance tests with vitest (`describe`/`it`), inside the caller's test
 * file. Every test uses its own queue names and its own broker instances from `createBroker`, and
 * checks the server's state through `probe` where one is given. Tests of optional capabilities
 * (priorities, delayed delivery, broadcast) are skipped when the broker's `capabilities` say so.
 */
export function runBrokerConformance(options: BrokerConformanceOptions): void {
  const resolved = resolveBrokerOptions(options);
  const defineTest = testDefiner(resolved);
  describe(`${resolved.name} broker conformance`, () => {
    registerBasicBrokerTests(defineTest);
    registerDeliveryBrokerTests(defineTest);
    registerCapabilityBrokerTests(defineTest);
  });
}

function testDefiner(options: ResolvedBrokerOptions): DefineBrokerTest {
  // Room for a few waits of the full timeout plus the quiet periods a test watches.
  const testTimeoutMs = options.timeoutMs * 4 + options.quietPeriodMs * 4;
  return (title, body) => {
    it(
      title,
      async (context) => {
        const harness = new BrokerHarness(options);
        try {
          await body(harness, context);
        } finally {
          await harness.cleanup();
        }
      },
      testTimeoutMs,
    );
  };
}
