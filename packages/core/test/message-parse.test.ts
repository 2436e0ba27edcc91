import { brotliCompressSync, deflateSync, gzipSync } from "node:zlib";
import { describe, expect, it } from "vitest";
import type { TqError } from "../src/errors.js";
import { createJsonSerializer, jsonSerializer } from "../src/json-serializer.js";
import { buildTaskMessage } from "../src/message/build.js";
import { decodeTaskMessage, parseTaskMessage } from "../src/message/parse.js";
import type { TransportMessage } from "../src/message/types.js";
import type { Serializer } from "../src/serializer.js";
import {
  capturedAmqpMessage,
  capturedRedisBytes,
  capturedRedisEnvelope,
  fromRedisEnvelope,
  type KombuRedisEnvelope,
} from "./fixtures/celery-messages.js";

const serializers = [jsonSerializer];
const ID = "ffffffff-0000-0000-0000-000000000001";
const encode = (value: unknown) => new TextEncoder().encode(JSON.stringify(value));
const EMPTY_EMBED = { callbacks: null, errbacks: null, chain: null, chord: null };

/** A v2 message like the AMQP capture, with some headers replaced or removed (`undefined`). */
function v2(
  headers: Record<string, unknown> = {},
  body: unknown = [[2, 3], {}, EMPTY_EMBED],
): TransportMessage {
  const merged: Record<string, unknown> = { ...capturedAmqpMessage.headers, ...headers };
  for (const [key, value] of Object.entries(headers)) if (value === undefined) delete merged[key];
  return { ...capturedAmqpMessage, headers: merged, body: encode(body) };
}

function v1(body: unknown, headers: Record<string, unknown> = {}): TransportMessage {
  return {
    headers,
    properties: {},
    contentType: "application/json",
    contentEncoding: "utf-8",
    body: encode(body),
  };
}

function failure(message: TransportMessage, lookup: readonly Serializer[] = serializers): TqError {
  const result = decodeTaskMessage(message, lookup);
  if (result.ok) throw new Error("expected the message to be refused");
  expect(() => parseTaskMessage(message, lookup)).toThrow(result.error.message);
  return result.error;
}

describe("captured Celery messages", () => {
  it("decodes the Redis message of §1.2", () => {
    const message = parseTaskMessage(fromRedisEnvelope(capturedRedisEnvelope), serializers);
    expect(message).toMatchObject({
      protocol: 2,
      id: "22222222-2222-2222-2222-222222222222",
      task: "probe.add",
      lang: "py",
      rootId: "22222222-2222-2222-2222-222222222222",
      parentId: null,
      group: null,
      groupIndex: null,
      shadow: null,
      retries: 0,
      timeLimit: [60, 50],
      argsrepr: "(4,)",
      kwargsrepr: "{'y': 5}",
      origin: "gen9334@vm",
      ignoreResult: false,
      args: [4],
      kwargs: { y: 5 },
      contentType: "application/json",
      contentEncoding: "utf-8",
    });
    expect(message.eta?.toISOString()).toBe("2026-11-24T00:24:42.849Z");
    expect(message.expires?.toISOString()).toBe("2026-11-24T00:34:12.849Z");
    expect(message.embed).toEqual({
      callbacks: [
        { task: "probe.tsum", args: [], kwargs: {}, options: {}, subtask_type: null, immutable: false },
      ],
      errbacks: [
        { task: "probe.fail", args: ["boom"], kwargs: {}, options: {}, subtask_type: null, immutable: true },
      ],
      chain: null,
      chord: null,
    });
    expect(message.headers.x_custom).toBe("hello");
    expect(message.properties).toMatchObject({
      priority: 5,
      expiration: "600000",
      delivery_info: { exchange: "", routing_key: "probe_q" },
      delivery_tag: "ff69ead6-9b54-4361-8396-730ee3526586",
    });
  });

  it("decodes the exact stored bytes of §1.2", () => {
    const envelope = JSON.parse(capturedRedisBytes) as KombuRedisEnvelope;
    const message = parseTaskMessage(fromRedisEnvelope(envelope), serializers);
    expect(message).toMatchObject({
      id: "dddddddd-0000-0000-0000-000000000002",
      args: [7, 7],
      kwargs: {},
      expires: null,
      timeLimit: [null, null],
      argsrepr: "(7, 7)",
      embed: EMPTY_EMBED,
    });
    expect(message.eta?.toISOString()).toBe("2026-11-24T00:26:03.331Z");
  });

  it("decodes the AMQP message of §1.4", () => {
    const message = parseTaskMessage(capturedAmqpMessage, serializers);
    expect(message).toMatchObject({ protocol: 2, id: ID, args: [2, 3], kwargs: {}, embed: EMPTY_EMBED });
    expect(message.headers.x_custom).toBe("hi");
    expect(message.expires?.toISOString()).toBe("2026-11-24T00:28:09.123Z");
  });
});

