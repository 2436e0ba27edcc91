/**
 * What the rpc:// backend declares and sends, read back raw with amqplib and rabbitmqctl and compared
 * with what Celery 5.2.6 does (captured with py-amqp), and what it refuses or skips as Celery does.
 */
import { describe, expect, it } from "vitest";
import { eventually, getMessage, listQueue, recordingLogger, settle } from "./support/rpc-amqp.js";
import { codeOf, meta, useRpcFixture } from "./support/rpc-fixtures.js";

const fx = useRpcFixture("wire");

describe("the wire format, compared with Celery 5.2.6", () => {
  it("declares the reply queue as Celery does: not durable, auto-delete, x-expires = result_expires", async () => {
    const client = fx.backend();
    await client.connect();
    expect(await listQueue(client.replyTo)).toEqual({
      durable: false,
      autoDelete: true,
      exclusive: false,
      arguments: { "x-expires": 86_400_000 },
      consumers: 1,
    });
    const short = fx.backend({ resultExpiresMs: 60_000 });
    const forever = fx.backend({ resultExpiresMs: null });
    await Promise.all([short.connect(), forever.connect()]);
    expect((await listQueue(short.replyTo))?.arguments).toEqual({ "x-expires": 60_000 });
    expect((await listQueue(forever.replyTo))?.arguments).toEqual({});
  });

  it("publishes Celery's body, properties and routing", async () => {
    const worker = fx.backend();
    const queue = await fx.rawQueue("raw-wire");
    const taskId = fx.id("wire");
    const info = { exc_type: "ValueError", exc_message: ["bad input"], exc_module: "builtins" };
    // Extended fields and date_done are not part of Celery's rpc message.
    await worker.store(
      meta(taskId, "FAILURE", info, {
        traceback: "TB",
        date_done: "2026-01-01T00:00:00.000000+00:00",
        name: "tasks.add",
        args: [1],
        worker: "w@h",
      }),
      { replyTo: queue },
    );
    const message = await getMessage(fx.raw(), queue);
    expect(message).not.toBeNull();
    expect(message?.fields).toMatchObject({ exchange: "", routingKey: queue, redelivered: false });
    // Celery: {"content_type": "application/json", "content_encoding": "utf-8", "application_headers": {},
    //          "delivery_mode": 1, "priority": 0, "correlation_id": "<task id>"}
    expect(message?.properties).toMatchObject({
      contentType: "application/json",
      contentEncoding: "utf-8",
      headers: {},
      deliveryMode: 1,
      priority: 0,
      correlationId: taskId,
    });
    const body = JSON.parse(message?.content.toString("utf8") ?? "null") as Record<string, unknown>;
    // Celery: {"task_id": …, "status": "FAILURE", "result": {…}, "traceback": "TB", "children": []}
    expect(Object.keys(body)).toEqual(["task_id", "status", "result", "traceback", "children"]);
    expect(body).toEqual({ task_id: taskId, status: "FAILURE", result: info, traceback: "TB", children: [] });

    const persistent = fx.backend({ persistent: true });
    await persistent.store(meta(fx.id("persistent"), "SUCCESS", 1), { replyTo: queue });
    expect((await getMessage(fx.raw(), queue))?.properties.deliveryMode).toBe(2);
  });

  it("reads what Celery sends: correlation id without task_id, Python's NaN, missing fields", async () => {
    const client = fx.backend();
    await client.connect();
    const channel = await fx.raw().createChannel();
    const [noId, nan] = [fx.id("py-noid"), fx.id("py-nan")];
    const send = (body: string, correlationId: string, contentType = "application/json"): void => {
      channel.sendToQueue(client.replyTo, Buffer.from(body), {
        correlationId,
        contentType,
        contentEncoding: "utf-8",
      });
    };
    send('{"status": "SUCCESS", "result": 5}', noId);
    send(`{"task_id": "${nan}", "status": "SUCCESS", "result": NaN, "traceback": null, "children": []}`, nan);
    send("not json", "junk");
    send("\x80\x03K\x05.", "pickle", "application/x-python-serialize");
    await channel.close();
    expect(await client.waitFor(noId, { timeoutMs: 5_000 })).toEqual({
      task_id: noId,
      status: "SUCCESS",
      result: 5,
      traceback: null,
      children: [],
      date_done: null,
    });
    expect((await client.waitFor(nan, { timeoutMs: 5_000 })).result).toBeNaN();
    expect(await client.get("junk")).toBeNull();
    expect(await client.get("pickle")).toBeNull();
  });
});

describe("what Celery does not support", () => {
  it("refuses groups and chords with TQ_CONFIG, as Celery's rpc backend does", async () => {
    const rpc = fx.backend();
    const part = { index: 0, taskId: "t", status: "SUCCESS", result: 1 };
    const calls: Array<() => Promise<unknown>> = [
      () => rpc.saveGroup("g", ["a"]),
      () => rpc.getGroup("g"),
      () => rpc.forgetGroup("g"),
      () => rpc.setChordSize("g", 2),
      () => rpc.addChordPart("g", part),
      () => rpc.clearChord("g"),
    ];
    for (const call of calls) {
      const outcome = await settle(call());
      expect(codeOf(outcome.error)).toBe("TQ_CONFIG");
      expect((outcome.error as Error).message).toMatch(/rpc" result backend does not support/);
    }
  });

  it("sends nothing for a message without reply_to, and logs it at debug level", async () => {
    const logger = recordingLogger();
    const worker = fx.backend({ logger });
    await worker.store(meta(fx.id("noreply"), "SUCCESS", 1));
    await worker.store(meta(fx.id("noreply"), "SUCCESS", 1), { replyTo: "" });
    expect(
      logger.lines.filter((line) => line.level === "debug" && /no reply_to/.test(line.message)),
    ).toHaveLength(2);
  });

  it("resolves a store whose reply queue is gone (the caller left), logging the dropped result", async () => {
    const logger = recordingLogger();
    const worker = fx.backend({ logger });
    const taskId = fx.id("gone");
    await worker.store(meta(taskId, "SUCCESS", 1), { replyTo: `${fx.run}-nobody-home` });
    const line = await eventually(
      async () => logger.lines.find((entry) => /result was dropped/.test(entry.message)),
      5_000,
      "the returned message being logged",
    );
    expect(line.attributes).toMatchObject({ "tq.task_id": taskId, "tq.queue": `${fx.run}-nobody-home` });
  });
});
