import { hostname } from "node:os";
import { afterEach, describe, expect, it, vi } from "vitest";
import { TqError } from "../src/errors.js";
import { jsonSerializer } from "../src/json-serializer.js";
import { type BuildTaskMessageInput, buildTaskMessage, PROTOCOL_HEADERS } from "../src/message/build.js";
import type { Serializer } from "../src/serializer.js";
import { capturedRedisEnvelope } from "./fixtures/celery-messages.js";

const ID = "dddddddd-0000-0000-0000-000000000002";
const base: BuildTaskMessageInput = { id: ID, task: "probe.add", args: [7, 7], kwargs: {} };
const bodyText = (body: Uint8Array) => new TextDecoder().decode(body);

function errorOf(run: () => unknown): TqError {
  try {
    run();
  } catch (error) {
    if (TqError.is(error)) return error;
    throw error;
  }
  throw new Error("expected a TqError");
}

afterEach(() => {
  vi.useRealTimers();
});

describe("buildTaskMessage", () => {
  it("writes Celery's v2 headers in Celery's order, with Celery's defaults", () => {
    const message = buildTaskMessage(base, jsonSerializer);
    expect(Object.keys(message.headers)).toEqual([...PROTOCOL_HEADERS]);
    expect(message.headers).toEqual({
      lang: "js",
      task: "probe.add",
      id: ID,
      shadow: null,
      eta: null,
      expires: null,
      group: null,
      group_index: null,
      retries: 0,
      timelimit: [null, null],
      root_id: ID,
      parent_id: null,
      argsrepr: "(7, 7)",
      kwargsrepr: "{}",
      origin: `gen${process.pid}@${hostname()}`,
      ignore_result: false,
    });
  });

  it("writes Celery's properties, without expiration when nothing expires", () => {
    const message = buildTaskMessage(base, jsonSerializer);
    expect(message.properties).toEqual({ correlation_id: ID, reply_to: "", delivery_mode: 2, priority: 0 });
    expect(message.contentType).toBe("application/json");
    expect(message.contentEncoding).toBe("utf-8");
  });

  it("writes the body [args, kwargs, embed] with all four embed keys", () => {
    const message = buildTaskMessage(base, jsonSerializer);
    expect(bodyText(message.body)).toBe(
      '[[7,7],{},{"callbacks":null,"errbacks":null,"chain":null,"chord":null}]',
    );
  });

  it("fills missing embed keys with null and keeps the given ones", () => {
    const link = {
      task: "probe.tsum",
      args: [],
      kwargs: {},
      options: {},
      subtask_type: null,
      immutable: false,
    };
    const message = buildTaskMessage({ ...base, embed: { callbacks: [link] } }, jsonSerializer);
    const [, , embed] = JSON.parse(bodyText(message.body)) as [unknown, unknown, Record<string, unknown>];
    expect(embed).toEqual({ callbacks: [link], errbacks: null, chain: null, chord: null });
  });

  it("reproduces the captured Redis message's headers and properties (§1.2)", () => {
    vi.useFakeTimers({ now: new Date("2026-11-24T00:24:12.849Z") });
    const captured = capturedRedisEnvelope.headers;
    const message = buildTaskMessage(
      {
        id: "22222222-2222-2222-2222-222222222222",
        task: "probe.add",
        args: [4],
        kwargs: { y: 5 },
        eta: new Date("2026-11-24T00:24:42.849Z"),
        expires: new Date("2026-11-24T00:34:12.849Z"),
        timeLimit: [60, 50],
        priority: 5,
        replyTo: "dfbb8c17-4bf9-3c1f-badf-d8dd926414d8",
        origin: "gen9334@vm",
        headers: { x_custom: "hello" },
      },
      jsonSerializer,
    );
    // Python's datetimes carry microseconds that a Date cannot; everything else is identical.
    expect(message.headers).toEqual({
      ...captured,
      lang: "js",
      eta: "2026-11-24T00:24:42.849000+00:00",
      expires: "2026-11-24T00:34:12.849000+00:00",
    });
    expect(Object.keys(message.headers)).toEqual(Object.keys(captured));
    expect(message.properties).toEqual({
      correlation_id: "22222222-2222-2222-2222-222222222222",
      reply_to: "dfbb8c17-4bf9-3c1f-badf-d8dd926414d8",
      delivery_mode: 2,
      priority: 5,
      expiration: "600000",
    });
  });

  it("sets expiration from the time left, and never negative", () => {
    vi.useFakeTimers({ now: 1_000_000 });
    expect(
      buildTaskMessage({ ...base, expires: new Date(1_060_000) }, jsonSerializer).properties.expiration,
    ).toBe("60000");
    expect(
      buildTaskMessage({ ...base, expires: new Date(999_000) }, jsonSerializer).properties.expiration,
    ).toBe("0");
  });

  it("passes every option through", () => {
    const message = buildTaskMessage(
      {
        ...base,
        rootId: "root",
        parentId: "parent",
        group: "g",
        groupIndex: 2,
        shadow: "alias",
        retries: 3,
        ignoreResult: true,
        argsrepr: "(<secret>,)",
        kwargsrepr: "{...}",
      },
      jsonSerializer,
    );
    expect(message.headers).toMatchObject({
      root_id: "root",
      parent_id: "parent",
      group: "g",
      group_index: 2,
      shadow: "alias",
      retries: 3,
      ignore_result: true,
      argsrepr: "(<secret>,)",
      kwargsrepr: "{...}",
    });
  });

  it("appends custom headers after Celery's", () => {
    const message = buildTaskMessage(
      { ...base, headers: { x_custom: "hello", stamps: { a: 1 } } },
      jsonSerializer,
    );
    expect(Object.keys(message.headers).slice(-3)).toEqual(["ignore_result", "x_custom", "stamps"]);
    expect(message.headers.x_custom).toBe("hello");
  });

  it("refuses a custom header that would replace a protocol header", () => {
    for (const name of ["id", "task", "root_id", "compression"]) {
      const error = errorOf(() => buildTaskMessage({ ...base, headers: { [name]: "x" } }, jsonSerializer));
      expect(error.code).toBe("TQ_MESSAGE_INVALID");
      expect(error.message).toContain(`custom header "${name}"`);
    }
  });

  it.each([
    ["an empty id", { id: "" }, "task id must be a non-empty string"],
    ["an empty task name", { task: "" }, "task name must be a non-empty string"],
    [
      "args that are not an array",
      { args: { 0: 1 } as unknown as unknown[] },
      "args of probe.add must be an array",
    ],
    ["kwargs that are an array", { kwargs: [] as unknown as Record<string, unknown> }, "kwargs of probe.add"],
    ["negative retries", { retries: -1 }, "retries must be a non-negative integer"],
    ["a fractional group index", { groupIndex: 1.5 }, "groupIndex must be"],
    ["a priority above 255", { priority: 256 }, "priority must be an integer from 0 to 255"],
    ["a negative time limit", { timeLimit: [-1, null] as [number, null] }, "timeLimit must be"],
    ["an invalid eta", { eta: new Date(Number.NaN) }, "eta cannot be sent: invalid Date"],
    ["a non-Date expires", { expires: "soon" as unknown as Date }, "expires must be a Date or null"],
  ])("refuses %s", (_label, patch, message) => {
    const error = errorOf(() => buildTaskMessage({ ...base, ...patch }, jsonSerializer));
    expect(error.code).toBe("TQ_MESSAGE_INVALID");
    expect(error.message).toContain(message);
  });

  it("lets the serializer's TQ_SERIALIZATION error through", () => {
    const args: unknown[] = [];
    args.push(args);
    expect(errorOf(() => buildTaskMessage({ ...base, args }, jsonSerializer)).code).toBe("TQ_SERIALIZATION");
  });

  it("uses the given serializer's content type, encoding and bytes", () => {
    const fake: Serializer = {
      contentType: "application/x-test",
      contentEncoding: "binary",
      name: "test",
      encode: (value) => new TextEncoder().encode(`T:${JSON.stringify(value)}`),
      decode: () => null,
    };
    const message = buildTaskMessage(base, fake);
    expect(message.contentType).toBe("application/x-test");
    expect(message.contentEncoding).toBe("binary");
    expect(bodyText(message.body).startsWith("T:[[7,7]")).toBe(true);
  });

  it("writes a repr cut to saferepr's limit for huge arguments", () => {
    const message = buildTaskMessage(
      { ...base, args: [Array.from({ length: 100_000 }, () => 1)] },
      jsonSerializer,
    );
    expect((message.headers.argsrepr as string).length).toBeLessThan(1100);
  });
});
