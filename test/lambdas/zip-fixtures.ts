/** Zip archives for the tests, in the real Lex export layout (test/generators/lex-export.ts). */
import { randomBytes } from 'node:crypto';
import { lexExportEntries, sampleLexBot } from '../generators/lex-export';
import { writeZip, type Encryption } from '../generators/zip-writer';

export interface ZipOptions {
  /** Store entries uncompressed (so size is predictable). */
  store?: boolean;
  /** Encrypts every entry (Lex's filePassword). */
  password?: string;
  encryption?: Encryption;
}

export function makeZip(entries: Record<string, Buffer | string>, opts: ZipOptions = {}): Promise<Buffer> {
  return writeZip(
    Object.entries(entries).map(([name, data]) => ({ name, data })),
    {
      mtime: new Date(Date.UTC(2024, 1, 19, 10, 30)),
      ...(opts.store ? { store: true } : {}),
      ...(opts.password ? { password: opts.password, encryption: opts.encryption ?? 'aes256' } : {}),
    },
  );
}

/** A real-format Lex bot export (Manifest.json, a bot folder), plus `extraBytes` of random data in one more entry. */
export function lexLikeZip(extraBytes = 0, opts: ZipOptions = {}): Promise<Buffer> {
  const entries = lexExportEntries(sampleLexBot('ABCDEFGHIJ', 'Bot', ['Greet']), { seed: 1 });
  const all = Object.fromEntries(entries.map((e) => [e.name, typeof e.data === 'string' ? e.data : Buffer.from(e.data)]));
  if (extraBytes) all['Bot/blob.bin'] = randomBytes(extraBytes);
  return makeZip(all, { store: true, ...opts });
}

/** Splits a buffer into chunks of the given sizes, cycling through them. */
export function chunked(data: Buffer, sizes: number[]): Buffer[] {
  const out: Buffer[] = [];
  let at = 0;
  for (let i = 0; at < data.length; i++) {
    const size = sizes[i % sizes.length]!;
    out.push(data.subarray(at, at + size));
    at += size;
  }
  return out;
}
