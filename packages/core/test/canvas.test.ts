import { describe, expect, it } from "vitest";
import {
  CANVAS_BUILTINS,
  Chain,
  Chord,
  Chunks,
  canvasBuiltin,
  chain,
  chord,
  createApp,
  decodeTaskMessage,
  Group,
  GroupResult,
  group,
  jsonSerializer,
  MemoryBackend,
  MemoryBroker,
  MemoryServer,
  Signature,
  type SignatureJson,
  signature,
  signatureFromJson,
  type TaskMessage,
  TqError,
  type TransportMessage,
  XMap,
  XStarMap,
} from "../src/index.js";

/** An app whose published messages are kept (decoded) instead of being read by a worker. */
function capturingApp(options: { taskRoutes?: Record<string, { queue: string }> } = {}) {
  const server = new MemoryServer();
  const broker = new MemoryBroker({ server });
  const sent: { message: TaskMessage; routingKey: string }[] = [];
  const publish = broker.publish.bind(broker);
  broker.publish = (message: TransportMessage, target, publishOptions) => {
    const decoded = decodeTaskMessage(message, [jsonSerializer]);
    if (!decoded.ok) throw decoded.error;
    sent.push({ message: decoded.value, routingKey: target.routingKey });
    return publish(message, target, publishOptions);
  };
  const backend = new MemoryBackend({ server });
  const sizes: [string, number][] = [];
  const setChordSize = backend.setChordSize.bind(backend);
  backend.setChordSize = async (groupId, size) => {
    sizes.push([groupId, size]);
    return setChordSize(groupId, size);
  };
  const app = createApp({ broker, resultBackend: backend, env: false, ...options });
  const add = app.task("t.add", (x: number, y: number) => x + y);
  const tsum = app.task("t.tsum", (values: number[]) => values.reduce((sum, value) => sum + value, 0));
  return { app, backend, sent, sizes, add, tsum };
}

const EMPTY = { callbacks: null, errbacks: null, chain: null, chord: null };

