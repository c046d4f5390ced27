/**
 * JSON with object keys sorted at every level (arrays keep their order), so
 * two serializations of the same value compare equal. Lex writes its export
 * JSON with a key order that varies between exports (README "Export
 * formats"): the content hash, `botvault diff` and the restore sidecar's hash
 * all compare values through this, never raw key order.
 */
export function canonicalJson(value: unknown, indent?: number): string {
  return JSON.stringify(sortKeys(value), null, indent);
}

function sortKeys(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(sortKeys);
  if (value && typeof value === 'object') {
    const out: Record<string, unknown> = {};
    for (const key of Object.keys(value).sort()) {
      const v = (value as Record<string, unknown>)[key];
      if (v !== undefined) out[key] = sortKeys(v);
    }
    return out;
  }
  return value;
}
