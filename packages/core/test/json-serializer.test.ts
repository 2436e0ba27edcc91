import { describe, expect, it } from "vitest";
import { TqError } from "../src/errors.js";
import { createJsonSerializer, jsonSerializer } from "../src/json-serializer.js";

const text = (bytes: Uint8Array) => new TextDecoder().decode(bytes);
const bytes = (value: string) => new TextEncoder().encode(value);
const decode = (value: string) => jsonSerializer.decode(bytes(value));

function codeOf(run: () => unknown): { code: string; message: string } {
  try {
    run();
  } catch (error) {
    if (TqError.is(error)) return { code: error.code, message: error.message };
    throw error;
  }
  throw new Error("expected a TqError");
}

describe("jsonSerializer", () => {
  it("describes itself as Celery's json serializer", () => {
    expect(jsonSerializer.contentType).toBe("application/json");
    expect(jsonSerializer.contentEncoding).toBe("utf-8");
    expect(jsonSerializer.name).toBe("json");
  });

  it("round-trips JSON values", () => {
    const value = [[4], { y: 5, s: "héllo ✓ 😀", n: null, b: true, f: 1.5 }, { callbacks: null }];
    expect(jsonSerializer.decode(jsonSerializer.encode(value))).toEqual(value);
  });

  it("reads kombu's spaced separators and Python's ensure_ascii escapes", () => {
    expect(decode('[[2, 3], {"name": "caf\\u00e9"}, {"callbacks": null}]')).toEqual([
      [2, 3],
      { name: "café" },
      { callbacks: null },
    ]);
  });

  describe("encoding", () => {
    it("writes a Date as a Python-readable ISO string with microseconds and +00:00", () => {
      const date = new Date("2026-11-24T00:24:42.849Z");
      expect(text(jsonSerializer.encode({ at: date }))).toBe('{"at":"2026-11-24T00:24:42.849000+00:00"}');
      expect(text(jsonSerializer.encode(date))).toBe('"2026-11-24T00:24:42.849000+00:00"');
    });

    it("tags a Date as kombu ≥5.3 does when taggedTypes is on", () => {
      const serializer = createJsonSerializer({ taggedTypes: true });
      const date = new Date("2026-11-24T00:24:42.849Z");
      expect(text(serializer.encode([date]))).toBe(
        '[{"__type__":"datetime","__value__":"2026-11-24T00:24:42.849000+00:00"}]',
      );
      expect(serializer.decode(serializer.encode([date]))).toEqual([date]);
    });

    it("writes bytes as tagged base64, Buffer included, and reads them back as Uint8Array", () => {
      const data = new Uint8Array([0, 1, 2, 250, 255]);
      expect(text(jsonSerializer.encode({ data }))).toBe(
        '{"data":{"__type__":"base64","__value__":"AAEC+v8="}}',
      );
      expect(text(jsonSerializer.encode(Buffer.from("hi")))).toBe('{"__type__":"base64","__value__":"aGk="}');
      const decoded = jsonSerializer.decode(jsonSerializer.encode({ data })) as { data: Uint8Array };
      expect(Object.getPrototypeOf(decoded.data)).toBe(Uint8Array.prototype);
      expect([...decoded.data]).toEqual([0, 1, 2, 250, 255]);
    });

    it("encodes only the bytes of a Uint8Array view", () => {
      const view = new Uint8Array([9, 9, 1, 2, 9]).subarray(2, 4);
      expect(text(jsonSerializer.encode(view))).toBe('{"__type__":"base64","__value__":"AQI="}');
    });

    it("writes a safe bigint as a number and refuses an unsafe one", () => {
      expect(text(jsonSerializer.encode({ n: 42n }))).toBe('{"n":42}');
      const error = codeOf(() => jsonSerializer.encode({ big: 2n ** 64n }));
      expect(error.code).toBe("TQ_SERIALIZATION");
      expect(error.message).toContain('key "big"');
      expect(error.message).toContain("18446744073709551616");
    });

    it("follows JSON.stringify for functions, symbols, undefined and non-finite numbers", () => {
      const value = { f: () => 1, s: Symbol("x"), u: undefined, list: [undefined, () => 1], nan: Number.NaN };
      expect(text(jsonSerializer.encode(value))).toBe('{"list":[null,null],"nan":null}');
      expect(text(jsonSerializer.encode(undefined))).toBe("null");
    });

    it("calls toJSON of other objects", () => {
      expect(text(jsonSerializer.encode({ v: { toJSON: () => "custom" } }))).toBe('{"v":"custom"}');
    });

    it("refuses circular structures with TQ_SERIALIZATION", () => {
      const value: Record<string, unknown> = { a: 1 };
      value.self = value;
      const error = codeOf(() => jsonSerializer.encode(value));
      expect(error.code).toBe("TQ_SERIALIZATION");
      expect(error.message).toContain("circular reference");
      expect(error.message).not.toContain("\n");
    });

    it("refuses invalid dates and dates Python cannot hold", () => {
      expect(codeOf(() => jsonSerializer.encode({ at: new Date(Number.NaN) })).message).toContain(
        'key "at": invalid Date',
      );
      expect(codeOf(() => jsonSerializer.encode(new Date("+010000-01-01T00:00:00Z"))).message).toContain(
        "outside Python's datetime range",
      );
    });
  });

  describe("tagged values (kombu ≥5.3)", () => {
    it("decodes datetime to Date, with offset, Z or naive (UTC)", () => {
      const value = decode(
        '[{"__type__": "datetime", "__value__": "2026-11-24T00:24:42.849269+00:00"},' +
          '{"__type__": "datetime", "__value__": "2026-11-24T02:24:42.849269+02:00"},' +
          '{"__type__": "datetime", "__value__": "2026-11-24T00:24:42.849Z"},' +
          '{"__type__": "datetime", "__value__": "2026-11-24T00:24:42.849269"}]',
      ) as Date[];
      for (const date of value) expect(date.toISOString()).toBe("2026-11-24T00:24:42.849Z");
    });

    it("keeps date, time and decimal as strings", () => {
      expect(
        decode(
          '[{"__type__": "date", "__value__": "2026-11-24"}, {"__type__": "time", "__value__": "10:20:30.000001"},' +
            '{"__type__": "decimal", "__value__": "3.14159265358979323846264338327950288"}]',
        ),
      ).toEqual(["2026-11-24", "10:20:30.000001", "3.14159265358979323846264338327950288"]);
    });

    it("decodes uuid from {hex} or a string into the canonical form", () => {
      expect(
        decode(
          '[{"__type__": "uuid", "__value__": {"hex": "22222222222222222222222222222222"}},' +
            '{"__type__": "uuid", "__value__": "{ABCDEF01-2345-6789-ABCD-EF0123456789}"}]',
        ),
      ).toEqual(["22222222-2222-2222-2222-222222222222", "abcdef01-2345-6789-abcd-ef0123456789"]);
    });

    it("decodes bytes (UTF-8 text) and base64 to Uint8Array", () => {
      const [utf8, base64] = decode(
        '[{"__type__": "bytes", "__value__": "h\\u00e9"}, {"__type__": "base64", "__value__": "AAEC+v8="}]',
      ) as Uint8Array[];
      expect([...(utf8 ?? [])]).toEqual([0x68, 0xc3, 0xa9]);
      expect([...(base64 ?? [])]).toEqual([0, 1, 2, 250, 255]);
    });

    it("converts tags nested anywhere, and only objects with exactly the two keys", () => {
      expect(
        decode(
          '{"a": [{"b": {"__type__": "decimal", "__value__": "1.10"}}],' +
            '"extra": {"__type__": "decimal", "__value__": "2", "other": 1}}',
        ),
      ).toEqual({ a: [{ b: "1.10" }], extra: { __type__: "decimal", __value__: "2", other: 1 } });
    });

    it("leaves a type it does not know (a Python app's register_type) as it is", () => {
      expect(decode('[{"__type__": "AnyUrl", "__value__": "https://x"}]')).toEqual([
        { __type__: "AnyUrl", __value__: "https://x" },
      ]);
    });

    it.each([
      ['{"__type__": "datetime", "__value__": "yesterday"}', 'tagged datetime "yesterday" is not ISO 8601'],
      ['{"__type__": "datetime", "__value__": "2026-02-30T00:00:00"}', "is not ISO 8601"],
      ['{"__type__": "datetime", "__value__": 5}', "tagged datetime value must be a string, got number"],
      ['{"__type__": "decimal", "__value__": 1.5}', "tagged decimal value must be a string, got number"],
      ['{"__type__": "uuid", "__value__": {"hex": "xyz"}}', 'tagged uuid "xyz" is not 32 hex digits'],
      [
        '{"__type__": "uuid", "__value__": [1]}',
        'tagged uuid value must be a string or {"hex": string}, got array',
      ],
      ['{"__type__": "bytes", "__value__": null}', "tagged bytes value must be a string, got null"],
      ['{"__type__": "base64", "__value__": "not base64!"}', "tagged base64 value is not valid base64"],
    ])("rejects malformed tagged value %s", (json, message) => {
      const error = codeOf(() => decode(json));
      expect(error.code).toBe("TQ_SERIALIZATION");
      expect(error.message).toContain(message);
    });
  });

  describe("Python's non-finite tokens", () => {
    it("reads NaN, Infinity and -Infinity outside strings", () => {
      expect(decode('[NaN, Infinity, -Infinity, {"a": NaN, "b": [ -Infinity ]}, 1]')).toEqual([
        Number.NaN,
        Number.POSITIVE_INFINITY,
        Number.NEGATIVE_INFINITY,
        { a: Number.NaN, b: [Number.NEGATIVE_INFINITY] },
        1,
      ]);
    });

    it("leaves the same words inside strings alone, escaped quotes included", () => {
      expect(decode('["NaN", "say \\"Infinity\\" NaN", NaN, "-Infinity"]')).toEqual([
        "NaN",
        'say "Infinity" NaN',
        Number.NaN,
        "-Infinity",
      ]);
    });

    it("works together with tagged values", () => {
      expect(decode('[NaN, {"__type__": "decimal", "__value__": "NaN"}]')).toEqual([Number.NaN, "NaN"]);
    });

    it("still rejects invalid JSON around them", () => {
      const error = codeOf(() => decode("[NaN, }"));
      expect(error.code).toBe("TQ_SERIALIZATION");
      expect(error.message).toContain("not valid JSON");
    });
  });

  describe("malformed input", () => {
    it("rejects invalid JSON with TQ_SERIALIZATION", () => {
      const error = codeOf(() => decode('{"a": 1'));
      expect(error.code).toBe("TQ_SERIALIZATION");
      expect(error.message).toMatch(/^\[tq\] \[json\] data is not valid JSON: /);
    });

    it("rejects bytes that are not UTF-8", () => {
      const error = codeOf(() => jsonSerializer.decode(new Uint8Array([0x5b, 0x22, 0xff, 0xfe, 0x22, 0x5d])));
      expect(error.code).toBe("TQ_SERIALIZATION");
      expect(error.message).toContain("not valid UTF-8 (6 bytes)");
    });

    it("rejects an empty body", () => {
      expect(codeOf(() => jsonSerializer.decode(new Uint8Array())).code).toBe("TQ_SERIALIZATION");
    });
  });

  it("handles 1 MiB arrays", () => {
    const numbers = Array.from({ length: 1024 * 1024 }, (_, index) => index);
    const encoded = jsonSerializer.encode([numbers, {}, null]);
    const decoded = jsonSerializer.decode(encoded) as [number[], unknown, unknown];
    expect(decoded[0]).toHaveLength(1024 * 1024);
    expect(decoded[0][1024 * 1024 - 1]).toBe(1024 * 1024 - 1);

    const blob = new Uint8Array(1024 * 1024).map((_, index) => index % 251);
    const back = jsonSerializer.decode(jsonSerializer.encode({ blob })) as { blob: Uint8Array };
    expect(back.blob).toBeInstanceOf(Uint8Array);
    expect(Buffer.compare(back.blob, blob)).toBe(0);
  });
});
