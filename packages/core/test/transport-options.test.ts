import { describe, expect, it } from "vitest";
import { TqError } from "../src/errors.js";
import type { Logger } from "../src/logger.js";
import { translateTransportOptions } from "../src/transport-options.js";

function recordingLogger(): Logger & { warnings: string[] } {
  const warnings: string[] = [];
  return {
    warnings,
    error() {},
    info() {},
    debug() {},
    warn: (message, attributes) => void warnings.push(`${message}: ${String(attributes?.["tq.options"])}`),
  };
}

const spec = {
  transport: "demo",
  title: "Demo",
  known: ["visibilityTimeoutMs", "keyPrefix", "noConfirms"],
  celeryNames: {
    visibility_timeout: { option: "visibilityTimeoutMs", scale: 1000 },
    global_keyprefix: { option: "keyPrefix" },
    confirm_publish: (value: unknown) => ({ noConfirms: value === false }),
    socket_timeout: { option: "socketTimeoutMs", scale: 1000 },
  },
} as const;

describe("translateTransportOptions", () => {
  it("passes the transport's own names and converts Celery's", () => {
    expect(
      translateTransportOptions(
        { keyPrefix: "a:", visibility_timeout: 1.5, confirm_publish: false },
        { ...spec, logger: recordingLogger() },
      ),
    ).toEqual({ keyPrefix: "a:", visibilityTimeoutMs: 1500, noConfirms: true });
    expect(translateTransportOptions(undefined, spec)).toEqual({});
  });

  it("reports options neither side knows once, and ignores them", () => {
    const logger = recordingLogger();
    // socket_timeout has a Celery mapping, but onto an option this transport does not have.
    expect(translateTransportOptions({ max_connections: 3, socket_timeout: 5 }, { ...spec, logger })).toEqual(
      {},
    );
    expect(logger.warnings).toEqual([
      "ignoring transport options the Demo transport does not know: max_connections, socket_timeout",
    ]);
  });

  it("refuses a Celery duration that is not a number, naming the transport", () => {
    let caught: unknown;
    try {
      translateTransportOptions({ visibility_timeout: "1h" }, spec);
    } catch (error) {
      caught = error;
    }
    expect(TqError.is(caught, "TQ_CONFIG")).toBe(true);
    expect((caught as Error).message).toBe(
      "[tq] [demo] transport option visibility_timeout must be a number of seconds",
    );
  });
});
