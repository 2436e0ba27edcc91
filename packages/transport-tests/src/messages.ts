import type { Delivery, TransportMessage } from "@tq/core";

const encoder = new TextEncoder();

/** Text in several scripts and with astral characters, which byte-level bugs tend to mangle. */
export const UNICODE_TEXT = "emoji 🎉👩‍👩‍👧 · CJK 漢字かなカナ한국어 · RTL שלום مرحبا · combining é";

/** A Celery-shaped task message whose `id` header identifies it. */
export function taskMessage(id: string, properties: TransportMessage["properties"] = {}): TransportMessage {
  return {
    headers: {
      lang: "py",
      task: "conformance.echo",
      id,
      root_id: id,
      parent_id: null,
      group: null,
      retries: 0,
      timelimit: [null, null],
      argsrepr: "()",
      kwargsrepr: "{}",
      origin: "gen1@conformance",
    },
    properties: { correlation_id: id, delivery_mode: 2, ...properties },
    contentType: "application/json",
    contentEncoding: "utf-8",
    body: encoder.encode(
      JSON.stringify([[id], {}, { callbacks: null, errbacks: null, chain: null, chord: null }]),
    ),
  };
}

/** A message exercising every header shape a broker must carry: unknown keys, nulls, arrays, nesting. */
export function richMessage(id: string): TransportMessage {
  const base = taskMessage(id, { reply_to: "reply-queue", priority: 0 });
  return {
    ...base,
    headers: {
      ...base.headers,
      eta: "2030-01-02T03:04:05.678901+00:00",
      expires: null,
      ignore_result: false,
      x_unknown_header: "kept as is",
      x_number: 42.5,
      x_list: [1, "two", null, [3, { four: 4 }]],
      x_nested: { level1: { level2: { flag: true, empty: {}, none: null } } },
      x_unicode: UNICODE_TEXT,
    },
    contentType: "application/x-conformance",
    contentEncoding: "binary",
    body: Uint8Array.from([0, 1, 2, 127, 128, 254, 255, 0, 10, 13]),
  };
}

/**
 * `size` bytes that look random (every byte value, no repeating pattern a broker could compress
 * away) but are the same on every run.
 */
export function pseudoRandomBytes(size: number, seed = 0x9e3779b9): Uint8Array {
  const bytes = new Uint8Array(size);
  let state = seed >>> 0;
  for (let i = 0; i < size; i++) {
    // xorshift32
    state ^= state << 13;
    state ^= state >>> 17;
    state ^= state << 5;
    bytes[i] = state & 0xff;
  }
  return bytes;
}

/** The `id` header of a delivery. */
export function idOf(delivery: Delivery): string {
  return String(delivery.message.headers.id);
}

/** Byte-exact comparison that reports the first difference instead of dumping megabytes. */
export function firstDifference(actual: Uint8Array, expected: Uint8Array): string | null {
  if (actual.length !== expected.length) return `length ${actual.length} ≠ ${expected.length}`;
  for (let i = 0; i < actual.length; i++) {
    if (actual[i] !== expected[i]) return `byte ${i}: ${actual[i]} ≠ ${expected[i]}`;
  }
  return null;
}
