/**
 * JSON with object keys sorted at every level (arrays keep their order), so
 * two serializations of the same value compare equal. Lex writes its export
 * JSON with a key order that varies between exports (README "Export
 * formats"): the content hash, `botvault diff` and the restore sidecar's hash
 * all compare values through this, never raw key order.
 *
 * A known limit: numbers are JSON.parse's, so integers beyond 2^53 lose
 * their last digits and two documents differing only there compare equal.
 */
export function canonicalJson(value: unknown, indent?: number): string {
  return JSON.stringify(sortKeys(value), null, indent);
}

function sortKeys(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(sortKeys);
  if (value && typeof value === 'object') {
    // No prototype: a key named `__proto__` (JSON.parse makes it an own property) stays a key, instead of
    // setting the copy's prototype and vanishing, which would make two different documents compare equal.
    const out: Record<string, unknown> = Object.create(null);
    for (const key of Object.keys(value).sort()) {
      const v = (value as Record<string, unknown>)[key];
      if (v !== undefined) out[key] = sortKeys(v);
    }
    return out;
  }
  return value;
}
