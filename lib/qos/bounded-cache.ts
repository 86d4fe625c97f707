/**
 * A memo with a size bound: pure results (parsed annotations, IFB names) by their inputs. When
 * full it starts over, which costs one recomputation per entry still in use: the inputs a node
 * sees are a few thousand at most, so that is rare, and the bound keeps a long-running agent's
 * memory flat however many pods come and go.
 */
export class BoundedCache<K, V> {
  private entries = new Map<K, V>();

  constructor(private readonly limit: number) {}

  get(key: K): V | undefined {
    return this.entries.get(key);
  }

  set(key: K, value: V): V {
    if (this.entries.size >= this.limit) this.entries = new Map();
    this.entries.set(key, value);
    return value;
  }
}
