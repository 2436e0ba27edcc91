/**
 * A binary heap: `pop()` returns the item that sorts first by `before`. The memory broker's ready
 * list, so that priority order and FIFO within a priority both cost O(log n).
 */
export class Heap<T> {
  #items: T[] = [];
  readonly #before: (a: T, b: T) => boolean;

  constructor(before: (a: T, b: T) => boolean) {
    this.#before = before;
  }

  /** How many items it holds. */
  get size(): number {
    return this.#items.length;
  }

  /** Adds an item. */
  push(item: T): void {
    const items = this.#items;
    items.push(item);
    let index = items.length - 1;
    while (index > 0) {
      const parent = (index - 1) >> 1;
      if (!this.#before(items[index]!, items[parent]!)) break;
      this.#swap(index, parent);
      index = parent;
    }
  }

  /** Removes and returns the first item, or undefined when empty. */
  pop(): T | undefined {
    const items = this.#items;
    const first = items[0];
    const last = items.pop();
    if (items.length === 0 || last === undefined) return first;
    items[0] = last;
    let index = 0;
    for (;;) {
      const left = index * 2 + 1;
      const right = left + 1;
      let best = index;
      if (left < items.length && this.#before(items[left]!, items[best]!)) best = left;
      if (right < items.length && this.#before(items[right]!, items[best]!)) best = right;
      if (best === index) return first;
      this.#swap(index, best);
      index = best;
    }
  }

  /** Removes every item; returns how many there were. */
  clear(): number {
    const count = this.#items.length;
    this.#items = [];
    return count;
  }

  #swap(a: number, b: number): void {
    const items = this.#items;
    const held = items[a]!;
    items[a] = items[b]!;
    items[b] = held;
  }
}
