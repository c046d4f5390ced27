/**
 * Reading the entries of a stored archive, with every entry's CRC-32 checked
 * (yauzl checks sizes but not CRCs). Used by `botvault diff` (whole entries in
 * memory: bot definitions are small JSON files) and by the restore drill
 * (streamed: each entry is hashed and dropped, so memory stays flat however
 * large the archive).
 */
import { PassThrough, type Readable } from 'node:stream';
import { crc32 } from 'node:zlib';
import yauzl from 'yauzl';

/** A zip that cannot be opened, or an entry whose bytes do not match its CRC-32 or size. */
export class ZipEntryError extends Error {
  override readonly name = 'ZipEntryError';
}

export interface EntrySummary {
  readonly name: string;
  readonly bytes: number;
  readonly crc32: number;
}

/**
 * Walks every entry of an open zip in order, streaming each one through a
 * CRC-32; `onData` sees its bytes (to keep them) or nothing is kept. Rejects
 * on the first entry that does not check out; always closes the zip.
 */
export async function walkEntries(zip: yauzl.ZipFile, onData?: (name: string, chunk: Buffer) => void): Promise<EntrySummary[]> {
  const out: EntrySummary[] = [];
  try {
    await new Promise<void>((resolve, reject) => {
      zip.on('error', reject);
      zip.on('end', () => resolve());
      zip.on('entry', (entry: yauzl.Entry) => {
        if (entry.fileName.endsWith('/')) {
          zip.readEntry();
          return;
        }
        zip.openReadStream(entry, (err, stream) => {
          if (err) return reject(new ZipEntryError(`entry ${entry.fileName}: ${err.message}`));
          let crc = 0;
          let bytes = 0;
          stream.on('data', (chunk: Buffer) => {
            crc = crc32(chunk, crc);
            bytes += chunk.length;
            onData?.(entry.fileName, chunk);
          });
          stream.on('error', (e: Error) => reject(new ZipEntryError(`entry ${entry.fileName}: ${e.message}`)));
          stream.on('end', () => {
            if (crc >>> 0 !== entry.crc32 >>> 0) {
              return reject(new ZipEntryError(`entry ${entry.fileName}: CRC-32 ${hex(crc)} does not match the stored ${hex(entry.crc32)}`));
            }
            out.push({ name: entry.fileName, bytes, crc32: entry.crc32 >>> 0 });
            zip.readEntry();
          });
        });
      });
      zip.readEntry();
    });
  } finally {
    zip.close();
  }
  return out;
}

const hex = (n: number) => (n >>> 0).toString(16).padStart(8, '0');

/** Every file entry of a zip held in memory: name → bytes, in archive order, CRC-checked. */
export async function readZipEntries(data: Buffer): Promise<Map<string, Buffer>> {
  let zip: yauzl.ZipFile;
  try {
    zip = await yauzl.fromBufferPromise(data, { lazyEntries: true, validateEntrySizes: true });
  } catch (err) {
    throw new ZipEntryError(`not a readable zip: ${(err as Error).message}`);
  }
  const chunks = new Map<string, Buffer[]>();
  const summaries = await walkEntries(zip, (name, chunk) => {
    const list = chunks.get(name);
    if (list) list.push(chunk);
    else chunks.set(name, [chunk]);
  });
  // Empty entries never produce a data event: the summaries list every entry, in archive order.
  return new Map(summaries.map((e) => [e.name, Buffer.concat(chunks.get(e.name) ?? [])]));
}

/**
 * A yauzl RandomAccessReader over ranged reads (`read(start, end)` → a stream
 * of bytes start..end-1): the zip's central directory and each entry are
 * fetched as they are needed, never the whole object.
 */
export function rangedZipReader(read: (start: number, end: number) => Promise<Readable>): yauzl.RandomAccessReader {
  return new RangedReader(read);
}

class RangedReader extends yauzl.RandomAccessReader {
  constructor(private readonly readRange: (start: number, end: number) => Promise<Readable>) {
    super();
  }

  override _readStreamForRange(start: number, end: number): Readable {
    // yauzl wants a stream synchronously; the range request starts now and is piped in when it answers.
    // pipe() keeps backpressure: a slow consumer pauses the ranged read instead of buffering it.
    const pass = new PassThrough();
    this.readRange(start, end).then(
      (body) => {
        body.on('error', (e) => pass.destroy(e));
        body.pipe(pass);
      },
      (err: Error) => pass.destroy(err),
    );
    return pass;
  }
}
