import { Buffer } from "node:buffer";
import { afterEach, describe, expect, it } from "vitest";
import type { Broker } from "../src/broker.js";
import {
  type ControlRequest,
  createApp,
  decodeControlRequest,
  decodeEnvelope,
  encodeControlRequest,
  encodeEnvelope,
  globToRegExp,
  isAddressedTo,
  LamportClock,
  MemoryBroker,
  MemoryServer,
  pidboxExchange,
  pidboxReplyExchange,
  TqError,
  type TransportMessage,
} from "../src/index.js";

// Published by Celery 5.2.6 on Redis DB 8 and read with `redis-cli psubscribe '/8.*'`, from:
//   app.control.revoke("dddddddd-…02")
//   app.control.revoke(["a-1", "a-2"], terminate=True, signal="SIGKILL", destination=["w1@host"])
//   app.control.rate_limit("tasks.add", "10/m", destination=["w1@host"])
//   app.control.broadcast("revoke", arguments={"task_id": "x"}, pattern="w*@host", matcher="glob")
//   app.control.revoke("00000000-dead-…", reply=True, timeout=0.3, destination=["probe_w3@vm"])
// All on the channel "/8.celery.pidbox".
const CAPTURED = {
  REVOKE_ONE:
    '{"body": "eyJtZXRob2QiOiAicmV2b2tlIiwgImFyZ3VtZW50cyI6IHsidGFza19pZCI6ICJkZGRkZGRkZC0wMDAwLTAwMDAtMDAwMC0wMDAwMDAwMDAwMDIiLCAidGVybWluYXRlIjogZmFsc2UsICJzaWduYWwiOiAiU0lHVEVSTSJ9LCAiZGVzdGluYXRpb24iOiBudWxsLCAicGF0dGVybiI6IG51bGwsICJtYXRjaGVyIjogbnVsbH0=", "content-encoding": "utf-8", "content-type": "application/json", "headers": {"clock": 1, "expires": 1796220965.7457395}, "properties": {"delivery_mode": 2, "delivery_info": {"exchange": "celery.pidbox", "routing_key": ""}, "priority": 0, "body_encoding": "base64", "delivery_tag": "a2e43966-339e-43b8-b89d-297acfa33520"}}',
  REVOKE_LIST_TERMINATE:
    '{"body": "eyJtZXRob2QiOiAicmV2b2tlIiwgImFyZ3VtZW50cyI6IHsidGFza19pZCI6IFsiYS0xIiwgImEtMiJdLCAidGVybWluYXRlIjogdHJ1ZSwgInNpZ25hbCI6ICJTSUdLSUxMIn0sICJkZXN0aW5hdGlvbiI6IFsidzFAaG9zdCJdLCAicGF0dGVybiI6IG51bGwsICJtYXRjaGVyIjogbnVsbH0=", "content-encoding": "utf-8", "content-type": "application/json", "headers": {"clock": 2, "expires": 1796220965.75158}, "properties": {"delivery_mode": 2, "delivery_info": {"exchange": "celery.pidbox", "routing_key": ""}, "priority": 0, "body_encoding": "base64", "delivery_tag": "4eabe322-5885-4ef3-9b33-4a1780dfeb38"}}',
  RATE_LIMIT:
    '{"body": "eyJtZXRob2QiOiAicmF0ZV9saW1pdCIsICJhcmd1bWVudHMiOiB7InRhc2tfbmFtZSI6ICJ0YXNrcy5hZGQiLCAicmF0ZV9saW1pdCI6ICIxMC9tIn0sICJkZXN0aW5hdGlvbiI6IFsidzFAaG9zdCJdLCAicGF0dGVybiI6IG51bGwsICJtYXRjaGVyIjogbnVsbH0=", "content-encoding": "utf-8", "content-type": "application/json", "headers": {"clock": 3, "expires": 1796220965.7528498}, "properties": {"delivery_mode": 2, "delivery_info": {"exchange": "celery.pidbox", "routing_key": ""}, "priority": 0, "body_encoding": "base64", "delivery_tag": "eed7bd65-b88a-48fb-9ee8-de37ef9b1a73"}}',
  REVOKE_GLOB:
    '{"body": "eyJtZXRob2QiOiAicmV2b2tlIiwgImFyZ3VtZW50cyI6IHsidGFza19pZCI6ICJ4In0sICJkZXN0aW5hdGlvbiI6IG51bGwsICJwYXR0ZXJuIjogIncqQGhvc3QiLCAibWF0Y2hlciI6ICJnbG9iIn0=", "content-encoding": "utf-8", "content-type": "application/json", "headers": {"clock": 4, "expires": 1796220965.753897}, "properties": {"delivery_mode": 2, "delivery_info": {"exchange": "celery.pidbox", "routing_key": ""}, "priority": 0, "body_encoding": "base64", "delivery_tag": "f527d774-b939-42e5-b42e-95632618d32a"}}',
  REVOKE_WITH_REPLY:
    '{"body": "eyJtZXRob2QiOiAicmV2b2tlIiwgImFyZ3VtZW50cyI6IHsidGFza19pZCI6ICIwMDAwMDAwMC1kZWFkLWJlZWYtMDAwMC0wMDAwMDAwMDAwMDAiLCAidGVybWluYXRlIjogZmFsc2UsICJzaWduYWwiOiAiU0lHVEVSTSJ9LCAiZGVzdGluYXRpb24iOiBbInByb2JlX3czQHZtIl0sICJwYXR0ZXJuIjogbnVsbCwgIm1hdGNoZXIiOiBudWxsLCAidGlja2V0IjogImMwMmU4ZDQzLTA3YzYtNGI3NS05OTk1LWI5ODRkNzRkZTU2YiIsICJyZXBseV90byI6IHsiZXhjaGFuZ2UiOiAicmVwbHkuY2VsZXJ5LnBpZGJveCIsICJyb3V0aW5nX2tleSI6ICI2YzI2ZmU2Zi01ODk3LTM1MjQtYTQxZC1jNzAyODI0YTlmYjQifX0=", "content-encoding": "utf-8", "content-type": "application/json", "headers": {"clock": 1, "expires": 1796221103.4792297}, "properties": {"delivery_mode": 2, "delivery_info": {"exchange": "celery.pidbox", "routing_key": ""}, "priority": 0, "body_encoding": "base64", "delivery_tag": "cf9393a5-b0a3-4b8a-850b-8355ef612333"}}',
};

