/**
 * The content hash of a zip archive, and single-entry reads, over a byte
 * source with range reads (the staged S3 object), in flat memory.
 *
 * Content hash (`content-sha256` metadata): SHA-256 over the archive's entries
 * sorted by their raw name bytes, each contributing
 * `name NUL sha256-hex(uncompressed content) LF`, after the prefix
 * `botvault-content-v1 LF`. Timestamps, entry order, compression method and
 * level, extra fields and comments do not count, so two exports of an
 * unchanged bot hash the same even when their zip bytes differ (Lex stamps
 * every export with the export time).
 *
 * How, without holding the archive: the central directory (at the end) gives
 * every entry's name, method, sizes and local header offset, so the data need
 * no streaming zip parse (data descriptors and all): one range read of the
 * tail (EOCD, and the central directory when it fits there), at most one
 * more for a larger central directory, then ONE sequential read of the data
 * region, walked entry by entry in offset order, each entry inflated into a
 * hash. Memory: the central directory plus a name and a digest per entry,
 * independent of the archive's size. (yauzl.fromRandomAccessReader would do
 * one range request per entry: thousands for a large bot; and it is not a
 * runtime dependency.)
 *
 * Every entry's inflated size and CRC-32 are checked against the central
 * directory, so the hash is also a full integrity check of what was stored.
 * Archives whose entries cannot be read (encrypted: Lex's filePassword;
 * methods other than stored/deflate) have no content hash (NotHashableError):
 * the caller then stores every export.
 */
