import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { RateLimiter } from "../src/rate-limiter.js";

interface Item {
  key: string;
  n: number;
  expired?: boolean;
}

beforeEach(() => {
  vi.useFakeTimers({ now: 0 });
});
afterEach(() => {
  vi.useRealTimers();
});

function limiter(rates: Record<string, number>) {
  const released: { n: number; key: string; at: number }[] = [];
  const lookups: string[] = [];
  const rateLimiter = new RateLimiter<Item>({
    release: (item) => released.push({ n: item.n, key: item.key, at: Date.now() }),
    rateFor: (key) => {
      lookups.push(key);
      return rates[key] ?? 0;
    },
    bypass: (item) => item.expired === true,
    now: () => Date.now(),
  });
  const admit = (key: string, n: number, expired = false): void =>
    rateLimiter.admit(key, { key, n, expired });
  return { rateLimiter, released, lookups, admit };
}

describe("RateLimiter", () => {
  it("spreads one key's items one per 1/rate, in order, on timers", () => {
    const { rateLimiter, released, admit } = limiter({ a: 20 });
    for (let n = 0; n < 5; n++) admit("a", n);
    expect(released.map((r) => r.n)).toEqual([0]);
    expect(rateLimiter.waiting).toBe(4);
    vi.advanceTimersByTime(200);
    expect(released.map((r) => [r.n, r.at])).toEqual([
      [0, 0],
      [1, 50],
      [2, 100],
      [3, 150],
      [4, 200],
    ]);
    expect(rateLimiter.waiting).toBe(0);
    expect(vi.getTimerCount()).toBe(0);
  });

  it("passes unlimited keys at once and does not hold one key behind another", () => {
    const { released, admit, lookups } = limiter({ slow: 1 / 60 });
    admit("slow", 0);
    admit("slow", 1);
    admit("free", 2);
    admit("free", 3);
    expect(released.map((r) => r.n)).toEqual([0, 2, 3]);
    expect(lookups).toEqual(["slow", "free"]);
  });

  it("keeps one timer per waiting key, not one per item", () => {
    const { admit } = limiter({ a: 1, b: 1 });
    for (let n = 0; n < 50; n++) {
      admit("a", n);
      admit("b", n);
    }
    expect(vi.getTimerCount()).toBe(2);
  });

  it("setRate speeds up and slows down items already waiting", () => {
    const { rateLimiter, released, admit } = limiter({ a: 1 / 60 });
    for (let n = 0; n < 6; n++) admit("a", n);
    expect(released).toHaveLength(1);
    rateLimiter.setRate("a", 10);
    // The bucket kept its (almost empty) contents: the next token is 100 ms away at the new rate.
    vi.advanceTimersByTime(100);
    expect(released.map((r) => r.at)).toEqual([0, 100]);
    rateLimiter.setRate("a", 1);
    vi.advanceTimersByTime(999);
    expect(released).toHaveLength(2);
    vi.advanceTimersByTime(1);
    expect(released).toHaveLength(3);
    expect(rateLimiter.rateOf("a")).toBe(1);
  });

  it("setRate(0) lets every waiting item through at once, and later ones too", () => {
    const { rateLimiter, released, admit } = limiter({ a: 1 / 3600 });
    for (let n = 0; n < 4; n++) admit("a", n);
    rateLimiter.setRate("a", 0);
    expect(released.map((r) => r.n)).toEqual([0, 1, 2, 3]);
    expect(vi.getTimerCount()).toBe(0);
    admit("a", 4);
    expect(released).toHaveLength(5);
  });

  it("setRate on a key not seen yet applies to its first items", () => {
    const { rateLimiter, released, admit, lookups } = limiter({});
    rateLimiter.setRate("a", 2);
    admit("a", 0);
    admit("a", 1);
    expect(released).toHaveLength(1);
    vi.advanceTimersByTime(500);
    expect(released).toHaveLength(2);
    expect(lookups).toEqual(["a"]);
  });

  it("lets a bypassed item at the head through without using a token", () => {
    const { released, admit } = limiter({ a: 1 });
    admit("a", 0);
    admit("a", 1, true);
    admit("a", 2);
    admit("a", 3, true);
    admit("a", 4);
    // 1 is at the head (0 took the token) and passes at once; 3 waits behind 2.
    expect(released.map((r) => r.n)).toEqual([0, 1]);
    vi.advanceTimersByTime(1_000);
    // 2 takes the next token and 3 passes right behind it; 4 waits for the token after.
    expect(released.map((r) => [r.n, r.at])).toEqual([
      [0, 0],
      [1, 0],
      [2, 1_000],
      [3, 1_000],
    ]);
    vi.advanceTimersByTime(1_000);
    expect(released.map((r) => r.n)).toEqual([0, 1, 2, 3, 4]);
  });

  it("takePending hands back waiting items, cancels its timers and lets later items through", () => {
    const { rateLimiter, released, admit } = limiter({ a: 1, b: 1 });
    for (let n = 0; n < 3; n++) admit("a", n);
    admit("b", 10);
    admit("b", 11);
    expect(rateLimiter.takePending().map((item) => item.n)).toEqual([1, 2, 11]);
    expect(rateLimiter.waiting).toBe(0);
    expect(vi.getTimerCount()).toBe(0);
    vi.advanceTimersByTime(10_000);
    expect(released.map((r) => r.n)).toEqual([0, 10]);
    admit("a", 3);
    expect(released.map((r) => r.n)).toEqual([0, 10, 3]);
  });

  it("takeMatching removes waiting items, keeping the others in line", () => {
    const { rateLimiter, released, admit } = limiter({ a: 1, b: 1 });
    for (let n = 0; n < 4; n++) admit("a", n);
    admit("b", 10);
    admit("b", 11);
    const taken = rateLimiter.takeMatching((item) => item.n % 2 === 1);
    expect(taken.map((item) => item.n).sort((x, y) => x - y)).toEqual([1, 3, 11]);
    expect(rateLimiter.waiting).toBe(1);
    vi.advanceTimersByTime(1_000);
    expect(released.map((r) => r.n)).toEqual([0, 10, 2]);
    expect(rateLimiter.waiting).toBe(0);
  });

  it("keeps one timer when a release admits another item at once (an ack that frees a prefetch slot)", () => {
    const released: number[] = [];
    let next = 1;
    const rateLimiter: RateLimiter<number> = new RateLimiter<number>({
      release: (n) => {
        released.push(n);
        if (next < 5) rateLimiter.admit("a", next++);
      },
      rateFor: () => 10,
      now: () => Date.now(),
    });
    rateLimiter.admit("a", 0);
    expect(released).toEqual([0]);
    expect(vi.getTimerCount()).toBe(1);
    vi.advanceTimersByTime(100);
    expect(released).toEqual([0, 1]);
    expect(vi.getTimerCount()).toBe(1);
    vi.advanceTimersByTime(300);
    expect(released).toEqual([0, 1, 2, 3, 4]);
    expect(vi.getTimerCount()).toBe(0);
  });

  it("waits longer than setTimeout's 24.8-day limit correctly", () => {
    const { released, admit } = limiter({ a: 1 / (30 * 86_400) });
    admit("a", 0);
    admit("a", 1);
    vi.advanceTimersByTime(25 * 86_400_000);
    expect(released).toHaveLength(1);
    vi.advanceTimersByTime(5 * 86_400_000);
    expect(released).toHaveLength(2);
  });
});
