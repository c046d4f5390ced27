/**
 * Byte-level mutations of real-format archives for the property-based tests
 * (fast-check): what a damaged download, a hostile server or a tampered
 * object can do to a zip — flipped bits, cut tails, overwritten header
 * fields, inserted and deleted runs. Positions below 0 count from the end,
 * where the central directory and its end record live.
 */
import fc from 'fast-check';

export type Mutation =
  | { readonly kind: 'flip'; readonly at: number; readonly bit: number }
  | { readonly kind: 'truncate'; readonly at: number }
  | { readonly kind: 'overwrite'; readonly at: number; readonly bytes: Uint8Array }
  | { readonly kind: 'insert'; readonly at: number; readonly bytes: Uint8Array }
  | { readonly kind: 'delete'; readonly at: number; readonly length: number }
  | { readonly kind: 'u32'; readonly at: number; readonly value: number };

const position = fc.oneof(fc.nat({ max: 1 << 20 }), fc.integer({ min: -256, max: -1 }));
/** Values that break zip size and offset fields in interesting ways. */
const U32 = fc.constantFrom(0, 1, 0x7fffffff, 0x80000000, 0xfffffffe, 0xffffffff, 0x04034b50, 0x02014b50, 0x06054b50);

const mutation: fc.Arbitrary<Mutation> = fc.oneof(
  fc.record({ kind: fc.constant('flip' as const), at: position, bit: fc.integer({ min: 0, max: 7 }) }),
  fc.record({ kind: fc.constant('truncate' as const), at: position }),
  fc.record({ kind: fc.constant('overwrite' as const), at: position, bytes: fc.uint8Array({ minLength: 1, maxLength: 16 }) }),
  fc.record({ kind: fc.constant('insert' as const), at: position, bytes: fc.uint8Array({ minLength: 1, maxLength: 16 }) }),
  fc.record({ kind: fc.constant('delete' as const), at: position, length: fc.integer({ min: 1, max: 64 }) }),
  fc.record({ kind: fc.constant('u32' as const), at: position, value: U32 }),
);

export const mutations = fc.array(mutation, { minLength: 1, maxLength: 4 });

export function mutate(data: Buffer, ms: readonly Mutation[]): Buffer {
  let out = Buffer.from(data);
  for (const m of ms) {
    if (out.length === 0) break;
    const at = ((m.at % out.length) + out.length) % out.length;
    switch (m.kind) {
      case 'flip':
        out[at] = out[at]! ^ (1 << m.bit);
        break;
      case 'truncate':
        out = out.subarray(0, at);
        break;
      case 'overwrite':
        out.set(m.bytes.subarray(0, out.length - at), at);
        break;
      case 'insert':
        out = Buffer.concat([out.subarray(0, at), m.bytes, out.subarray(at)]);
        break;
      case 'delete':
        out = Buffer.concat([out.subarray(0, at), out.subarray(at + m.length)]);
        break;
      case 'u32':
        if (at + 4 <= out.length) out.writeUInt32LE(m.value, at);
        break;
    }
  }
  return out;
}

/** Rejects when `p` takes longer than `ms`: a hang is a failure, not a slow pass. */
export async function within<T>(ms: number, p: Promise<T>, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([
      p,
      new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error(`HANG: ${what} took more than ${ms} ms`)), ms);
      }),
    ]);
  } finally {
    clearTimeout(timer);
  }
}

/** Cases each property runs (FUZZ_RUNS overrides, e.g. for a longer local campaign). */
export const runs = (n: number) => Number(process.env.FUZZ_RUNS ?? n);