function captured(name: keyof typeof CAPTURED) {
  return decodeEnvelope(CAPTURED[name]);
}

function bodyText(message: TransportMessage): string {
  return Buffer.from(message.body).toString("utf8");
}

/** Key order of an object, recursively: kombu's order is part of the bytes. */
function shape(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(shape);
  if (typeof value === "object" && value !== null) {
    return Object.entries(value).map(([key, field]) => [key, shape(field)]);
  }
  return value;
}

describe("pidbox message codec", () => {
  it("writes a request body with the bytes Celery writes", () => {
    const cases: [keyof typeof CAPTURED, ControlRequest][] = [
      [
        "REVOKE_ONE",
        {
          method: "revoke",
          arguments: { task_id: "dddddddd-0000-0000-0000-000000000002", terminate: false, signal: "SIGTERM" },
          destination: null,
          pattern: null,
          matcher: null,
        },
      ],
      [
        "REVOKE_LIST_TERMINATE",
        {
          method: "revoke",
          arguments: { task_id: ["a-1", "a-2"], terminate: true, signal: "SIGKILL" },
          destination: ["w1@host"],
          pattern: null,
          matcher: null,
        },
      ],
      [
        "RATE_LIMIT",
        {
          method: "rate_limit",
          arguments: { task_name: "tasks.add", rate_limit: "10/m" },
          destination: ["w1@host"],
          pattern: null,
          matcher: null,
        },
      ],
      [
        "REVOKE_GLOB",
        {
          method: "revoke",
          arguments: { task_id: "x" },
          destination: null,
          pattern: "w*@host",
          matcher: "glob",
        },
      ],
      [
        "REVOKE_WITH_REPLY",
        {
          method: "revoke",
          arguments: { task_id: "00000000-dead-beef-0000-000000000000", terminate: false, signal: "SIGTERM" },
          destination: ["probe_w3@vm"],
          pattern: null,
          matcher: null,
          ticket: "c02e8d43-07c6-4b75-9995-b984d74de56b",
          replyTo: { exchange: "reply.celery.pidbox", routingKey: "6c26fe6f-5897-3524-a41d-c702824a9fb4" },
        },
      ],
    ];
    for (const [name, request] of cases) {
      const python = captured(name);
      const { clock, expires } = python.message.headers as { clock: number; expires: number };
      const ours = encodeControlRequest({ request, clock, expires });
      expect(bodyText(ours), name).toBe(bodyText(python.message));
      expect(ours.headers, name).toEqual(python.message.headers);
      expect(ours.properties, name).toEqual(python.message.properties);
      expect(ours.contentType).toBe(python.message.contentType);
      expect(ours.contentEncoding).toBe(python.message.contentEncoding);
    }
  });

  it("makes the same Redis envelope as Celery, field by field", () => {
    const python = captured("REVOKE_ONE");
    const request = decodeControlRequest(python.message);
    const text = encodeEnvelope(encodeControlRequest(request), {
      exchange: "celery.pidbox",
      routingKey: "",
      deliveryTag: python.deliveryTag,
    });
    const ours = JSON.parse(text) as Record<string, unknown>;
    const expected = JSON.parse(CAPTURED.REVOKE_ONE) as Record<string, unknown>;
    expect(ours).toEqual(expected);
    // Same key order as kombu's, but for `priority`, which core's envelope writes before `delivery_info`.
    expect(shape({ ...ours, properties: null })).toEqual(shape({ ...expected, properties: null }));
  });

  it("reads every captured Celery request", () => {
    expect(decodeControlRequest(captured("REVOKE_ONE").message)).toEqual({
      request: {
        method: "revoke",
        arguments: { task_id: "dddddddd-0000-0000-0000-000000000002", terminate: false, signal: "SIGTERM" },
        destination: null,
        pattern: null,
        matcher: null,
      },
      clock: 1,
      expires: 1796220965.7457395,
    });
    expect(decodeControlRequest(captured("REVOKE_LIST_TERMINATE").message).request).toMatchObject({
      arguments: { task_id: ["a-1", "a-2"], terminate: true, signal: "SIGKILL" },
      destination: ["w1@host"],
    });
    expect(decodeControlRequest(captured("RATE_LIMIT").message).request).toMatchObject({
      method: "rate_limit",
      arguments: { task_name: "tasks.add", rate_limit: "10/m" },
    });
    expect(decodeControlRequest(captured("REVOKE_GLOB").message).request).toMatchObject({
      pattern: "w*@host",
      matcher: "glob",
    });
    const withReply = decodeControlRequest(captured("REVOKE_WITH_REPLY").message).request;
    expect(withReply.ticket).toBe("c02e8d43-07c6-4b75-9995-b984d74de56b");
    expect(withReply.replyTo).toEqual({
      exchange: "reply.celery.pidbox",
      routingKey: "6c26fe6f-5897-3524-a41d-c702824a9fb4",
    });
  });

  it("refuses what is not a control request, naming the problem", () => {
    const base = captured("REVOKE_ONE").message;
    const withBody = (body: string): TransportMessage => ({ ...base, body: new TextEncoder().encode(body) });
    const cases: [TransportMessage, RegExp][] = [
      [withBody("not json"), /body is not JSON/],
      [withBody("[1]"), /not a JSON object/],
      [withBody('{"arguments": {}}'), /has no method/],
      [withBody('{"method": "revoke", "arguments": [1]}'), /arguments that are not an object/],
      [withBody('{"method": "revoke", "destination": [1]}'), /destination that is not a list/],
      [{ ...base, contentType: "application/x-python-serialize" }, /only application\/json/],
    ];
    for (const [message, text] of cases) {
      expect(() => decodeControlRequest(message)).toThrowError(text);
      try {
        decodeControlRequest(message);
      } catch (error) {
        expect(TqError.is(error, "TQ_MESSAGE_INVALID")).toBe(true);
      }
    }
    // A lone string destination is one node, not Python's substring test.
    const lone = decodeControlRequest(withBody('{"method": "ping", "destination": "a@x"}'));
    expect(lone.request.destination).toEqual(["a@x"]);
    expect(lone.request.arguments).toEqual({});
  });

  it("names the exchanges as Celery does", () => {
    expect(pidboxExchange()).toBe("celery.pidbox");
    expect(pidboxExchange("probe_ctl")).toBe("probe_ctl.pidbox");
    expect(pidboxReplyExchange()).toBe("reply.celery.pidbox");
  });
});

