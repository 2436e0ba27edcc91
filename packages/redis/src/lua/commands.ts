import type { RedisClient } from "../connection.js";
import { FETCH_SCRIPT } from "./fetch.js";
import { DROP_ORPHAN_SCRIPT, MOVE_SCRIPT } from "./move.js";
import { FORGET_SCRIPT, PUBLISH_SCRIPT, RELEASE_MUTEX_SCRIPT } from "./settle.js";

type Argument = string | number | Buffer;
type ScriptFunction = (
  keyCount: number,
  keys: readonly string[],
  args: readonly Argument[],
) => Promise<unknown>;

// Names are tq-specific so that defining them on a client the user shares with other code cannot clash.
const DEFINITIONS = {
  tqBrokerFetch: FETCH_SCRIPT,
  tqBrokerMove: MOVE_SCRIPT,
  tqBrokerDropOrphan: DROP_ORPHAN_SCRIPT,
  tqBrokerForget: FORGET_SCRIPT,
  tqBrokerPublish: PUBLISH_SCRIPT,
  tqBrokerReleaseMutex: RELEASE_MUTEX_SCRIPT,
} as const;

type ScriptName = keyof typeof DEFINITIONS;

// Tags per FORGET call: Lua's unpack() has a stack limit of a few thousand values.
const FORGET_BATCH = 1_000;

/** Tags waiting to be forgotten together, with the callers waiting on them. */
interface PendingForget {
  readonly unacked: string;
  readonly index: string;
  readonly tags: string[];
  readonly waiters: { resolve: () => void; reject: (error: unknown) => void }[];
}

/**
 * The broker's Lua scripts on one client, sent as EVALSHA (ioredis' `defineCommand` falls back to
 * EVAL once per connection when the server does not know a script, e.g. after a restart).
 */
export class BrokerScripts {
  readonly #functions: Record<ScriptName, ScriptFunction>;
  readonly #pendingForgets = new Map<string, PendingForget>();

  constructor(client: RedisClient) {
    const target = client as unknown as Record<string, ScriptFunction | undefined>;
    // Defined again on every broker: a client shared by two copies of this package gets the scripts
    // of the newest, which is harmless since the calling convention is the same.
    for (const [name, lua] of Object.entries(DEFINITIONS)) client.defineCommand(name, { lua });
    const bound = (name: ScriptName): ScriptFunction => {
      const fn = target[name] as ScriptFunction;
      return (keyCount, keys, args) => fn.call(client, keyCount, keys, args);
    };
    this.#functions = {
      tqBrokerFetch: bound("tqBrokerFetch"),
      tqBrokerMove: bound("tqBrokerMove"),
      tqBrokerDropOrphan: bound("tqBrokerDropOrphan"),
      tqBrokerForget: bound("tqBrokerForget"),
      tqBrokerPublish: bound("tqBrokerPublish"),
      tqBrokerReleaseMutex: bound("tqBrokerReleaseMutex"),
    };
  }

  /** See FETCH_SCRIPT. `lists` and `queueJson` are aligned. Returns `[index, tag, payload, …]`. */
  async fetch(
    unacked: string,
    index: string,
    lists: readonly string[],
    want: number,
    nowSeconds: number,
    queueJson: readonly string[],
  ): Promise<unknown[]> {
    const reply = await this.#functions.tqBrokerFetch(
      lists.length + 2,
      [unacked, index, ...lists],
      [want, nowSeconds, ...queueJson],
    );
    return Array.isArray(reply) ? reply : [];
  }

  /** See MOVE_SCRIPT. Resolves true when the message moved. */
  async move(
    unacked: string,
    index: string,
    targets: readonly string[],
    tag: string,
    expected: string | Buffer,
    staleBefore: number | "+inf",
    side: "front" | "back",
    payload: string,
  ): Promise<boolean> {
    const reply = await this.#functions.tqBrokerMove(
      targets.length + 2,
      [unacked, index, ...targets],
      [tag, expected, staleBefore, side, payload],
    );
    return Number(reply) === 1;
  }

  /** See DROP_ORPHAN_SCRIPT. */
  async dropOrphan(unacked: string, index: string, tag: string): Promise<void> {
    await this.#functions.tqBrokerDropOrphan(2, [unacked, index], [tag]);
  }

  /**
   * See FORGET_SCRIPT. Tags forgotten in the same tick (a handler acking a whole fetched batch) go in
   * one script call per bookkeeping pair instead of one each.
   */
  forget(unacked: string, index: string, tag: string): Promise<void> {
    return new Promise((resolve, reject) => {
      let pending = this.#pendingForgets.get(index);
      if (!pending) {
        pending = { unacked, index, tags: [], waiters: [] };
        this.#pendingForgets.set(index, pending);
        queueMicrotask(() => this.#flushForget(pending!));
      }
      pending.tags.push(tag);
      pending.waiters.push({ resolve, reject });
    });
  }

  #flushForget(pending: PendingForget): void {
    this.#pendingForgets.delete(pending.index);
    const calls: Promise<unknown>[] = [];
    for (let start = 0; start < pending.tags.length; start += FORGET_BATCH) {
      const tags = pending.tags.slice(start, start + FORGET_BATCH);
      calls.push(this.#functions.tqBrokerForget(2, [pending.unacked, pending.index], tags));
    }
    Promise.all(calls).then(
      () => {
        for (const waiter of pending.waiters) waiter.resolve();
      },
      (error: unknown) => {
        for (const waiter of pending.waiters) waiter.reject(error);
      },
    );
  }

  /** See PUBLISH_SCRIPT. */
  async publish(list: string, payload: string, wakeChannel: string): Promise<void> {
    await this.#functions.tqBrokerPublish(1, [list], [payload, wakeChannel]);
  }

  /** See RELEASE_MUTEX_SCRIPT. */
  async releaseMutex(mutex: string, token: string): Promise<void> {
    await this.#functions.tqBrokerReleaseMutex(1, [mutex], [token]);
  }
}