import { createHash } from 'node:crypto';
import { once } from 'node:events';
import type { Readable } from 'node:stream';
import { crc32, createInflateRaw } from 'node:zlib';
import { GetObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { DownloadIntegrityError } from './errors';

const LOCAL_FILE_HEADER = 0x04034b50;
const CENTRAL_DIR_HEADER = 0x02014b50;
const EOCD = 0x06054b50;
const ZIP64_EOCD_LOCATOR = 0x07064b50;
const ZIP64_EOCD = 0x06064b50;
const EOCD_SIZE = 22;
const MAX_COMMENT = 0xffff;
const TAIL_BYTES = EOCD_SIZE + MAX_COMMENT + 20 + 56;
/** A central directory larger than this (some 300,000 entries) is not read into memory. */
export const MAX_CENTRAL_DIRECTORY_BYTES = 32 * 1024 * 1024;
const HASH_PREFIX = 'botvault-content-v1\n';

/** Random access to an archive's bytes: `read(start, end)` streams bytes [start, end). */
export interface ByteSource {
  readonly size: number;
  read(start: number, end: number): Promise<AsyncIterable<Buffer>>;
}

export interface ZipEntry {
  /** The name as stored (bytes); `name` decodes it (UTF-8 when flagged, else latin1). */
  rawName: Buffer;
  name: string;
  flags: number;
  method: number;
  crc32: number;
  compressedSize: number;
  uncompressedSize: number;
  localHeaderOffset: number;
}

/** The archive's entries cannot be hashed (encrypted, unknown method): change detection does not apply. */
export class NotHashableError extends Error {
  override readonly name = 'NotHashableError';
}

function corrupt(reason: string): DownloadIntegrityError {
  return new DownloadIntegrityError(`The stored archive failed the content check: ${reason}.`);
}

/** A read of the byte source came back short: a transport problem, not a property of the archive. */
export class ShortReadError extends Error {
  override readonly name = 'ShortReadError';
}

async function readAll(src: ByteSource, start: number, end: number): Promise<Buffer> {
  const parts: Buffer[] = [];
  for await (const chunk of await src.read(start, end)) parts.push(Buffer.from(chunk));
  const buf = Buffer.concat(parts);
  if (buf.length !== end - start) throw new ShortReadError(`A read of bytes ${start}-${end} returned ${buf.length} bytes.`);
  return buf;
}

/** Reads the central directory through the End Of Central Directory record (zip64 aware). */
export async function readZipIndex(src: ByteSource): Promise<ZipIndex> {
  const tailStart = Math.max(0, src.size - TAIL_BYTES);
  const tail = await readAll(src, tailStart, src.size);
  let eocdAt = -1;
  for (let at = tail.length - EOCD_SIZE; at >= Math.max(0, tail.length - EOCD_SIZE - MAX_COMMENT); at--) {
    if (tail.readUInt32LE(at) === EOCD && at + EOCD_SIZE + tail.readUInt16LE(at + 20) === tail.length) {
      eocdAt = at;
      break;
    }
  }
  if (eocdAt < 0) throw corrupt('no End Of Central Directory record');
  let count = tail.readUInt16LE(eocdAt + 10);
  let cdSize = tail.readUInt32LE(eocdAt + 12);
  let cdOffset = tail.readUInt32LE(eocdAt + 16);
  const locatorAt = eocdAt - 20;
  if (locatorAt >= 0 && tail.readUInt32LE(locatorAt) === ZIP64_EOCD_LOCATOR) {
    const recordAt = Number(tail.readBigUInt64LE(locatorAt + 8)) - tailStart;
    if (recordAt < 0 || recordAt + 56 > locatorAt || tail.readUInt32LE(recordAt) !== ZIP64_EOCD) throw corrupt('the zip64 End Of Central Directory record is missing');
    count = Number(tail.readBigUInt64LE(recordAt + 32));
    cdSize = Number(tail.readBigUInt64LE(recordAt + 40));
    cdOffset = Number(tail.readBigUInt64LE(recordAt + 48));
  }
  if (cdSize > MAX_CENTRAL_DIRECTORY_BYTES) throw new NotHashableError(`the central directory is ${cdSize} bytes, more than ${MAX_CENTRAL_DIRECTORY_BYTES} are read into memory`);
  if (cdOffset + cdSize > src.size) throw corrupt('the central directory lies beyond the end of the archive');
  const cd = cdOffset >= tailStart ? tail.subarray(cdOffset - tailStart, cdOffset - tailStart + cdSize) : await readAll(src, cdOffset, cdOffset + cdSize);

  const entries: ZipEntry[] = [];
  let at = 0;
  for (let i = 0; i < count; i++) {
    if (at + 46 > cd.length || cd.readUInt32LE(at) !== CENTRAL_DIR_HEADER) throw corrupt(`central directory entry ${i + 1} of ${count} is damaged`);
    const nameLen = cd.readUInt16LE(at + 28);
    const extraLen = cd.readUInt16LE(at + 30);
    const commentLen = cd.readUInt16LE(at + 32);
    const flags = cd.readUInt16LE(at + 8);
    const rawName = Buffer.from(cd.subarray(at + 46, at + 46 + nameLen));
    let uncompressedSize = cd.readUInt32LE(at + 24);
    let compressedSize = cd.readUInt32LE(at + 20);
    let localHeaderOffset = cd.readUInt32LE(at + 42);
    // zip64: the fields stored as 0xFFFFFFFF follow, in this order, in the extra field with id 1.
    if (uncompressedSize === 0xffffffff || compressedSize === 0xffffffff || localHeaderOffset === 0xffffffff) {
      const extra = cd.subarray(at + 46 + nameLen, at + 46 + nameLen + extraLen);
      for (let e = 0; e + 4 <= extra.length; ) {
        const id = extra.readUInt16LE(e);
        const len = extra.readUInt16LE(e + 2);
        if (id === 1) {
          let f = e + 4;
          const next = () => {
            if (f + 8 > e + 4 + len) throw corrupt(`the zip64 extra field of entry ${i + 1} is too short`);
            const v = Number(extra.readBigUInt64LE(f));
            f += 8;
            return v;
          };
          if (uncompressedSize === 0xffffffff) uncompressedSize = next();
          if (compressedSize === 0xffffffff) compressedSize = next();
          if (localHeaderOffset === 0xffffffff) localHeaderOffset = next();
        }
        e += 4 + len;
      }
    }
    entries.push({
      rawName,
      name: rawName.toString(flags & 0x800 ? 'utf8' : 'latin1'),
      flags,
      method: cd.readUInt16LE(at + 10),
      crc32: cd.readUInt32LE(at + 16),
      compressedSize,
      uncompressedSize,
      localHeaderOffset,
    });
    at += 46 + nameLen + extraLen + commentLen;
  }
  return new ZipIndex(src, entries, cdOffset);
}

/** Pulls exact byte counts from a sequential stream. */
class Cursor {
  private buf = Buffer.alloc(0);
  /** Absolute offset of buf[0]. */
  offset: number;
  private readonly it: AsyncIterator<Buffer>;

  constructor(stream: AsyncIterable<Buffer>, start: number) {
    this.it = stream[Symbol.asyncIterator]();
    this.offset = start;
  }

  private async more(): Promise<void> {
    const next = await this.it.next();
    if (next.done) throw new ShortReadError(`The read ended early, at byte ${this.offset + this.buf.length}.`);
    this.buf = this.buf.length ? Buffer.concat([this.buf, next.value]) : Buffer.from(next.value);
  }

  async take(n: number): Promise<Buffer> {
    while (this.buf.length < n) await this.more();
    const out = this.buf.subarray(0, n);
    this.buf = this.buf.subarray(n);
    this.offset += n;
    return out;
  }

  /** Yields the next n bytes in the chunks they arrive in. */
  async *chunks(n: number): AsyncGenerator<Buffer> {
    let left = n;
    while (left > 0) {
      if (this.buf.length === 0) await this.more();
      const piece = this.buf.subarray(0, Math.min(left, this.buf.length));
      this.buf = this.buf.subarray(piece.length);
      this.offset += piece.length;
      left -= piece.length;
      yield piece;
    }
  }

  async skipTo(offset: number): Promise<void> {
    // Entries sharing or overlapping data: legal for a zip reader, but not a layout one sequential walk can hash.
    if (offset < this.offset) throw new NotHashableError(`entries overlap at byte ${offset}`);
    for await (const _ of this.chunks(offset - this.offset)) {
      // skipped: data descriptors or padding between entries
    }
  }

  async close(): Promise<void> {
    await this.it.return?.();
  }
}

/** Inflates (or passes) one entry's data into `sink`, checking its size and CRC-32 against the central directory. */
async function unpack(entry: ZipEntry, data: AsyncIterable<Buffer>, sink: (chunk: Buffer) => void): Promise<void> {
  let size = 0;
  let crc = 0;
  const take = (chunk: Buffer) => {
    size += chunk.length;
    if (size > entry.uncompressedSize) throw corrupt(`entry ${entry.name} inflates beyond its declared ${entry.uncompressedSize} bytes`);
    crc = crc32(chunk, crc);
    sink(chunk);
  };
  if (entry.method === 0) {
    for await (const chunk of data) take(chunk);
  } else {
    const inflate = createInflateRaw();
    let failure: Error | undefined;
    inflate.on('data', (chunk: Buffer) => {
      try {
        take(chunk);
      } catch (err) {
        failure = err as Error;
        inflate.destroy(failure);
      }
    });
    const ended = once(inflate, 'end');
    ended.catch(() => undefined);
    try {
      for await (const chunk of data) {
        if (inflate.destroyed) break;
        if (!inflate.write(chunk)) await Promise.race([once(inflate, 'drain'), ended]);
      }
      if (!inflate.destroyed) inflate.end();
      await ended;
    } catch (err) {
      inflate.destroy();
      if (failure) throw failure;
      // zlib's own errors (Z_DATA_ERROR, ...) mean bad deflate data; anything else came from reading the source.
      if (String((err as { code?: unknown }).code ?? '').startsWith('Z_')) throw corrupt(`entry ${entry.name} does not inflate: ${(err as Error).message}`);
      throw err;
    }
  }
  if (size !== entry.uncompressedSize) throw corrupt(`entry ${entry.name} holds ${size} bytes, its header declares ${entry.uncompressedSize}`);
  if (crc >>> 0 !== entry.crc32 >>> 0) throw corrupt(`entry ${entry.name} fails its CRC-32 check`);
}

export class ZipIndex {
  constructor(
    private readonly src: ByteSource,
    readonly entries: readonly ZipEntry[],
    /** Where the central directory starts (the entries' data lie before it). */
    private readonly dataEnd: number,
  ) {}

  /** Why the entries cannot be hashed, or undefined when they can. */
  get notHashable(): string | undefined {
    if (this.entries.some((e) => e.flags & 1)) return 'its entries are encrypted';
    const odd = this.entries.find((e) => e.method !== 0 && e.method !== 8);
    if (odd) return `entry ${odd.name} uses compression method ${odd.method}`;
    return undefined;
  }

  /** The content hash (see the file comment): one sequential read of the data region. */
  async contentSha256(): Promise<string> {
    const why = this.notHashable;
    if (why) throw new NotHashableError(`The archive has no content hash: ${why}.`);
    const digests: { rawName: Buffer; hex: string }[] = [];
    const ordered = [...this.entries].sort((a, b) => a.localHeaderOffset - b.localHeaderOffset);
    if (ordered.length > 0) {
      const cursor = new Cursor(await this.src.read(0, this.dataEnd), 0);
      try {
        for (const entry of ordered) {
          await cursor.skipTo(entry.localHeaderOffset);
          await this.localData(cursor, entry);
          const hash = createHash('sha256');
          await unpack(entry, cursor.chunks(entry.compressedSize), (c) => hash.update(c));
          digests.push({ rawName: entry.rawName, hex: hash.digest('hex') });
        }
      } finally {
        await cursor.close();
      }
    }
    digests.sort((a, b) => Buffer.compare(a.rawName, b.rawName) || a.hex.localeCompare(b.hex));
    const total = createHash('sha256').update(HASH_PREFIX);
    for (const d of digests) total.update(d.rawName).update('\0').update(d.hex).update('\n');
    return total.digest('hex');
  }

  /**
   * One entry's uncompressed bytes (two small range reads), or undefined when
   * there is no such entry or it is larger than `maxBytes`.
   */
  async readEntry(name: string, maxBytes: number): Promise<Buffer | undefined> {
    const entry = this.entries.find((e) => e.name === name);
    if (!entry || entry.uncompressedSize > maxBytes || this.notHashable) return undefined;
    const header = await readAll(this.src, entry.localHeaderOffset, entry.localHeaderOffset + 30);
    const cursor = new Cursor((async function* () {
      yield header;
    })(), entry.localHeaderOffset);
    const dataAt = await this.localData(cursor, entry, true);
    const data = new Cursor(await this.src.read(dataAt, dataAt + entry.compressedSize), dataAt);
    const parts: Buffer[] = [];
    try {
      await unpack(entry, data.chunks(entry.compressedSize), (c) => parts.push(Buffer.from(c)));
    } finally {
      await data.close();
    }
    return Buffer.concat(parts);
  }

  /** Reads the local header at the cursor; returns the offset its data start at (the cursor is there unless headerOnly). */
  private async localData(cursor: Cursor, entry: ZipEntry, headerOnly = false): Promise<number> {
    const header = await cursor.take(30);
    if (header.readUInt32LE(0) !== LOCAL_FILE_HEADER) throw corrupt(`no local header for entry ${entry.name} at byte ${entry.localHeaderOffset}`);
    const skip = header.readUInt16LE(26) + header.readUInt16LE(28);
    const dataAt = entry.localHeaderOffset + 30 + skip;
    if (dataAt + entry.compressedSize > this.dataEnd) throw corrupt(`entry ${entry.name} runs into the central directory`);
    if (!headerOnly) await cursor.skipTo(dataAt);
    return dataAt;
  }
}

/** A ByteSource over one S3 object version (range GETs). */
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

/** A ByteSource over bytes in memory (tests, small archives). */
export function bufferByteSource(data: Buffer): ByteSource {
  return {
    size: data.length,
    async read(start, end) {
      const slice = data.subarray(start, end);
      return (async function* () {
        for (let at = 0; at < slice.length; at += 16 * 1024) yield slice.subarray(at, at + 16 * 1024);
      })();
    },
  };
}
