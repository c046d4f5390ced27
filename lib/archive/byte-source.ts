/**
 * Random access to an archive's bytes, wherever they are: in memory, or one
 * S3 object version read by range GETs. The zip reader (zip.ts) reads
 * through this interface only, so the Lambdas, the restore drill and the CLI
 * open archives the same way.
 */
import type { Readable } from 'node:stream';
import { GetObjectCommand, type S3Client } from '@aws-sdk/client-s3';

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

/** A ByteSource over one S3 object version (range GETs, pinned to the version when one is given). */
export function s3ByteSource(s3: S3Client, bucket: string, key: string, size: number, versionId?: string): ByteSource {
  return {
    size,
    async read(start, end) {
      if (end <= start) return (async function* () {})();
      const res = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: key, Range: `bytes=${start}-${end - 1}`, ...(versionId ? { VersionId: versionId } : {}) }));
      return res.Body as Readable;
    },
  };
}
