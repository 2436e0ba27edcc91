import { Writable } from "node:stream";
import { pino } from "pino";
import { describe, expect, it } from "vitest";
import { createPinoLogger, fromPino } from "../src/index.js";

function collector() {
  const chunks: string[] = [];
  const stream = new Writable({
    write(chunk: Buffer, _encoding, done) {
      chunks.push(chunk.toString());
      done();
    },
  });
  return { stream, lines: () => chunks.join("").split("\n").filter(Boolean) };
}

describe("pino logging", () => {
  it("writes JSON lines with the message and the tq attributes", () => {
    const { stream, lines } = collector();
    const logger = createPinoLogger({ destination: stream, pretty: false, name: "w" });
    logger.info("task succeeded in 3ms", { "tq.task_id": "t1", "tq.runtime_ms": 3 });
    logger.debug("not written at the default level");
    const [line] = lines().map((text) => JSON.parse(text) as Record<string, unknown>);
    expect(lines()).toHaveLength(1);
    expect(line).toMatchObject({
      level: 30,
      name: "w",
      msg: "task succeeded in 3ms",
      "tq.task_id": "t1",
      "tq.runtime_ms": 3,
    });
  });

  it("writes an error's type, message and stack", () => {
    const { stream, lines } = collector();
    const logger = createPinoLogger({ destination: stream, pretty: false, level: "debug" });
    logger.error("task failed", { error: new RangeError("too far") });
    const line = JSON.parse(lines()[0]!) as { err: { type: string; message: string; stack: string } };
    expect(line.err).toMatchObject({ type: "RangeError", message: "too far" });
    expect(line.err.stack).toContain("RangeError: too far");
  });

  it("writes readable lines when pretty", () => {
    const { stream, lines } = collector();
    const logger = createPinoLogger({ destination: stream, pretty: true });
    logger.warn("hello there", { "tq.queue": "celery" });
    const text = lines().join("\n");
    expect(text).toContain("WARN");
    expect(text).toContain("hello there");
    expect(text).toContain("celery");
    expect(() => JSON.parse(lines()[0]!)).toThrow();
  });

  it("adapts a pino logger the user made", () => {
    const { stream, lines } = collector();
    const logger = fromPino(pino({ level: "debug" }, stream));
    logger.debug("detail", { "tq.queue": "q" });
    expect(JSON.parse(lines()[0]!)).toMatchObject({ level: 20, msg: "detail", "tq.queue": "q" });
  });
});
