/**
 * Where StoreArchive keeps a download while it checks it: in memory up to a
 * bound, beyond it in a file on the function's ephemeral storage (`/tmp`,
 * sized by the stack from the config's `maxArchiveMiB`). The spool counts and
 * hashes every byte on the way in (SHA-256 for S3's checksum and the object's
 * `sha256` metadata), refuses more than its limit, and hands the bytes out as
 * a ByteSource (for the zip reader) and as streams (for the upload) without
 * ever holding a file-spooled archive in memory.
 */
import { createHash } from 'node:crypto';
import { createReadStream, createWriteStream, type WriteStream } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { type ByteSource, bufferByteSource } from '../../lib/core/archive/byte-source';
import { drained } from '../../lib/core/drained';
import { DownloadIntegrityError } from '../../lib/core/errors';

export interface SpoolOptions {
  /** Bytes kept in memory; a larger archive goes to a file. */
  readonly memoryBytes: number;
  /** The largest archive accepted: more bytes fail the download with DownloadIntegrityError. */
  readonly maxBytes: number;
  /** The download's Content-Length, when the server sent one: checked exactly, and a larger one goes to a file at once. */
  readonly expectedBytes?: number;
  /** Where file spools are made. @default os.tmpdir() */
  readonly dir?: string;
}

export interface Spooled {
  readonly bytes: number;
  /** SHA-256 of the bytes, hex. */
  readonly sha256: string;
  /** Random access for the zip reader. */
  readonly source: ByteSource;
  /** Bytes [start, end) as a stream (a fresh one per call). */
  stream(start?: number, end?: number): Readable;
  /** The whole archive as a request body: the Buffer itself when in memory (the SDK can resend it on a retry), else a file stream. */
  body(): Buffer | Readable;
  /** Frees the memory or deletes the file; safe to call twice. */
  dispose(): Promise<void>;
}

/** Reads `body` to its end into a spool, checking its length; the body's own errors are rethrown as they are. */
export async function spool(body: AsyncIterable<Uint8Array>, opts: SpoolOptions): Promise<Spooled> {
  const hash = createHash('sha256');
  let bytes = 0;
  const chunks: Buffer[] = [];
  let file: { dir: string; path: string; out: WriteStream; failed?: Error } | undefined;
  // A file spool writes through one stream, waiting only when its buffer is full: awaiting every
  // chunk's write (a thread-pool round trip each) made a 100 MiB spool three times slower than the download.
  const write = async (out: WriteStream, buf: Buffer) => {
    if (file?.failed) throw file.failed;
    if (!out.write(buf)) await drained(out);
    if (file?.failed) throw file.failed;
  };
  const toFile = async () => {
    const dir = await mkdtemp(join(opts.dir ?? tmpdir(), 'botvault-spool-'));
    const path = join(dir, 'archive.zip');
    const out = createWriteStream(path, { highWaterMark: 1024 * 1024 });
    const spooling = { dir, path, out } as NonNullable<typeof file>;
    // Always listened to: a failed write (a full /tmp) must fail this download, not the process.
    out.on('error', (err) => {
      spooling.failed ??= err;
    });
    file = spooling;
    for (const c of chunks.splice(0)) await write(out, c);
  };
  try {
    if (opts.expectedBytes !== undefined && opts.expectedBytes > opts.maxBytes) {
      throw new DownloadIntegrityError(
        `The download announces ${opts.expectedBytes} bytes (Content-Length), more than the largest archive BotVault accepts (${opts.maxBytes} bytes; config maxArchiveMiB).`,
      );
    }
    if (opts.expectedBytes !== undefined && opts.expectedBytes > opts.memoryBytes) await toFile();
    for await (const chunk of body) {
      const buf = Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength);
      bytes += buf.length;
      if (opts.expectedBytes !== undefined && bytes > opts.expectedBytes) {
        throw new DownloadIntegrityError(`The download sent more bytes than its Content-Length (${opts.expectedBytes}).`);
      }
      if (bytes > opts.maxBytes) {
        throw new DownloadIntegrityError(
          `The download is larger than the largest archive BotVault accepts (${opts.maxBytes} bytes; config maxArchiveMiB).`,
        );
      }
      hash.update(buf);
      if (!file && bytes > opts.memoryBytes) await toFile();
      // Kept as it is: the body's chunks are not reused by the HTTP client once yielded.
      if (file) await write(file.out, buf);
      else chunks.push(buf);
    }
    if (opts.expectedBytes !== undefined && bytes !== opts.expectedBytes) {
      throw new DownloadIntegrityError(`The download ended after ${bytes} of ${opts.expectedBytes} bytes (Content-Length): the body was cut short.`);
    }
    if (bytes === 0) throw new DownloadIntegrityError('The download is empty (0 bytes): not an archive.');
    // Written, not synced: the spool lives only as long as this invocation, so a sync would buy nothing.
    if (file) {
      const { out } = file;
      await new Promise<void>((resolve) => {
        out.end(() => resolve());
        out.once('close', () => resolve());
      });
      if (file.failed) throw file.failed;
    }
  } catch (err) {
    if (file) {
      file.out.destroy();
      await rm(file.dir, { recursive: true, force: true });
    }
    throw err;
  }
  const sha256 = hash.digest('hex');
  if (!file) return memorySpool(Buffer.concat(chunks, bytes), sha256);
  return fileSpool(file, bytes, sha256);
}

function memorySpool(data: Buffer, sha256: string): Spooled {
  return {
    bytes: data.length,
    sha256,
    source: bufferByteSource(data),
    stream: (start = 0, end = data.length) => Readable.from([data.subarray(start, end)]),
    body: () => data,
    dispose: async () => undefined,
  };
}

function fileSpool(file: { dir: string; path: string }, bytes: number, sha256: string): Spooled {
  let disposed = false;
  const stream = (start = 0, end = bytes) =>
    end <= start ? Readable.from([]) : createReadStream(file.path, { start, end: end - 1, highWaterMark: 1024 * 1024 });
  return {
    bytes,
    sha256,
    source: { size: bytes, read: async (start, end) => stream(start, end) },
    stream,
    body: () => stream(),
    async dispose() {
      if (disposed) return;
      disposed = true;
      await rm(file.dir, { recursive: true, force: true });
    },
  };
}
