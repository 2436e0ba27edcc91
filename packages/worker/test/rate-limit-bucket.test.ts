import { describe, expect, it } from "vitest";
import { TokenBucket } from "../src/rate-limit-bucket.js";

function clock() {
  let now = 1_000;
  const advance = (ms: number): void => {
    now += ms;
  };
  return { now: () => now, advance };
}

describe("TokenBucket (kombu's, capacity 1)", () => {
  it("starts full, gives one token, then one per 1/rate seconds", () => {
    const time = clock();
    const bucket = new TokenBucket(20, 1, time.now);
    expect(bucket.canConsume()).toBe(true);
    expect(bucket.canConsume()).toBe(false);
    expect(bucket.expectedTimeMs()).toBeCloseTo(50, 9);
    time.advance(49);
    expect(bucket.canConsume()).toBe(false);
    expect(bucket.expectedTimeMs()).toBeCloseTo(1, 9);
    time.advance(1);
    expect(bucket.canConsume()).toBe(true);
    expect(bucket.canConsume()).toBe(false);
  });

  it("never holds more than its capacity, even after a long idle spell (no burst)", () => {
    const time = clock();
    const bucket = new TokenBucket(10, 1, time.now);
    time.advance(60_000);
    expect(bucket.canConsume()).toBe(true);
    // kombu's bucket would let a second run through here; a capacity of 1 means one.
    expect(bucket.canConsume()).toBe(false);
    expect(bucket.expectedTimeMs()).toBeCloseTo(100, 9);
  });

  it("a larger capacity allows that many at once", () => {
    const time = clock();
    const bucket = new TokenBucket(1, 3, time.now);
    expect([bucket.canConsume(), bucket.canConsume(), bucket.canConsume(), bucket.canConsume()]).toEqual([
      true,
      true,
      true,
      false,
    ]);
    expect(bucket.canConsume(2)).toBe(false);
    time.advance(2_000);
    expect(bucket.canConsume(2)).toBe(true);
  });

  it("expectedTimeMs is 0 while a token is there", () => {
    const bucket = new TokenBucket(1, 1, clock().now);
    expect(bucket.expectedTimeMs()).toBe(0);
  });

  it("setFillRate keeps what was gathered at the old rate and refills at the new one", () => {
    const time = clock();
    const bucket = new TokenBucket(1, 1, time.now);
    expect(bucket.canConsume()).toBe(true);
    time.advance(500); // half a token at 1/s
    bucket.setFillRate(10);
    expect(bucket.fillRate).toBe(10);
    expect(bucket.expectedTimeMs()).toBeCloseTo(50, 9); // the other half at 10/s
    time.advance(50);
    expect(bucket.canConsume()).toBe(true);
  });

  it("a timer armed for exactly expectedTimeMs finds the token despite rounding", () => {
    const time = clock();
    const bucket = new TokenBucket(3, 1, time.now);
    bucket.canConsume();
    for (let n = 0; n < 100; n++) {
      time.advance(bucket.expectedTimeMs());
      expect(bucket.canConsume()).toBe(true);
    }
  });
});