describe("protocol v2", () => {
  it("round-trips what buildTaskMessage writes", () => {
    const sig = {
      task: "t.next",
      args: [1],
      kwargs: {},
      options: { queue: "q" },
      subtask_type: null,
      immutable: true,
    };
    const eta = new Date("2030-01-02T03:04:05.678Z");
    const built = buildTaskMessage(
      {
        id: "id-1",
        task: "t.add",
        args: [1, "two", { three: [3] }],
        kwargs: { k: null },
        embed: { chain: [sig], chord: sig },
        rootId: "root-1",
        parentId: "parent-1",
        group: "group-1",
        groupIndex: 0,
        shadow: "alias",
        eta,
        expires: new Date("2030-01-02T04:00:00Z"),
        retries: 2,
        timeLimit: [60, 50],
        origin: "gen1@host",
        ignoreResult: true,
        headers: { x_trace: "abc" },
      },
      jsonSerializer,
    );
    const message = parseTaskMessage(built, serializers);
    expect(message).toEqual({
      protocol: 2,
      id: "id-1",
      task: "t.add",
      rootId: "root-1",
      parentId: "parent-1",
      group: "group-1",
      groupIndex: 0,
      shadow: "alias",
      eta,
      expires: new Date("2030-01-02T04:00:00Z"),
      retries: 2,
      timeLimit: [60, 50],
      argsrepr: "(1, 'two', {'three': [3]})",
      kwargsrepr: "{'k': None}",
      origin: "gen1@host",
      ignoreResult: true,
      lang: "js",
      args: [1, "two", { three: [3] }],
      kwargs: { k: null },
      embed: { callbacks: null, errbacks: null, chain: [sig], chord: sig },
      headers: built.headers,
      properties: built.properties,
      contentType: "application/json",
      contentEncoding: "utf-8",
    });
  });

  it("round-trips 1 MiB arrays", () => {
    const big = Array.from({ length: 1024 * 1024 }, (_, index) => index % 1000);
    const message = parseTaskMessage(
      buildTaskMessage({ id: "big", task: "t", args: [big], kwargs: { big } }, jsonSerializer),
      serializers,
    );
    expect((message.args[0] as number[]).length).toBe(1024 * 1024);
    expect((message.kwargs.big as number[])[1024 * 1024 - 1]).toBe((1024 * 1024 - 1) % 1000);
  });

  it("applies Celery's defaults to missing optional headers", () => {
    const message = parseTaskMessage({ ...v2(), headers: { task: "probe.add", id: ID } }, serializers);
    expect(message).toMatchObject({
      lang: null,
      shadow: null,
      eta: null,
      expires: null,
      group: null,
      groupIndex: null,
      retries: 0,
      timeLimit: [null, null],
      rootId: ID,
      parentId: null,
      argsrepr: "(2, 3)",
      kwargsrepr: "{}",
      origin: null,
      ignoreResult: false,
    });
  });

  it("defaults a null root_id to the id and null repr headers to the repr", () => {
    const message = parseTaskMessage(v2({ root_id: null, argsrepr: null, timelimit: null }), serializers);
    expect(message).toMatchObject({ rootId: ID, argsrepr: "(2, 3)", timeLimit: [null, null] });
  });

  it("reads a naive eta as UTC, other offsets correctly, and a Date a transport decoded", () => {
    expect(parseTaskMessage(v2({ eta: "2026-11-24T00:27:19" }), serializers).eta?.toISOString()).toBe(
      "2026-11-24T00:27:19.000Z",
    );
    expect(parseTaskMessage(v2({ eta: "2026-11-24T01:27:19.5-01:00" }), serializers).eta?.toISOString()).toBe(
      "2026-11-24T02:27:19.500Z",
    );
    const date = new Date("2026-01-01T00:00:00Z");
    expect(parseTaskMessage(v2({ eta: date }), serializers).eta).toBe(date);
  });

  it("keeps unknown headers, in a copy", () => {
    const message = v2({
      stamped_headers: ["a"],
      stamps: { a: 1 },
      replaced_task_nesting: 1,
      redelivered: true,
    });
    const parsed = parseTaskMessage(message, serializers);
    expect(parsed.headers).toMatchObject({
      stamped_headers: ["a"],
      stamps: { a: 1 },
      redelivered: true,
      x_custom: "hi",
    });
    expect(parsed.headers).not.toBe(message.headers);
  });

  it("accepts a 2-element body [args, kwargs] with an empty embed", () => {
    expect(parseTaskMessage(v2({}, [[1], { a: 2 }]), serializers)).toMatchObject({
      args: [1],
      kwargs: { a: 2 },
      embed: EMPTY_EMBED,
    });
  });

  it("fills missing embed keys and signature fields, keeping extra signature keys", () => {
    const message = parseTaskMessage(
      v2({}, [
        [],
        {},
        { chord: { task: "body", chord_size: 2 }, callbacks: [{ task: "cb", immutable: true }] },
      ]),
      serializers,
    );
    expect(message.embed).toEqual({
      callbacks: [{ task: "cb", args: [], kwargs: {}, options: {}, subtask_type: null, immutable: true }],
      errbacks: null,
      chain: null,
      chord: {
        task: "body",
        args: [],
        kwargs: {},
        options: {},
        subtask_type: null,
        immutable: false,
        chord_size: 2,
      },
    });
    expect(parseTaskMessage(v2({}, [[], {}, null]), serializers).embed).toEqual(EMPTY_EMBED);
  });

  it("decodes Python's NaN tokens and kombu's tagged values in the body", () => {
    const message = {
      ...v2(),
      body: new TextEncoder().encode(
        '[[NaN, {"__type__": "datetime", "__value__": "2026-11-24T00:24:42.849269+00:00"}], ' +
          '{"d": {"__type__": "decimal", "__value__": "1.10"}}, {}]',
      ),
    };
    const parsed = parseTaskMessage(message, serializers);
    expect(parsed.args[0]).toBeNaN();
    expect((parsed.args[1] as Date).toISOString()).toBe("2026-11-24T00:24:42.849Z");
    expect(parsed.kwargs).toEqual({ d: "1.10" });
  });

  describe("header type errors", () => {
    it.each([
      ["id", 5, 'header "id" must be a non-empty string, got number 5'],
      ["id", undefined, 'header "id" is missing; it must be a non-empty string'],
      ["id", "", 'header "id" must be a non-empty string, got string ""'],
      ["task", null, 'header "task" must be a non-empty string, got null'],
      ["task", ["a"], 'header "task" must be a non-empty string, got array of length 1'],
      ["lang", 1, 'header "lang" must be a string or null, got number 1'],
      ["shadow", {}, 'header "shadow" must be a string or null, got object'],
      ["eta", "tomorrow", 'header "eta" must be an ISO 8601 date-time or null, got string "tomorrow"'],
      ["eta", 1795480000, 'header "eta" must be an ISO 8601 date-time or null, got number 1795480000'],
      [
        "expires",
        "2026-13-01T00:00:00",
        'header "expires" must be an ISO 8601 date-time or null, got string "2026-13-01T00:00:00"',
      ],
      [
        "expires",
        "2026-02-29T00:00:00+00:00",
        'header "expires" must be an ISO 8601 date-time or null, got string "2026-02-29T00:00:00+00:00"',
      ],
      ["group", 7, 'header "group" must be a string or null, got number 7'],
      ["group_index", -1, 'header "group_index" must be a non-negative integer or null, got number -1'],
      ["group_index", "0", 'header "group_index" must be a non-negative integer or null, got string "0"'],
      ["retries", 1.5, 'header "retries" must be a non-negative integer, got number 1.5'],
      ["retries", null, 'header "retries" must be a non-negative integer, got null'],
      [
        "timelimit",
        [60],
        'header "timelimit" must be [hard, soft] with non-negative numbers or null, got [60]',
      ],
      [
        "timelimit",
        [60, "50"],
        'header "timelimit" must be [hard, soft] with non-negative numbers or null, got [60,"50"]',
      ],
      [
        "timelimit",
        [-1, null],
        'header "timelimit" must be [hard, soft] with non-negative numbers or null, got [-1,null]',
      ],
      [
        "timelimit",
        "60",
        'header "timelimit" must be [hard, soft] with non-negative numbers or null, got string "60"',
      ],
      ["root_id", 1, 'header "root_id" must be a string or null, got number 1'],
      ["parent_id", true, 'header "parent_id" must be a string or null, got boolean true'],
      ["argsrepr", ["(1,)"], 'header "argsrepr" must be a string or null, got array of length 1'],
      ["kwargsrepr", 0, 'header "kwargsrepr" must be a string or null, got number 0'],
      ["origin", 1, 'header "origin" must be a string or null, got number 1'],
      ["ignore_result", "yes", 'header "ignore_result" must be a boolean, got string "yes"'],
      ["compression", 1, 'header "compression" must be a string, got number 1'],
    ])("refuses header %s = %j", (name, value, message) => {
      const error = failure(v2({ [name]: value }));
      expect(error.code).toBe("TQ_MESSAGE_INVALID");
      expect(error.message).toBe(`[tq] [message] ${message}`);
    });
  });

  describe("body shape errors", () => {
    it.each([
      ["an object", { args: [] }, "body must be an array [args, kwargs, embed] (protocol v2), got object"],
      ["4 elements", [[], {}, {}, {}], "body must have 3 elements [args, kwargs, embed], got 4"],
      ["1 element", [[]], "body must have 3 elements [args, kwargs, embed], got 1"],
      ["args as an object", [{}, {}, {}], "body args (element 0) must be an array, got object"],
      [
        "kwargs as an array",
        [[], [], {}],
        "body kwargs (element 1) must be an object, got array of length 0",
      ],
      ["kwargs as null", [[], null, {}], "body kwargs (element 1) must be an object, got null"],
      [
        "embed as a string",
        [[], {}, "x"],
        'body embed (element 2) must be an object or null, got string "x"',
      ],
      [
        "callbacks as a string",
        [[], {}, { callbacks: "x" }],
        "body embed (element 2).callbacks must be an array or null",
      ],
      [
        "a callback as a string",
        [[], {}, { errbacks: ["x"] }],
        'errbacks[0] must be a signature object, got string "x"',
      ],
      [
        "a signature without task",
        [[], {}, { chain: [{ args: [] }] }],
        "chain[0].task is missing; it must be a non-empty string",
      ],
      [
        "a chord as an array",
        [[], {}, { chord: [] }],
        "chord must be a signature object, got array of length 0",
      ],
      [
        "signature args as a dict",
        [[], {}, { chord: { task: "t", args: {} } }],
        "chord.args must be an array or null",
      ],
      [
        "immutable as a string",
        [[], {}, { chord: { task: "t", immutable: "yes" } }],
        'chord.immutable must be a boolean, got string "yes"',
      ],
    ])("refuses a body with %s", (_label, body, message) => {
      const error = failure(v2({}, body));
      expect(error.code).toBe("TQ_MESSAGE_INVALID");
      expect(error.message).toContain(message);
    });
  });
});

