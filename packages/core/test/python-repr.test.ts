import { describe, expect, it } from "vitest";
import { argsRepr, kwargsRepr, pyRepr } from "../src/python-repr.js";

describe("argsRepr / kwargsRepr", () => {
  it("prints args as a Python tuple, as in the captured headers", () => {
    expect(argsRepr([4])).toBe("(4,)");
    expect(argsRepr([2, 3])).toBe("(2, 3)");
    expect(argsRepr([7, 7])).toBe("(7, 7)");
    expect(argsRepr([])).toBe("()");
  });

  it("prints kwargs as a Python dict", () => {
    expect(kwargsRepr({ y: 5 })).toBe("{'y': 5}");
    expect(kwargsRepr({})).toBe("{}");
    expect(kwargsRepr({ a: "x", b: [1, null], c: { d: true } })).toBe(
      "{'a': 'x', 'b': [1, None], 'c': {'d': True}}",
    );
  });
});

describe("pyRepr", () => {
  it("prints None, True, False", () => {
    expect(pyRepr(null)).toBe("None");
    expect(pyRepr(undefined)).toBe("None");
    expect(pyRepr(true)).toBe("True");
    expect(pyRepr(false)).toBe("False");
  });

  it.each([
    ["abc", "'abc'"],
    ["it's", `"it's"`],
    [`both ' and "`, `'both \\' and "'`],
    ["a\nb\tc\r", "'a\\nb\\tc\\r'"],
    ["\x00\x7f\x80", "'\\x00\\x7f\\x80'"],
    ["\u200b", "'\\u200b'"],
    ["😀", "'😀'"],
    ["\u{e0001}", "'\\U000e0001'"],
    ["\xa0é\\", "'\\xa0é\\\\'"],
    ["\u2028", "'\\u2028'"],
    ["\ud800", "'\\ud800'"],
    ["", "''"],
  ])("prints the string %j as Python does", (value, expected) => {
    expect(pyRepr(value)).toBe(expected);
  });

  it.each([
    [0, "0"],
    [-7, "-7"],
    [1.5, "1.5"],
    [123.456, "123.456"],
    [0.0001, "0.0001"],
    [1e-5, "1e-05"],
    [1.5e-7, "1.5e-07"],
    [-2.5e-10, "-2.5e-10"],
    [1e21, "1000000000000000000000"],
    [Number.NaN, "nan"],
    [Number.POSITIVE_INFINITY, "inf"],
    [Number.NEGATIVE_INFINITY, "-inf"],
  ])("prints the number %d as Python does", (value, expected) => {
    expect(pyRepr(value)).toBe(expected);
  });

  it("prints bigints as Python ints", () => {
    expect(pyRepr(10n ** 30n)).toBe("1000000000000000000000000000000");
  });

  it("prints byte arrays as Python bytes", () => {
    expect(pyRepr(new Uint8Array([0x61, 0x62, 0x63, 0x00, 0xff, 0x27, 0x71]))).toBe(`b"abc\\x00\\xff'q"`);
    expect(pyRepr(new TextEncoder().encode(`a"b'`))).toBe(`b'a"b\\''`);
    expect(pyRepr(new TextEncoder().encode("\\\n"))).toBe("b'\\\\\\n'");
  });

  it("prints dates as aware Python datetimes", () => {
    expect(pyRepr(new Date("2026-11-24T00:24:42.849Z"))).toBe(
      "datetime.datetime(2026, 11, 24, 0, 24, 42, 849000, tzinfo=datetime.timezone.utc)",
    );
    expect(pyRepr(new Date("2026-01-01T00:00:00Z"))).toBe(
      "datetime.datetime(2026, 1, 1, 0, 0, tzinfo=datetime.timezone.utc)",
    );
    expect(pyRepr(new Date("2026-01-01T00:00:00.001Z"))).toBe(
      "datetime.datetime(2026, 1, 1, 0, 0, 0, 1000, tzinfo=datetime.timezone.utc)",
    );
  });

  it("prints errors like Python exceptions", () => {
    const error = new Error("bad");
    error.name = "ValueError";
    expect(pyRepr(error)).toBe("ValueError('bad')");
    expect(pyRepr(new TypeError(""))).toBe("TypeError()");
  });

  it("prints lists, nested dicts, sets, maps and typed arrays", () => {
    expect(pyRepr([1, 2])).toBe("[1, 2]");
    expect(pyRepr([])).toBe("[]");
    expect(pyRepr({ a: { b: [1] } })).toBe("{'a': {'b': [1]}}");
    expect(pyRepr(new Set([1, "x"]))).toBe("{1, 'x'}");
    expect(pyRepr(new Set())).toBe("set()");
    expect(
      pyRepr(
        new Map<unknown, unknown>([
          [1, "one"],
          ["k", null],
        ]),
      ),
    ).toBe("{1: 'one', 'k': None}");
    expect(pyRepr(new Float64Array([0.5, 2]))).toBe("[0.5, 2]");
  });

  it("prints functions and symbols without throwing", () => {
    expect(pyRepr(function add() {})).toBe("<function add>");
    expect(pyRepr(Symbol("s"))).toBe("<Symbol(s)>");
  });

  it("elides containers nested deeper than saferepr's 3 levels", () => {
    expect(argsRepr([[[[1]]]])).toBe("([[[...]]],)");
    expect(pyRepr([[[[1]]]])).toBe("[[[[...]]]]");
    expect(pyRepr({ a: { b: { c: { d: 1 } } } }, { maxLevels: 10 })).toBe("{'a': {'b': {'c': {'d': 1}}}}");
  });

  it("prints circular references as an ellipsis instead of recursing", () => {
    const list: unknown[] = [1];
    list.push(list);
    expect(pyRepr(list)).toBe("[1, [...]]");
    const dict: Record<string, unknown> = { a: 1 };
    dict.self = dict;
    expect(pyRepr(dict)).toBe("{'a': 1, 'self': {...}}");
  });

  it("prints a value shared twice (not circular) in full both times", () => {
    const shared = [1];
    expect(pyRepr([shared, shared])).toBe("[[1], [1]]");
  });

  describe("truncation", () => {
    it("stops long sequences near maxLength and closes the brackets", () => {
      const repr = argsRepr([Array.from({ length: 2000 }, (_, index) => index)]);
      expect(repr.length).toBeLessThan(1024 + 20);
      expect(repr.length).toBeGreaterThan(1000);
      expect(repr.startsWith("([0, 1, 2, ")).toBe(true);
      expect(repr.endsWith(", ...],)")).toBe(true);
    });

    it("cuts long strings with ...", () => {
      const repr = pyRepr("x".repeat(5000));
      expect(repr).toBe(`'${"x".repeat(1024)}...'`);
      expect(pyRepr("abcdef", { maxLength: 3 })).toBe("'abc...'");
    });

    it("honours a custom maxLength", () => {
      expect(pyRepr([1, 2, 3, 4, 5, 6], { maxLength: 5 })).toBe("[1, 2, ...]");
      expect(kwargsRepr({ a: 1, b: 2, c: 3 }, { maxLength: 8 })).toBe("{'a': 1, 'b': 2, ...}");
      expect(pyRepr([1], { maxLength: 0 })).toBe("...");
    });

    it("stays fast on huge values", () => {
      const huge = Array.from({ length: 1024 * 1024 }, (_, index) => index);
      const started = performance.now();
      expect(argsRepr([huge, "y".repeat(1024 * 1024)]).length).toBeLessThan(1100);
      expect(performance.now() - started).toBeLessThan(2000);
    });
  });
});
