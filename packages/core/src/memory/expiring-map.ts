interface Expiring<V> {
  readonly value: V;
  /** Epoch ms after which the entry is gone; null keeps it forever. */
  readonly expiresAt: number | null;
}

/** A map whose entries can expire; an expired entry is dropped when read or swept. */
export class ExpiringMap<V> {
  readonly #entries = new Map<string, Expiring<V>>();

  /** How many entries it holds, expired ones not swept yet included. */
  get size(): number {
    return this.#entries.size;
  }

  /** The live value under a key. */
  get(key: string, now = Date.now()): V | undefined {
    const entry = this.#entries.get(key);
    if (!entry) return undefined;
    if (entry.expiresAt !== null && entry.expiresAt <= now) {
      this.#entries.delete(key);
      return undefined;
    }
    return entry.value;
  }

  /** Stores a value until `expiresAt` (epoch ms), or forever when null. */
  set(key: string, value: V, expiresAt: number | null): void {
    this.#entries.set(key, { value, expiresAt });
  }

  /** Removes a key; true when it was there. */
  delete(key: string): boolean {
    return this.#entries.delete(key);
  }

  /** Drops every expired entry. */
  sweep(now = Date.now()): void {
    for (const [key, entry] of this.#entries) {
      if (entry.expiresAt !== null && entry.expiresAt <= now) this.#entries.delete(key);
    }
  }
}