describe("signatures", () => {
  it("s() binds the last arguments and serializes to Celery's dict; si() is immutable", () => {
    const { add } = capturingApp();
    expect(add.s(4).toJSON()).toEqual({
      task: "t.add",
      args: [4],
      kwargs: {},
      options: {},
      subtask_type: null,
      immutable: false,
    });
    expect(add.si(1, 2).toJSON()).toMatchObject({ args: [1, 2], immutable: true });
    expect(add.signature([1], { y: 2 }, { countdown: 5 }).toJSON()).toMatchObject({
      args: [1],
      kwargs: { y: 2 },
      options: { countdown: 5 },
    });
  });

  it("set() stores options under Celery's names (dates as ISO with +00:00) and rejects unknown ones", () => {
    const { add } = capturingApp();
    const eta = new Date("2030-01-02T03:04:05.000Z");
    const sig = add
      .s(1, 2)
      .set({ queue: "q", countdown: 3, eta, routingKey: "rk", softTimeLimit: 4, immutable: true });
    expect(sig.options).toEqual({
      queue: "q",
      countdown: 3,
      eta: "2030-01-02T03:04:05.000000+00:00",
      routing_key: "rk",
      soft_time_limit: 4,
    });
    expect(sig.immutable).toBe(true);
    expect(() => sig.set({ countdwn: 1 } as never)).toThrow(/unknown signature option "countdwn"/);
  });

  it("clone() prepends partial arguments (not to an immutable one), merges kwargs, keeps a group_id", () => {
    const { add } = capturingApp();
    const sig = add.s(4).set({ groupId: "g1" });
    const copy = sig.cloneWith([1], { z: 1 }, { group_id: "g2", countdown: 2 });
    expect(copy.args).toEqual([1, 4]);
    expect(copy.kwargs).toEqual({ z: 1 });
    expect(copy.options).toEqual({ group_id: "g1", countdown: 2 });
    expect(sig.args).toEqual([4]);
    expect(add.si(1, 1).clone([9]).args).toEqual([1, 1]);
  });

  it("link() and linkError() add callbacks once; onError() returns the signature", () => {
    const { add, tsum } = capturingApp();
    const sig = add.s(1, 1);
    expect(sig.link(tsum.s())).toBeInstanceOf(Signature);
    sig.link(tsum.s());
    expect(sig.onError(tsum.si([1]))).toBe(sig);
    expect(sig.options.link).toEqual([tsum.s().toJSON()]);
    expect(sig.options.link_error).toEqual([tsum.si([1]).toJSON()]);
  });

  it("reads Celery's dicts back, nested canvas included, and refuses unknown kinds", () => {
    const { app, add, tsum } = capturingApp();
    const workflow = chain(add.s(1, 1), group(add.s(1), add.s(2)), tsum.s(), chord([add.s(3)], tsum.s()));
    const revived = signatureFromJson(JSON.parse(JSON.stringify(workflow)), app);
    expect(revived).toBeInstanceOf(Chain);
    expect(revived.toJSON()).toEqual(workflow.toJSON());
    const members = (revived as Chain).tasks;
    expect(members[1]).toBeInstanceOf(Group);
    expect(members[3]).toBeInstanceOf(Chord);
    for (const made of [add.map([1]), add.starmap([[1, 2]]), add.chunks([[1, 2]], 1)]) {
      const back = signatureFromJson(made.toJSON(), app);
      expect(back.constructor).toBe(made.constructor);
      expect(back.toJSON()).toEqual(made.toJSON());
    }
    expect(() => signatureFromJson({ task: "x", subtask_type: "weird" })).toThrow(
      /unknown subtask_type "weird"/,
    );
    expect(() => signatureFromJson({ task: "celery.chain", subtask_type: "chain", kwargs: {} })).toThrow(
      TqError,
    );
  });

  it("reads the chord dict Celery 5.2 puts in a chain (captured)", () => {
    const captured = {
      task: "celery.chord",
      args: [],
      kwargs: {
        kwargs: {},
        header: {
          task: "celery.group",
          args: [],
          kwargs: {
            tasks: [
              {
                task: "t.add",
                args: [1],
                kwargs: {},
                options: { task_id: "a" },
                subtask_type: null,
                immutable: false,
              },
            ],
          },
          options: { task_id: "g", root_id: null, parent_id: null },
          subtask_type: "group",
          immutable: false,
        },
        body: {
          task: "t.tsum",
          args: [],
          kwargs: {},
          options: { task_id: "b" },
          subtask_type: null,
          immutable: false,
        },
      },
      options: { task_id: "g" },
      subtask_type: "chord",
      immutable: false,
    };
    const revived = signatureFromJson(captured) as Chord;
    expect(revived.header.tasks.map((task) => task.id)).toEqual(["a"]);
    expect(revived.body.id).toBe("b");
    expect(revived.toJSON()).toEqual(captured);
  });

  it("signature() by name is unchecked; unbound ones need an app when applied", () => {
    const sig = signature<number>("remote.add", { args: [1], options: { queue: "py" } });
    expect(sig.toJSON()).toMatchObject({ task: "remote.add", args: [1], options: { queue: "py" } });
    expect(() => sig.delay()).toThrow(/bound to no app/);
  });
});

