import type { Logger } from "@tq/core";
import { TqError } from "@tq/core";
import { describe, expect, it } from "vitest";
import { translateTransportOptions } from "../src/transport-options.js";

function recordingLogger(): Logger & { warnings: unknown[][] } {
  const warnings: unknown[][] = [];
  const noop = () => {};
  return {
    warnings,
    error: noop,
    info: noop,
    debug: noop,
    warn: (...args: unknown[]) => warnings.push(args),
  };
}

describe("transport options from the app's configuration", () => {
  const known = ["keyPrefix", "visibilityTimeoutMs", "prioritySteps"];

  it("passes tq's own names through", () => {
    expect(
      translateTransportOptions({ keyPrefix: "app:", visibilityTimeoutMs: 5000 }, known, undefined),
    ).toEqual({
      keyPrefix: "app:",
      visibilityTimeoutMs: 5000,
    });
  });

  it("renames Celery's names and converts seconds to milliseconds", () => {
    expect(
      translateTransportOptions(
        { visibility_timeout: 43_200, global_keyprefix: "celery:", priority_steps: [0, 5, 9] },
        known,
        undefined,
      ),
    ).toEqual({ visibilityTimeoutMs: 43_200_000, keyPrefix: "celery:", prioritySteps: [0, 5, 9] });
  });

  it("warns once about options it does not know and ignores them", () => {
    const logger = recordingLogger();
    expect(translateTransportOptions({ max_connections: 20, socket_timeout: 5 }, known, logger)).toEqual({});
    expect(logger.warnings).toHaveLength(1);
    expect(JSON.stringify(logger.warnings[0])).toContain("max_connections, socket_timeout");
  });

  it("rejects a Celery duration that is not a number", () => {
    let caught: unknown;
    try {
      translateTransportOptions({ visibility_timeout: "1h" }, known, undefined);
    } catch (error) {
      caught = error;
    }
    expect(TqError.is(caught, "TQ_CONFIG")).toBe(true);
  });
});
