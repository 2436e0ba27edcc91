import { describe, expect, it } from "vitest";
import { decodeEnvelope, encodeEnvelope, TqError } from "../src/index.js";

// Captured from Celery 5.2.6 with `redis-cli monitor` (shared/celery-protocol.md §1.2).
const CAPTURED =
  '{"body": "W1s3LCA3XSwge30sIHsiY2FsbGJhY2tzIjogbnVsbCwgImVycmJhY2tzIjogbnVsbCwgImNoYWluIjogbnVsbCwgImNob3JkIjogbnVsbH1d", "content-encoding": "utf-8", "content-type": "application/json", "headers": {"lang": "py", "task": "probe.add", "id": "dddddddd-0000-0000-0000-000000000002", "shadow": null, "eta": "2026-11-24T00:26:03.331856+00:00", "expires": null, "group": null, "group_index": null, "retries": 0, "timelimit": [null, null], "root_id": "dddddddd-0000-0000-0000-000000000002", "parent_id": null, "argsrepr": "(7, 7)", "kwargsrepr": "{}", "origin": "gen9887@vm", "ignore_result": false}, "properties": {"correlation_id": "dddddddd-0000-0000-0000-000000000002", "reply_to": "76961ed7-4dd2-3165-8282-4495d90f1e4e", "delivery_mode": 2, "delivery_info": {"exchange": "", "routing_key": "probe_q"}, "priority": 0, "body_encoding": "base64", "delivery_tag": "f70ecb2c-2eb2-4a8c-a342-28402735c91b"}}';

describe("kombu envelope", () => {
  it("decodes a message captured from Celery", () => {
    const decoded = decodeEnvelope(CAPTURED);
    expect(decoded.deliveryTag).toBe("f70ecb2c-2eb2-4a8c-a342-28402735c91b");
    expect(decoded.routingKey).toBe("probe_q");
    expect(decoded.exchange).toBe("");
    expect(decoded.redelivered).toBe(false);
    expect(decoded.message.headers.task).toBe("probe.add");
    expect(decoded.message.properties).toEqual({
      correlation_id: "dddddddd-0000-0000-0000-000000000002",
      reply_to: "76961ed7-4dd2-3165-8282-4495d90f1e4e",
      delivery_mode: 2,
      priority: 0,
    });
    expect(new TextDecoder().decode(decoded.message.body)).toBe(
      '[[7, 7], {}, {"callbacks": null, "errbacks": null, "chain": null, "chord": null}]',
    );
  });

  it("round-trips through encode", () => {
    const { message } = decodeEnvelope(CAPTURED);
    const text = encodeEnvelope(message, { exchange: "", routingKey: "q2", deliveryTag: "tag-1" });
    const again = decodeEnvelope(text);
    expect(again.message).toEqual(message);
    expect(again.routingKey).toBe("q2");
    expect(again.deliveryTag).toBe("tag-1");
    const raw = JSON.parse(text);
    expect(Object.keys(raw)).toEqual(["body", "content-encoding", "content-type", "headers", "properties"]);
    expect(raw.properties.body_encoding).toBe("base64");
  });

  it("sees kombu's redelivered mark", () => {
    const raw = JSON.parse(CAPTURED);
    raw.headers.redelivered = true;
    expect(decodeEnvelope(JSON.stringify(raw)).redelivered).toBe(true);
  });

  it("rejects text that is not an envelope with TQ_MESSAGE_INVALID", () => {
    for (const bad of ["not json", "[1,2]", '{"headers": {}}']) {
      let caught: unknown;
      try {
        decodeEnvelope(bad);
      } catch (error) {
        caught = error;
      }
      expect(TqError.is(caught) && caught.code).toBe("TQ_MESSAGE_INVALID");
    }
  });
});
