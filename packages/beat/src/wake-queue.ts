/** One wake-up: check `name` at `at` (ms since the epoch). */
export interface WakeUp {
  readonly at: number;
  readonly name: string;
  /** The entry's generation when this was queued; an older one is stale and skipped. */
  readonly generation: number;
}

/**
 * A binary min-heap of wake-ups by time: beat sleeps until the top one, and 10,000 entries cost
 * O(log n) per run instead of a scan. Removals are lazy (see {@link WakeUp.generation}).
 */
export class WakeQueue {
  readonly #items: WakeUp[] = [];

  get size(): number {
    return this.#items.length;
  }

  /** The earliest wake-up, without removing it. */
  peek(): WakeUp | undefined {
    return this.#items[0];
  }

  push(item: WakeUp): void {
    const items = this.#items;
    items.push(item);
    let index = items.length - 1;
    while (index > 0) {
      const parent = (index - 1) >> 1;
      if ((items[parent] as WakeUp).at <= item.at) break;
      items[index] = items[parent] as WakeUp;
      index = parent;
    }
    items[index] = item;
  }

  /** Removes and returns the earliest wake-up. */
  pop(): WakeUp | undefined {
    const items = this.#items;
    const top = items[0];
    const last = items.pop();
    if (top === undefined || last === undefined || items.length === 0) return top;
    let index = 0;
    for (;;) {
      const left = 2 * index + 1;
      if (left >= items.length) break;
      const right = left + 1;
      const child =
        right < items.length && (items[right] as WakeUp).at < (items[left] as WakeUp).at ? right : left;
      if ((items[child] as WakeUp).at >= last.at) break;
      items[index] = items[child] as WakeUp;
      index = child;
    }
    items[index] = last;
    return top;
  }

  clear(): void {
    this.#items.length = 0;
  }
}
