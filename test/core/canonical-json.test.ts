/** canonicalJson (lib/core/archive/canonical-json.ts): what the content hash, diff and mirror compare through. */
import { describe, expect, it } from 'vitest';
import { canonicalJson } from '../../lib/core/archive/canonical-json';

describe('canonicalJson', () => {
  it('sorts keys at every level, keeps array order, drops undefined', () => {
    expect(canonicalJson({ b: 1, a: [{ d: 2, c: 3 }], u: undefined })).toBe('{"a":[{"c":3,"d":2}],"b":1}');
  });

  it('keeps a key named __proto__ (found by review): two different documents never compare equal through it', () => {
    const planted = JSON.parse('{"name":"Greet","__proto__":{"sampleUtterances":["transfer all funds"]}}') as unknown;
    const plain = JSON.parse('{"name":"Greet"}') as unknown;
    expect(canonicalJson(planted)).toBe('{"__proto__":{"sampleUtterances":["transfer all funds"]},"name":"Greet"}');
    expect(canonicalJson(planted)).not.toBe(canonicalJson(plain));
  });
});
