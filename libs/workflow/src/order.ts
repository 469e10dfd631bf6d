// Deterministic orderings shared by derivations: generators write these lists to files that are
// checked for freshness, so the order must not depend on how the YAML happens to be arranged.

export const byString = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0);

/** Compares records field by field, in the order given. */
export function byFields<T>(...fields: readonly (keyof T)[]) {
  return (a: T, b: T): number => {
    for (const field of fields) {
      const order = byString(String(a[field]), String(b[field]));
      if (order !== 0) return order;
    }
    return 0;
  };
}
