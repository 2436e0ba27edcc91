import { describe, expect, it } from "vitest";
import { runDemo } from "../src/demo.js";

describe("quickstart demo", () => {
  it("sends without waiting for the tasks, then prints both results after about 2 s", async () => {
    const printed: string[] = [];
    const started = Date.now();
    await runDemo({ print: (line) => printed.push(line) });
    const elapsedMs = Date.now() - started;

    expect(printed).toHaveLength(4);
    expect(printed[2]).toBe("tasks.add(2, 8) = 10");
    expect(printed[3]).toBe("tasks.multiply(3, 7) = 21");
    // Sending returns once the broker took the message: far less than the task's 2 s of work.
    for (const line of printed.slice(0, 2)) {
      const sendMs = Number(/ in ([\d.]+) ms$/.exec(line)?.[1]);
      expect(sendMs).toBeLessThan(1000);
    }
    // Both tasks ran at once (concurrency 2): about 2 s in all, not 4.
    expect(elapsedMs).toBeGreaterThanOrEqual(1900);
    expect(elapsedMs).toBeLessThan(3900);
  });
});
