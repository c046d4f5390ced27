/**
 * Random access to an archive's bytes, wherever they are: in memory, or one
 * S3 object version read by range GETs (s3-byte-source.ts). The zip reader
 * (zip.ts) reads through this interface only, so the Lambdas, the restore
 * drill and the CLI open archives the same way, and the reader itself needs
 * no AWS SDK.
 */

export interface ByteSource {
  readonly size: number;
  /** Streams bytes [start, end). */
  read(start: number, end: number): Promise<AsyncIterable<Uint8Array>>;
  /** The bytes [start, end) at once, when they are already in memory (no copy). */
  slice?(start: number, end: number): Uint8Array;
}

/** A read of the byte source came back short: a transport problem, not a property of the archive. */
export class ShortReadError extends Error {
  override readonly name = 'ShortReadError';
}

/** Reads [start, end) completely, or throws ShortReadError. */
export async function readRange(src: ByteSource, start: number, end: number): Promise<Uint8Array> {
  if (src.slice) return src.slice(start, end);
  const parts: Buffer[] = [];
  for await (const chunk of await src.read(start, end)) parts.push(Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength));
  const buf = Buffer.concat(parts);
  if (buf.length !== end - start) throw new ShortReadError(`A read of bytes ${start}-${end} returned ${buf.length} bytes.`);
  return buf;
}

/** A ByteSource over bytes in memory. */
export function bufferByteSource(data: Uint8Array): ByteSource {
  return {
    size: data.length,
    slice: (start, end) => data.subarray(start, end),
    async read(start, end) {
      const part = data.subarray(start, end);
      return (async function* () {
        yield part;
      })();
    },
  };
}
