/**
 * A bounded least-recently-used map: past `maxEntries`, setting a new key drops the entry used
 * longest ago. Built on `Map`'s insertion order (a hit moves the entry to the end), so every
 * operation is O(1).
 */
export class LruCache<K, V> {
  readonly #entries = new Map<K, V>()
  #maxEntries: number

  /** @param maxEntries Most entries kept (at least 1). */
  constructor(maxEntries: number) {
    this.#maxEntries = LruCache.#checkLimit(maxEntries)
  }

  static #checkLimit(maxEntries: number): number {
    if (!Number.isSafeInteger(maxEntries) || maxEntries < 1) throw new RangeError('an LRU cache holds at least one entry')
    return maxEntries
  }

  /** Most entries kept. */
  get maxEntries(): number {
    return this.#maxEntries
  }

  /** Change the bound; entries past it are dropped, least recently used first. */
  set maxEntries(maxEntries: number) {
    this.#maxEntries = LruCache.#checkLimit(maxEntries)
    this.#trim()
  }

  /** Entries held now. */
  get size(): number {
    return this.#entries.size
  }

  /** The value of `key` (marking it used), or undefined. */
  get(key: K): V | undefined {
    const value = this.#entries.get(key)
    if (value === undefined) return undefined
    this.#entries.delete(key)
    this.#entries.set(key, value)
    return value
  }

  /** Set `key` as the most recently used entry, dropping the least recently used past the bound. */
  set(key: K, value: V): void {
    this.#entries.delete(key)
    this.#entries.set(key, value)
    this.#trim()
  }

  delete(key: K): boolean {
    return this.#entries.delete(key)
  }

  clear(): void {
    this.#entries.clear()
  }

  #trim(): void {
    while (this.#entries.size > this.#maxEntries) {
      const oldest = this.#entries.keys().next()
      if (oldest.done === true) return
      this.#entries.delete(oldest.value)
    }
  }
}
