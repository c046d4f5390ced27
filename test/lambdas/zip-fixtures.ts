/** Real zip archives for the tests, written by yazl (an independent zip writer). */
import { randomBytes } from 'node:crypto';
import yazl from 'yazl';

export interface ZipOptions {
  /** Writes zip64 records even though nothing overflows. */
  zip64?: boolean;
  comment?: string;
  /** Store entries uncompressed (so size is predictable). */
  store?: boolean;
}

export function makeZip(entries: Record<string, Buffer | string>, opts: ZipOptions = {}): Promise<Buffer> {
  const zip = new yazl.ZipFile();
  for (const [name, data] of Object.entries(entries)) {
    zip.addBuffer(Buffer.isBuffer(data) ? data : Buffer.from(data), name, { compress: !opts.store, forceZip64Format: Boolean(opts.zip64) });
  }
  zip.end({ forceZip64Format: Boolean(opts.zip64), comment: opts.comment ?? '' });
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    zip.outputStream.on('data', (c: Buffer) => chunks.push(c));
    zip.outputStream.on('error', reject);
    zip.outputStream.on('end', () => resolve(Buffer.concat(chunks)));
  });
}

/** A Lex-like export: manifest.json plus a bot definition. */
export function lexLikeZip(extraBytes = 0, opts: ZipOptions = {}): Promise<Buffer> {
  return makeZip(
    {
      'manifest.json': JSON.stringify({ schemaVersion: '1', fileFormat: 'LexJson', resourceType: 'Bot' }),
      'Bot/Bot.json': JSON.stringify({ name: 'Bot', intents: ['Greet'] }),
      ...(extraBytes ? { 'Bot/blob.bin': randomBytes(extraBytes) } : {}),
    },
    { store: true, ...opts },
  );
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
