/** URL parsing and option translation: no server involved. */
import { TqError } from "@tq/core";
import { describe, expect, it } from "vitest";
import { MongoBackend } from "../src/backend.js";
import { MongoBroker } from "../src/broker.js";
import { translateTransportOptions } from "../src/transport-options.js";
import { parseMongoUrl } from "../src/url.js";

const codeOf = (run: () => unknown): string | undefined => {
  try {
    run();
  } catch (error) {
    return TqError.is(error) ? error.code : "not a TqError";
  }
  return undefined;
};

describe("parseMongoUrl", () => {
  it("reads the database from the path of seed lists, SRV URLs and URLs with options", () => {
    expect(parseMongoUrl("mongodb://localhost:27017/jobs").database).toBe("jobs");
    expect(parseMongoUrl("mongodb://u:p%40ss@h1:27017,h2:27018/jobs?replicaSet=rs0").database).toBe("jobs");
    expect(parseMongoUrl("mongodb+srv://cluster0.example.net/jobs?retryWrites=true").database).toBe("jobs");
    expect(parseMongoUrl("mongodb://localhost").database).toBeUndefined();
    expect(parseMongoUrl("mongodb://localhost/?tls=true").database).toBeUndefined();
  });

  it("notices a serverSelectionTimeoutMS in the URL", () => {
    expect(parseMongoUrl("mongodb://h/db?serverSelectionTimeoutMS=500").setsServerSelectionTimeout).toBe(
      true,
    );
    expect(parseMongoUrl("mongodb://h/db").setsServerSelectionTimeout).toBe(false);
  });

  it("rejects other schemes and invalid database names with TQ_CONFIG", () => {
    expect(codeOf(() => parseMongoUrl("redis://localhost/0"))).toBe("TQ_CONFIG");
    expect(codeOf(() => parseMongoUrl("mongodb://localhost/a.b"))).toBe("TQ_CONFIG");
    expect(codeOf(() => parseMongoUrl("mongodb://localhost/a%2Fb"))).toBe("TQ_CONFIG");
  });
});

describe("constructors", () => {
  it("do no I/O and check their options", () => {
    // Nothing listens on port 1; constructing must not try.
    expect(() => new MongoBroker({ url: "mongodb://127.0.0.1:1/db" })).not.toThrow();
    expect(() => new MongoBackend({ url: "mongodb://127.0.0.1:1/db" })).not.toThrow();
    expect(codeOf(() => new MongoBroker({ url: "mongodb://h/db", visibilityTimeoutMs: 0 }))).toBe(
      "TQ_CONFIG",
    );
    expect(codeOf(() => new MongoBackend({ url: "mongodb://h/db", resultExpiresMs: -1 }))).toBe("TQ_CONFIG");
    expect(codeOf(() => new MongoBroker({}))).toBe("TQ_CONFIG");
  });
});

describe("translateTransportOptions", () => {
  it("passes tq's names, converts Celery's, and reports unknown ones once", () => {
    const warnings: string[] = [];
    const logger = {
      error() {},
      info() {},
      debug() {},
      warn: (message: string, attributes?: Record<string, unknown>) =>
        void warnings.push(`${message}: ${String(attributes?.["tq.options"])}`),
    };
    const out = translateTransportOptions(
      { collection: "jobs", visibility_timeout: 60, polling_interval: 0.5, max_connections: 10 },
      ["collection", "visibilityTimeoutMs", "pollIntervalMs"],
      logger,
    );
    expect(out).toEqual({ collection: "jobs", visibilityTimeoutMs: 60_000, pollIntervalMs: 500 });
    expect(warnings).toEqual([
      "ignoring transport options the MongoDB transport does not know: max_connections",
    ]);
    expect(
      codeOf(() => translateTransportOptions({ visibility_timeout: "1h" }, ["visibilityTimeoutMs"], logger)),
    ).toBe("TQ_CONFIG");
  });
});
