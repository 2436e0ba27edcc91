/** kombu's queue-name mapping, the sqs:// URL, and kombu's transport option names. */
import { describe, expect, it } from "vitest";
import { resolveBrokerOptions } from "../src/broker-options.js";
import { entityName, sqsQueueName } from "../src/queue-names.js";
import { translateTransportOptions } from "../src/transport-options.js";
import { parseSqsUrl, redactSqsUrl } from "../src/url.js";

describe("queue names (kombu's entity_name)", () => {
  it("turns dots into dashes and other punctuation into underscores", () => {
    expect(entityName("celery")).toBe("celery");
    expect(entityName("tasks.images:resize@high")).toBe("tasks-images_resize_high");
    expect(entityName("a-b_c")).toBe("a-b_c");
    expect(entityName("x/y+z$")).toBe("x_y_z_");
  });

  it("keeps a .fifo suffix and maps what precedes it", () => {
    expect(entityName("orders.eu.fifo")).toBe("orders-eu.fifo");
    expect(entityName("fifo")).toBe("fifo");
  });

  it("adds the prefix before mapping, as canonical_queue_name", () => {
    expect(sqsQueueName("prod.", "celery")).toBe("prod-celery");
    expect(sqsQueueName("", "celery.fifo")).toBe("celery.fifo");
  });
});

describe("sqs:// URLs", () => {
  it("reads kombu's credentials form with URL-encoded secrets", () => {
    const parsed = parseSqsUrl("sqs://AKIA123:ab%2Fc%2Bd@");
    expect(parsed.credentials).toEqual({ accessKeyId: "AKIA123", secretAccessKey: "ab/c+d" });
    expect(parsed.endpoint).toBeUndefined();
  });

  it("turns a host into an endpoint, https with ?is_secure=true", () => {
    expect(parseSqsUrl("sqs://localhost:9324").endpoint).toBe("http://localhost:9324");
    expect(parseSqsUrl("sqs://k:s@sqs.example:443?is_secure=true").endpoint).toBe("https://sqs.example:443");
    expect(parseSqsUrl("sqs://").endpoint).toBeUndefined();
  });

  it("rejects other schemes with TQ_CONFIG and hides secrets", () => {
    expect(() => parseSqsUrl("redis://x")).toThrow(expect.objectContaining({ code: "TQ_CONFIG" }));
    expect(redactSqsUrl("sqs://key:secret@")).toBe("sqs://***@");
  });

  it("takes region and prefix from options, the URL query and the environment", () => {
    const resolved = resolveBrokerOptions({ url: "sqs://?region=eu-west-3&queue_name_prefix=dev-" });
    expect(resolved.clientConfig.region).toBe("eu-west-3");
    expect(resolved.queueNamePrefix).toBe("dev-");
    expect(resolveBrokerOptions({ region: "ap-south-1" }).clientConfig.region).toBe("ap-south-1");
    expect(resolveBrokerOptions({}).visibilityTimeoutMs).toBe(1_800_000);
  });

  it("refuses out-of-range settings with TQ_CONFIG", () => {
    expect(() => resolveBrokerOptions({ waitTimeSeconds: 21 })).toThrow(
      expect.objectContaining({ code: "TQ_CONFIG" }),
    );
    expect(() => resolveBrokerOptions({ visibilityTimeoutMs: 50_000_000 })).toThrow(
      expect.objectContaining({ code: "TQ_CONFIG" }),
    );
    for (const receiveConcurrency of [0, 1.5, 101]) {
      expect(() => resolveBrokerOptions({ receiveConcurrency })).toThrow(
        expect.objectContaining({ code: "TQ_CONFIG" }),
      );
    }
    expect(resolveBrokerOptions({}).receiveConcurrency).toBe(4);
  });
});

describe("transport options", () => {
  it("maps kombu's names and units", () => {
    expect(
      translateTransportOptions(
        {
          visibility_timeout: 60,
          wait_time_seconds: 5,
          queue_name_prefix: "p-",
          region: "eu-west-1",
          sqs_base64_encoding: false,
          predefined_queues: { celery: { url: "http://x/celery" } },
          polling_interval: 1,
          receiveConcurrency: 2,
        },
        undefined,
      ),
    ).toEqual({
      visibilityTimeoutMs: 60_000,
      waitTimeSeconds: 5,
      queueNamePrefix: "p-",
      region: "eu-west-1",
      rawJsonBody: true,
      predefinedQueues: { celery: { url: "http://x/celery" } },
      receiveConcurrency: 2,
    });
  });
});