describe("isAddressedTo (kombu's Node.handle_message)", () => {
  const request = (fields: Partial<ControlRequest>): ControlRequest => ({
    method: "revoke",
    arguments: {},
    destination: null,
    pattern: null,
    matcher: null,
    ...fields,
  });

  it("takes a request without destination, or with an empty one, on every node", () => {
    expect(isAddressedTo(request({}), "w1@host")).toBe(true);
    expect(isAddressedTo(request({ destination: [] }), "w1@host")).toBe(true);
  });

  it("takes a destination list by exact name", () => {
    expect(isAddressedTo(request({ destination: ["w1@host", "w2@host"] }), "w2@host")).toBe(true);
    expect(isAddressedTo(request({ destination: ["w1@host"] }), "w1@hos")).toBe(false);
    // The destination wins over a pattern, as in kombu.
    expect(isAddressedTo(request({ destination: ["x@y"], pattern: "*", matcher: "glob" }), "w1@host")).toBe(
      false,
    );
  });

  it("matches glob patterns as fnmatch", () => {
    const glob = (pattern: string, name: string) =>
      isAddressedTo(request({ pattern, matcher: "glob" }), name);
    expect(glob("w*@host", "w1@host")).toBe(true);
    expect(glob("w*@host", "w1@host2")).toBe(false);
    expect(glob("w?@host", "w12@host")).toBe(false);
    expect(glob("w[12]@host", "w2@host")).toBe(true);
    expect(glob("w[!12]@host", "w2@host")).toBe(false);
    expect(glob("w[!12]@host", "w3@host")).toBe(true);
    expect(glob("w.x@h", "wax@h")).toBe(false);
    expect(glob("[]]", "]")).toBe(true);
    expect(glob("a[b", "a[b")).toBe(true);
    expect(globToRegExp("celery@*").source).toBe("^(?:celery@[\\s\\S]*)$");
  });

  it("matches pcre patterns from the start of the name, as re.match", () => {
    const pcre = (pattern: string, name: string) =>
      isAddressedTo(request({ pattern, matcher: "pcre" }), name);
    expect(pcre("w\\d@", "w1@host")).toBe(true);
    expect(pcre("host", "w1@host")).toBe(false);
    expect(pcre("w1@host$", "w1@host")).toBe(true);
  });

  it("takes a pattern without a matcher on every node, as kombu does", () => {
    expect(isAddressedTo(request({ pattern: "nobody" }), "w1@host")).toBe(true);
  });

  it("throws TQ_MESSAGE_INVALID for an unknown matcher or a broken regular expression", () => {
    expect(() => isAddressedTo(request({ pattern: "x", matcher: "regex" }), "w")).toThrowError(
      /unknown matcher/,
    );
    expect(() => isAddressedTo(request({ pattern: "(", matcher: "pcre" }), "w")).toThrowError(
      /not a regular expression/,
    );
  });
});