describe("applying workflows", () => {
  it("a chain sends its first step with the rest in embed.chain, last first; the result is the last's", async () => {
    const { sent, add } = capturingApp();
    const result = chain(add.s(2, 2), add.s(4), add.s(8)).applyAsync([], {}, { taskId: "last" });
    await result.sent;
    expect(sent).toHaveLength(1);
    const { message } = sent[0]!;
    expect(message.args).toEqual([2, 2]);
    expect(message.embed.chain?.map((step) => step.args)).toEqual([[8], [4]]);
    expect(message.embed.chain?.[0]?.options.task_id).toBe("last");
    expect(result.id).toBe("last");
    expect(result.parent?.id).toBe(message.embed.chain?.[1]?.options.task_id);
    expect(result.parent?.parent?.id).toBe(message.id);
    expect(message.rootId).toBe(message.id);
    expect(message.parentId).toBeNull();
  });

  it("chain arguments go to the first step; a link goes to the last, a link_error to every step", async () => {
    const { sent, add, tsum } = capturingApp();
    const workflow = chain(add.s(2), add.s(4));
    workflow.set({ link: tsum.si([1]), linkError: tsum.si([0]) });
    await workflow.applyAsync([1]).sent;
    const { message } = sent[0]!;
    expect(message.args).toEqual([1, 2]);
    expect(message.embed.errbacks).toEqual([tsum.si([0]).toJSON()]);
    const last = message.embed.chain![0]!;
    expect(last.options.link).toEqual([tsum.si([1]).toJSON()]);
    expect(last.options.link_error).toEqual([tsum.si([0]).toJSON()]);
  });

  it("a group sends every member with the group header and no group_index, and returns a GroupResult", async () => {
    const { sent, add } = capturingApp();
    const result = group(add.s(1, 1), group(add.s(2, 2), add.s(3, 3))).applyAsync();
    expect(result).toBeInstanceOf(GroupResult);
    await result.sent;
    expect(sent.map(({ message }) => message.args)).toEqual([
      [1, 1],
      [2, 2],
      [3, 3],
    ]);
    for (const { message } of sent) {
      expect(message.group).toBe(result.id);
      expect(message.groupIndex).toBeNull();
      expect(message.embed).toEqual(EMPTY);
    }
    expect(result.results.map((member) => member.id)).toEqual(sent.map(({ message }) => message.id));
    expect(() => group(add.s(1, 1)).applyAsync([], {}, { link: add.s(1) })).toThrow(/use a chord/);
  });

  it("a chord stores its size first, then sends members with group_index and the body in embed.chord", async () => {
    const { sent, sizes, add, tsum } = capturingApp();
    const result = chord([add.s(1, 1), chain(add.s(2, 2), add.s(3))], tsum.s()).applyAsync();
    await result.sent;
    const header = result.parent as GroupResult;
    expect(sizes).toEqual([[header.id, 2]]);
    expect(sent).toHaveLength(2);
    const [first, second] = sent.map(({ message }) => message);
    expect(first).toMatchObject({ group: header.id, groupIndex: 0, args: [1, 1] });
    expect(first!.embed.chord).toMatchObject({ task: "t.tsum", options: { task_id: result.id } });
    // The chain's last step is the member: the first step carries it in its chain.
    expect(second).toMatchObject({ group: null, args: [2, 2] });
    expect(second!.embed.chain![0]!.options).toMatchObject({ group_id: header.id, group_index: 1 });
    expect(header.results.map((member) => member.id)).toEqual([
      first!.id,
      second!.embed.chain![0]!.options.task_id,
    ]);
  });

  it("a group followed by a step becomes a chord in the chain (Celery's upgrade)", async () => {
    const { sent, add, tsum } = capturingApp();
    const result = chain(add.s(1, 1), group(add.s(1), add.s(2)), tsum.s()).applyAsync();
    await result.sent;
    const next = sent[0]!.message.embed.chain![0]! as SignatureJson;
    expect(next).toMatchObject({ task: "celery.chord", subtask_type: "chord" });
    const body = (next.kwargs as { body: SignatureJson }).body;
    expect(body.options.task_id).toBe(result.id);
    expect(result.parent).toBeInstanceOf(GroupResult);
  });

  it("map, starmap and chunks send Celery's builtins, routed as the mapped task", async () => {
    const { sent, add } = capturingApp({ taskRoutes: { "t.add": { queue: "adders" } } });
    await add.map([1, 2]).applyAsync().sent;
    await add.starmap([[1, 2]]).applyAsync().sent;
    const parts = add.chunks(
      [
        [1, 1],
        [2, 2],
        [3, 3],
      ],
      2,
    );
    expect(parts).toBeInstanceOf(Chunks);
    await parts.applyAsync().sent;
    expect(sent.map(({ message, routingKey }) => [message.task, routingKey, message.kwargs.it])).toEqual([
      ["celery.map", "adders", [1, 2]],
      ["celery.starmap", "adders", [[1, 2]]],
      [
        "celery.starmap",
        "adders",
        [
          [1, 1],
          [2, 2],
        ],
      ],
      ["celery.starmap", "adders", [[3, 3]]],
    ]);
    expect(sent[0]!.message.kwargs.task).toMatchObject({ task: "t.add" });
    expect(add.map([1])).toBeInstanceOf(XMap);
    expect(add.starmap([[1, 2]])).toBeInstanceOf(XStarMap);
    expect(() => add.chunks([[1, 2]], 0)).toThrow(/n ≥ 1/);
  });

  it("freeze() assigns the ids before anything is sent", () => {
    const { app, sent, add } = capturingApp();
    const sig = add.s(1, 1);
    const frozen = sig.freeze({ taskId: "x1" });
    expect(frozen.id).toBe("x1");
    expect(sig.id).toBe("x1");
    expect(sent).toHaveLength(0);
    expect(() => new Chain([], { app }).applyAsync()).toThrow(/empty chain/);
  });
});