describe("protocol v1", () => {
  const body = {
    task: "probe.add",
    id: "11111111-0000-0000-0000-000000000001",
    args: [1, 2],
    kwargs: { z: 3 },
    group: "ignored-when-taskset",
    taskset: "ts-1",
    retries: 1,
    eta: "2026-11-24T00:00:00",
    expires: "2026-11-24T01:00:00+00:00",
    utc: true,
    callbacks: [{ task: "cb", args: [], kwargs: {}, options: {}, subtask_type: null, immutable: false }],
    errbacks: null,
    timelimit: [30, 20],
    chord: { task: "body", args: [], kwargs: {}, options: {}, subtask_type: null, immutable: false },
  };

  it("maps a v1 body like Celery's proto1_to_proto2", () => {
    const message = parseTaskMessage(v1(body), serializers);
    expect(message).toMatchObject({
      protocol: 1,
      id: body.id,
      task: "probe.add",
      rootId: body.id,
      parentId: null,
      group: "ts-1",
      groupIndex: null,
      shadow: null,
      retries: 1,
      timeLimit: [30, 20],
      argsrepr: "(1, 2)",
      kwargsrepr: "{'z': 3}",
      ignoreResult: false,
      args: [1, 2],
      kwargs: { z: 3 },
      embed: { callbacks: body.callbacks, errbacks: null, chain: null, chord: body.chord },
      headers: {},
    });
    expect(message.eta?.toISOString()).toBe("2026-11-24T00:00:00.000Z");
    expect(message.expires?.toISOString()).toBe("2026-11-24T01:00:00.000Z");
  });

  it("uses group when there is no taskset, and defaults for missing fields", () => {
    const message = parseTaskMessage(v1({ task: "t", id: "i", group: "g" }), serializers);
    expect(message).toMatchObject({
      group: "g",
      args: [],
      kwargs: {},
      retries: 0,
      eta: null,
      timeLimit: [null, null],
      embed: EMPTY_EMBED,
      argsrepr: "()",
    });
  });

  it("reads naive dates as local time when utc is false", () => {
    const message = parseTaskMessage(
      v1({ task: "t", id: "i", eta: "2026-06-01T12:00:00", utc: false }),
      serializers,
    );
    expect(message.eta?.getTime()).toBe(new Date(2026, 5, 1, 12, 0, 0).getTime());
  });

  it.each([
    [[1, 2], 'message has no "task" header, so its body must be a protocol v1 object, got array of length 2'],
    [{ id: "i" }, 'body field "task" (protocol v1) is missing; it must be a non-empty string'],
    [{ task: "t", id: 1 }, 'body field "id" (protocol v1) must be a non-empty string, got number 1'],
    [{ task: "t", id: "i", kwargs: [] }, 'body field "kwargs" (protocol v1) must be an object or null'],
    [{ task: "t", id: "i", utc: "no" }, 'body field "utc" (protocol v1) must be a boolean, got string "no"'],
    [
      { task: "t", id: "i", eta: "soon" },
      'body field "eta" (protocol v1) must be an ISO 8601 date-time or null',
    ],
    [
      { task: "t", id: "i", callbacks: [1] },
      'body field "callbacks" (protocol v1)[0] must be a signature object',
    ],
  ])("refuses the v1 body %j", (value, message) => {
    const error = failure(v1(value));
    expect(error.code).toBe("TQ_MESSAGE_INVALID");
    expect(error.message).toContain(message);
  });
});

