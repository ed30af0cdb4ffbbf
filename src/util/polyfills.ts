/**
 * Polyfills for Node 20. Chevrotain ≥ 12 calls `Object.groupBy` (Node ≥ 21) while building a parser, so any
 * module that imports chevrotain imports this file first and calls {@link ensurePolyfills} before building one
 * (a named import survives bundlers that drop side-effect-only imports under `"sideEffects": false`).
 */
type GroupBy = <T, K extends PropertyKey>(items: Iterable<T>, key: (item: T, index: number) => K) => Partial<Record<K, T[]>>;

/** Installs the missing built-ins; idempotent and cheap. */
export function ensurePolyfills(): void {
  const obj = Object as unknown as { groupBy?: GroupBy };
  if (typeof obj.groupBy === "function") return;
  const groupBy: GroupBy = <T, K extends PropertyKey>(items: Iterable<T>, key: (item: T, index: number) => K) => {
    const out = Object.create(null) as Partial<Record<K, T[]>>;
    let index = 0;
    for (const item of items) {
      const k = key(item, index++);
      (out[k] ??= []).push(item);
    }
    return out;
  };
  Object.defineProperty(Object, "groupBy", { value: groupBy, writable: true, configurable: true, enumerable: false });
}

ensurePolyfills();
