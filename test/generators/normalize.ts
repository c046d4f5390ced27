/**
 * Entries of an export as comparable text: JSON entries canonical (keys
 * sorted), the rest as UTF-8. Two real exports of an unchanged bot differ in
 * JSON key order (README "Export formats"), so "the same definition" means
 * equal under this, as it does for the content hash.
 */
import { canonicalJson } from '../../lib/core/archive/canonical-json';

export function comparableEntries(entries: Map<string, Buffer>): Record<string, string> {
  return Object.fromEntries(
    [...entries].map(([name, data]) => {
      const text = data.toString('utf8');
      if (!/\.json$/i.test(name)) return [name, text];
      try {
        return [name, canonicalJson(JSON.parse(text))];
      } catch {
        return [name, text];
      }
    }),
  );
}