describe("serialization", () => {
  it("refuses an unknown content type, naming it and the accepted ones", () => {
    const error = failure({ ...v2(), contentType: "application/x-python-serialize" });
    expect(error.code).toBe("TQ_SERIALIZATION");
    expect(error.message).toBe(
      '[tq] [message] unsupported content type "application/x-python-serialize"; accepted: application/json',
    );
  });

  it("accepts content type parameters and case, and the binary encoding", () => {
    const message = { ...v2(), contentType: "Application/JSON; charset=utf-8", contentEncoding: "binary" };
    expect(decodeTaskMessage(message, serializers).ok).toBe(true);
  });

  it("refuses an unknown content encoding", () => {
    const error = failure({ ...v2(), contentEncoding: "latin-1" });
    expect(error.code).toBe("TQ_SERIALIZATION");
    expect(error.message).toContain('unsupported content encoding "latin-1"');
  });

  it("looks serializers up in a Map by content type", () => {
    const tagged = createJsonSerializer({ taggedTypes: true });
    const result = decodeTaskMessage(v2(), new Map([["application/json", tagged]]));
    expect(result.ok).toBe(true);
    const none = decodeTaskMessage(v2(), new Map());
    expect(none.ok).toBe(false);
    if (!none.ok) expect(none.error.message).toContain("accepted: none");
  });

  it("wraps a serializer's own error as TQ_SERIALIZATION with the cause", () => {
    const cause = new Error("boom");
    const broken: Serializer = {
      ...jsonSerializer,
      contentType: "application/json",
      decode: () => {
        throw cause;
      },
    };
    const error = failure(v2(), [broken]);
    expect(error.code).toBe("TQ_SERIALIZATION");
    expect(error.message).toBe("[tq] [message] body cannot be decoded as application/json: boom");
    expect(error.cause).toBe(cause);
  });

  it("refuses a body that is not UTF-8", () => {
    const error = failure({ ...v2(), body: new Uint8Array([0x5b, 0xc3, 0x28, 0x5d]) });
    expect(error.code).toBe("TQ_SERIALIZATION");
    expect(error.message).toBe(
      "[tq] [message] body cannot be decoded as application/json: JSON data is not valid UTF-8 (4 bytes)",
    );
  });

  it("refuses a body that is not JSON", () => {
    const error = failure({ ...v2(), body: new TextEncoder().encode("[[1], {") });
    expect(error.code).toBe("TQ_SERIALIZATION");
    expect(error.message).toMatch(
      /^\[tq\] \[message\] body cannot be decoded as application\/json: data is not valid JSON/,
    );
  });

  describe("compression", () => {
    const plain = v2();

    it.each([
      ["application/x-gzip", "kombu's zlib (zlib stream)", deflateSync],
      ["application/x-gzip", "a gzip stream", gzipSync],
      ["zlib", "the zlib alias", deflateSync],
      ["application/x-brotli", "brotli", brotliCompressSync],
    ])("decompresses %s (%s)", (compression, _label, compress) => {
      const message = { ...plain, headers: { ...plain.headers, compression }, body: compress(plain.body) };
      expect(parseTaskMessage(message, serializers)).toMatchObject({
        args: [2, 3],
        headers: { compression },
      });
    });

    it("round-trips a compressed message built by tq", () => {
      const built = buildTaskMessage(
        { id: "z", task: "t", args: ["x".repeat(10_000)], kwargs: {} },
        jsonSerializer,
      );
      const compressed = {
        ...built,
        headers: { ...built.headers, compression: "application/x-gzip" },
        body: deflateSync(built.body),
      };
      expect(compressed.body.length).toBeLessThan(built.body.length / 10);
      expect(parseTaskMessage(compressed, serializers).args).toEqual(["x".repeat(10_000)]);
    });

    it("names an unsupported compression and the supported ones", () => {
      const error = failure({ ...plain, headers: { ...plain.headers, compression: "application/x-bz2" } });
      expect(error.code).toBe("TQ_SERIALIZATION");
      expect(error.message).toBe(
        '[tq] [message] unsupported compression "application/x-bz2"; supported: application/x-gzip (zlib), application/x-brotli',
      );
    });

    it("refuses a body that does not decompress", () => {
      const error = failure({ ...plain, headers: { ...plain.headers, compression: "application/x-gzip" } });
      expect(error.code).toBe("TQ_SERIALIZATION");
      expect(error.message).toContain("body cannot be decompressed as application/x-gzip: ");
    });
  });
});

describe("envelope errors", () => {
  it.each([
    ["headers", null, "message headers must be an object, got null"],
    ["properties", undefined, "message properties must be an object, got nothing"],
    ["body", "[[],{},{}]", 'message body must be a Uint8Array, got string "[[],{},{}]"'],
  ])("refuses %s = %j", (field, value, message) => {
    const error = failure({ ...v2(), [field]: value } as TransportMessage);
    expect(error.code).toBe("TQ_MESSAGE_INVALID");
    expect(error.message).toBe(`[tq] [message] ${message}`);
  });

  it("rethrows errors that are not tq's (bugs), instead of reporting them as bad messages", () => {
    const throwing: Serializer = {
      ...jsonSerializer,
      get contentType(): string {
        throw new RangeError("bug");
      },
    };
    expect(() => decodeTaskMessage(v2(), [throwing])).toThrow(RangeError);
  });
});
