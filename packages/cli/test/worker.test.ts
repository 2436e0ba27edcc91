import { describe, expect, it } from "vitest";
import { startCli } from "./run-cli.js";

describe("tq worker", () => {
  it.each(["app.ts", "app.mjs", "default-export.mjs"])(
    "loads %s, prints the banner, logs through pino and exits 0 on SIGTERM",
    async (module) => {
      const worker = startCli(["worker", "-A", module, "-l", "INFO"]);
      await worker.waitForOutput(/"msg":"worker ready"/);
      expect(worker.stderr()).toMatch(/ -------------- celery@\S+ v\d+\.\d+\.\d+ \(tq\)/);
      expect(worker.stderr()).toContain(".> transport:   memory://");
      expect(worker.stderr()).toContain(".> results:     memory://");
      expect(worker.stderr()).toContain(".> celery");
      expect(worker.stderr()).toMatch(/\[tasks\]\n {2}\. tasks\.add\n/);
      expect(worker.stderr()).toContain("note: the broker is memory://");
      worker.child.kill("SIGTERM");
      expect(await worker.exited).toEqual({ code: 0, signal: null });
      expect(worker.stdout()).toContain('"msg":"worker stopped"');
    },
  );

  it("takes queues, concurrency, node name and URLs from its flags", async () => {
    const worker = startCli([
      "worker",
      "-A",
      "app.ts",
      "-Q",
      "images,emails",
      "-c",
      "3",
      "-n",
      "w1@example",
      "--result-backend",
      "none",
    ]);
    await worker.waitForOutput(/"msg":"worker ready"/);
    const banner = worker.stderr();
    expect(banner).toContain(" -------------- w1@example v");
    expect(banner).toContain(".> app:         fixture-ts");
    expect(banner).toContain(".> results:     disabled");
    expect(banner).toContain(".> concurrency: 3 (async)");
    expect(banner).toContain(".> images\n                .> emails");
    expect(banner).toMatch(/\. tasks\.add\n {2}\. tasks\.multiply/);
    worker.child.kill("SIGINT");
    expect((await worker.exited).code).toBe(0);
  });

  it("runs a TypeScript app's tasks with the app's own @tq/core, so currentTask() works", async () => {
    const worker = startCli(["worker", "-A", "current-task.ts"]);
    await worker.waitForOutput(/current-task check/);
    expect(worker.stderr()).toContain("current-task check: same core");
    worker.child.kill("SIGTERM");
    expect((await worker.exited).code).toBe(0);
  });

  it("writes nothing below the level given with -l", async () => {
    const worker = startCli(["worker", "-A", "app.mjs", "-l", "error"]);
    await worker.waitForOutput(/\[tasks\]/);
    // The banner is printed before the worker starts; give it time to log "ready", which it must not.
    await new Promise((resolve) => setTimeout(resolve, 500));
    worker.child.kill("SIGTERM");
    expect((await worker.exited).code).toBe(0);
    expect(worker.stdout()).toBe("");
  });
});
