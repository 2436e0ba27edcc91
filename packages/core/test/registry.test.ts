import { afterEach, describe, expect, it } from "vitest";
import { TqError } from "../src/errors.js";
import { MemoryBackend, MemoryBroker } from "../src/memory/index.js";
import {
  createBroker,
  createResultBackend,
  findTransport,
  redactUrl,
  registeredSchemes,
  registerTransport,
  schemeOf,
  type TransportPlugin,
  unregisterTransport,
} from "../src/registry.js";

const fake: TransportPlugin = {
  name: "fake",
  schemes: ["fake", "fakes"],
  createBroker: () => new MemoryBroker(),
  createBackend: () => new MemoryBackend(),
};

afterEach(() => unregisterTransport(fake));

describe("transport registry", () => {
  it("has memory:// built in", () => {
    expect(findTransport("memory")?.name).toBe("memory");
    expect(createBroker("memory://")).toBeInstanceOf(MemoryBroker);
    expect(createResultBackend("memory://")).toBeInstanceOf(MemoryBackend);
    expect(registeredSchemes()).toContain("memory");
  });

  it("registers a plugin for each of its schemes, once, explicitly", () => {
    expect(findTransport("fake")).toBeUndefined();
    registerTransport(fake);
    registerTransport(fake); // idempotent
    registerTransport({ ...fake }); // a duplicate copy of the same package
    expect(findTransport("FAKES")).toBe(fake);
    expect(createBroker("fake://host/0")).toBeInstanceOf(MemoryBroker);
  });

  it("reports a conflicting registration loudly", () => {
    registerTransport(fake);
    const other: TransportPlugin = { name: "other", schemes: ["fake"] };
    expect(() => registerTransport(other)).toThrow(/already registered by transport "fake"/);
    try {
      registerTransport(other);
    } catch (error) {
      expect(TqError.is(error, "TQ_TRANSPORT_CONFLICT")).toBe(true);
    }
  });

  it("shares one registry across copies of core (Symbol.for key)", () => {
    registerTransport(fake);
    const holder = globalThis as unknown as Record<symbol, { byScheme: Map<string, TransportPlugin> }>;
    expect(holder[Symbol.for("tq.registry.v1")]?.byScheme.get("fake")).toBe(fake);
  });

  it("names the package to install for a known scheme", () => {
    expect(() => createBroker("redis://localhost:6379/0")).toThrow(
      /npm install @tq\/redis.*registerTransport\(redisTransport\)/,
    );
    try {
      createResultBackend("mongodb://x/y");
    } catch (error) {
      expect(TqError.is(error, "TQ_UNKNOWN_SCHEME")).toBe(true);
      expect((error as Error).message).toContain("@tq/mongo");
    }
    expect(() => createBroker("nats://x")).toThrow(/no transport registered for "nats:"/);
  });

  it("parses schemes and redacts passwords", () => {
    expect(schemeOf("redis+sentinel://a:26379")).toBe("redis+sentinel");
    expect(() => schemeOf("localhost:6379")).not.toThrow(); // "localhost:" parses as a scheme, like URL does
    expect(() => schemeOf("/tmp/x")).toThrow(/not a URL with a scheme/);
    expect(redactUrl("amqp://guest:secret@host:5672//")).toBe("amqp://guest:***@host:5672//");
  });
});