describe("LamportClock", () => {
  it("forwards and adjusts as kombu's", () => {
    const clock = new LamportClock();
    expect(clock.forward()).toBe(1);
    expect(clock.adjust(10)).toBe(11);
    expect(clock.adjust(3)).toBe(12);
    expect(clock.value).toBe(12);
  });
});

/** Resolves once `check` passes (memory broadcasts are delivered in a later turn). */
async function eventually(check: () => void, timeoutMs = 5_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      check();
      return;
    } catch (error) {
      if (Date.now() > deadline) throw error;
      await new Promise((resolve) => setTimeout(resolve, 5));
    }
  }
}

describe("app.control", () => {
  const brokers: Broker[] = [];
  afterEach(async () => {
    for (const broker of brokers.splice(0)) await broker.close();
  });

  async function listen(controlExchange?: string) {
    const server = new MemoryServer();
    const broker = new MemoryBroker({ server });
    const listener = new MemoryBroker({ server });
    brokers.push(broker, listener);
    const app = createApp({
      broker,
      resultBackend: null,
      env: false,
      ...(controlExchange ? { controlExchange } : {}),
    });
    const received: TransportMessage[] = [];
    await listener.subscribeBroadcast(pidboxExchange(controlExchange), (message) => {
      received.push(message);
    });
    return { app, received };
  }

  it("revoke sends Celery's revoke request on celery.pidbox", async () => {
    const { app, received } = await listen();
    const before = Date.now() / 1000;
    await app.control.revoke("t-1");
    await app.control.revoke(["t-2", "t-3"], { terminate: true, signal: "KILL", destination: "w1@host" });
    await eventually(() => expect(received).toHaveLength(2));
    const [one, two] = received.map((message) => decodeControlRequest(message));
    expect(bodyText(received[0] as TransportMessage)).toBe(
      '{"method": "revoke", "arguments": {"task_id": "t-1", "terminate": false, "signal": "SIGTERM"}, "destination": null, "pattern": null, "matcher": null}',
    );
    expect(one?.clock).toBe(1);
    expect(one?.expires).toBeGreaterThanOrEqual(before + 1);
    expect(one?.expires).toBeLessThan(Date.now() / 1000 + 1.5);
    expect(two?.clock).toBe(2);
    expect(two?.request).toEqual({
      method: "revoke",
      arguments: { task_id: ["t-2", "t-3"], terminate: true, signal: "KILL" },
      destination: ["w1@host"],
      pattern: null,
      matcher: null,
    });
  });

  it("rateLimit sends rate_limit; a pattern defaults to the glob matcher", async () => {
    const { app, received } = await listen("probe_ctl");
    await app.control.rateLimit("tasks.add", "10/m", { pattern: "w*" });
    await app.control.rateLimit("tasks.add", null, { pattern: "^w", matcher: "pcre" });
    await eventually(() => expect(received).toHaveLength(2));
    expect(received.map((message) => decodeControlRequest(message).request)).toEqual([
      {
        method: "rate_limit",
        arguments: { task_name: "tasks.add", rate_limit: "10/m" },
        destination: null,
        pattern: "w*",
        matcher: "glob",
      },
      {
        method: "rate_limit",
        arguments: { task_name: "tasks.add", rate_limit: null },
        destination: null,
        pattern: "^w",
        matcher: "pcre",
      },
    ]);
    expect(app.control.exchange).toBe("probe_ctl.pidbox");
  });

  it("refuses bad input with TQ_CONFIG before sending anything", async () => {
    const { app, received } = await listen();
    const bad: [() => Promise<void>, RegExp][] = [
      [() => app.control.revoke([]), /task ids/],
      [() => app.control.revoke(""), /task ids/],
      [() => app.control.revoke("t", { signal: "sigterm" }), /signal name/],
      [() => app.control.revoke("t", { signal: "SIGNOPE" }), /signal name/],
      [() => app.control.revoke("t", { destination: [] }), /at least one node/],
      [() => app.control.revoke("t", { pattern: "(", matcher: "pcre" }), /not a regular expression/],
      [() => app.control.rateLimit("tasks.add", "10/d"), /invalid rate limit/],
      [() => app.control.rateLimit("", "10/s"), /task name/],
    ];
    for (const [call, text] of bad) {
      const error = await call().catch((caught: unknown) => caught);
      expect(TqError.is(error, "TQ_CONFIG"), String(error)).toBe(true);
      expect(String(error)).toMatch(text);
    }
    expect(received).toEqual([]);
    await app.control.revoke("t", { signal: "KILL" });
    await app.control.rateLimit("tasks.add", "5");
    await eventually(() => expect(received).toHaveLength(2));
  });

  it("says remote control needs a broker with broadcast on one without (SQS)", async () => {
    const server = new MemoryServer();
    const memory = new MemoryBroker({ server });
    brokers.push(memory);
    const noBroadcast: Broker = {
      capabilities: { ...memory.capabilities, broadcast: false },
      connect: () => memory.connect(),
      close: () => memory.close(),
      publish: (...args) => memory.publish(...args),
      consume: (...args) => memory.consume(...args),
      purge: (queue) => memory.purge(queue),
      queueLength: (queue) => memory.queueLength(queue),
    };
    const app = createApp({ broker: noBroadcast, resultBackend: null, env: false });
    const error = await app.control.revoke("t-1").catch((caught: unknown) => caught);
    expect(TqError.is(error, "TQ_CONFIG")).toBe(true);
    expect(String(error)).toMatch(/remote control \(revoke\) needs a broker with broadcast/);
  });
});