describe("GroupResult", () => {
  it("get() returns results in order, rejects with the first failure in order, saves and restores", async () => {
    const { app, backend } = capturingApp();
    const done = (id: string, status: string, result: unknown) =>
      backend.store({ task_id: id, status, result, traceback: null, children: [], date_done: null });
    await done("a", "SUCCESS", 1);
    await done("b", "SUCCESS", 2);
    const result = new GroupResult<[number, number]>("g", [app.asyncResult("a"), app.asyncResult("b")], app);
    expect(await result.get({ timeout: 1 })).toEqual([1, 2]);
    expect(await result.completedCount()).toBe(2);
    expect(await result.successful()).toBe(true);
    await result.save();
    const restored = await GroupResult.restore(app, "g");
    expect(restored?.results.map((member) => member.id)).toEqual(["a", "b"]);
    expect(await GroupResult.restore(app, "missing")).toBeNull();
    expect(result.asTuple()).toEqual([
      ["g", null],
      [
        [["a", null], null],
        [["b", null], null],
      ],
    ]);
    await done("c", "FAILURE", { exc_type: "ValueError", exc_message: ["no"], exc_module: "builtins" });
    const failing = new GroupResult("h", [app.asyncResult("c"), app.asyncResult("a")], app);
    expect(await failing.failed()).toBe(true);
    await expect(failing.get({ timeout: 1 })).rejects.toMatchObject({
      code: "TQ_TASK_FAILED",
      excType: "ValueError",
    });
    const pending = new GroupResult("p", [app.asyncResult("a"), app.asyncResult("never")], app);
    expect(await pending.ready()).toBe(false);
    await expect(pending.get({ timeoutMs: 50 })).rejects.toMatchObject({ code: "TQ_TIMEOUT" });
  });
});

describe("builtins", () => {
  it("are Celery's names, resolved per app, and nothing else", () => {
    const { app } = capturingApp();
    expect(CANVAS_BUILTINS).toEqual([
      "celery.map",
      "celery.starmap",
      "celery.chunks",
      "celery.chain",
      "celery.group",
      "celery.chord",
      "celery.accumulate",
    ]);
    const map = canvasBuiltin(app, "celery.map");
    expect(map?.name).toBe("celery.map");
    expect(canvasBuiltin(app, "celery.map")).toBe(map);
    expect(canvasBuiltin(app, "celery.backend_cleanup")).toBeUndefined();
    expect(app.tasks.has("celery.map")).toBe(false);
  });
});
