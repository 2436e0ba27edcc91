/** URL parsing and option validation: no server needed. */
import { TqError } from "@tq/core";
import { describe, expect, it } from "vitest";
import { AmqpBroker } from "../src/broker.js";
import { parseAmqpUrl, redactAmqpUrl } from "../src/url.js";

describe("parseAmqpUrl", () => {
  it("reads the URL forms kombu accepts", () => {
    expect(parseAmqpUrl("amqp://guest:guest@127.0.0.1:5672//").connect).toEqual({
      protocol: "amqp",
      hostname: "127.0.0.1",
      port: 5672,
      username: "guest",
      password: "guest",
      vhost: "/",
    });
    expect(parseAmqpUrl("amqp://").connect).toMatchObject({ hostname: "localhost", port: 5672, vhost: "/" });
    expect(parseAmqpUrl("amqp://host/").connect).toMatchObject({
      username: "guest",
      password: "guest",
      vhost: "/",
    });
    expect(parseAmqpUrl("pyamqp://u:p@host/%2F").connect).toMatchObject({ protocol: "amqp", vhost: "%2F" });
    expect(parseAmqpUrl("amqps://u@h/v1").connect).toMatchObject({
      protocol: "amqps",
      port: 5671,
      password: "",
    });
    expect(parseAmqpUrl("AMQP://[::1]:5673/x?heartbeat=10&frame_max=8192").connect).toMatchObject({
      hostname: "::1",
      port: 5673,
      vhost: "x",
      heartbeat: 10,
      frameMax: 8192,
    });
    // The password ends at the last "@", and is percent-decoded.
    expect(parseAmqpUrl("amqp://user:p@ss%2Fw@host//").connect).toMatchObject({
      username: "user",
      password: "p@ss/w",
      hostname: "host",
    });
  });

  it("refuses what is not an AMQP URL with TQ_CONFIG and never shows the password", () => {
    for (const url of [
      "redis://h",
      "amqp//h",
      "amqp://h:port/",
      "amqp://u:secret@h:99999/",
      "amqp://h/?heartbeat=x",
    ]) {
      let error: unknown;
      try {
        parseAmqpUrl(url);
      } catch (caught) {
        error = caught;
      }
      expect(TqError.is(error, "TQ_CONFIG"), url).toBe(true);
      expect((error as Error).message).not.toContain("secret");
    }
    expect(redactAmqpUrl("amqp://user:s3cr@t@host//")).toBe("amqp://user:***@host//");
  });
});

describe("options", () => {
  it("refuses bad options with TQ_CONFIG, without I/O", () => {
    const bad = [
      { maxPriority: 0 },
      { maxPriority: 256 },
      { publishTimeoutMs: 0 },
      { heartbeatSeconds: -1 },
      { queueType: "stream" },
      { reconnect: { jitter: 2 } },
      { reconnect: { factor: 0.5 } },
      { deadLetterExchange: "" },
      { connection: {} },
    ];
    for (const options of bad) {
      expect(() => new AmqpBroker(options as never), JSON.stringify(options)).toThrowError(
        expect.objectContaining({ code: "TQ_CONFIG" }),
      );
    }
  });

  it("validates consume's prefetch and queues", async () => {
    const broker = new AmqpBroker({ url: "amqp://127.0.0.1:1//" });
    for (const [queues, prefetch] of [
      [["q"], 0],
      [["q"], 1.5],
      [[], 1],
    ] as const) {
      const error = await broker.consume(queues, () => undefined, { prefetch }).catch((e: unknown) => e);
      expect(TqError.is(error, "TQ_CONFIG")).toBe(true);
    }
    const noQueue = await broker
      .publish(
        {
          headers: {},
          properties: {},
          contentType: "a/b",
          contentEncoding: "binary",
          body: new Uint8Array(),
        },
        { exchange: "", routingKey: "" },
      )
      .catch((e: unknown) => e);
    expect(TqError.is(noQueue, "TQ_CONFIG")).toBe(true);
    await broker.close();
  });
});
