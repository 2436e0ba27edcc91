/**
 * A Lamport clock, as kombu's `LamportClock`: the `clock` header of control messages (and events)
 * orders them across nodes. {@link forward} before sending, {@link adjust} on receiving.
 */
export class LamportClock {
  #value: number;

  constructor(initial = 0) {
    this.#value = initial;
  }

  /** The current value. */
  get value(): number {
    return this.#value;
  }

  /** Advances the clock for an event of this node and returns the new value. */
  forward(): number {
    this.#value += 1;
    return this.#value;
  }

  /** Moves past a value received from another node (`max(own, other) + 1`) and returns the new value. */
  adjust(other: number): number {
    this.#value = Math.max(this.#value, Number.isFinite(other) ? other : 0) + 1;
    return this.#value;
  }
}
