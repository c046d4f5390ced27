/**
 * The one way BotVault reads a zip archive: StoreArchive (checks and the
 * content hash of every download), the restore drill, and the CLI's `diff`,
 * `get --extract` and `restore` all open archives here.
 *
 * The parsing is @zip.js/zip.js (BSD-3, maintained, no dependencies): it reads
 * the central directory, checks each entry's local header, bounds, data
 * descriptor and that it overlaps no other, and decrypts both encryptions a
 * password-protected Lex export may use — traditional PKWARE "ZipCrypto" and
 * WinZip AES (Lex's documentation says only "standard .zip file compression";
 * which cipher it uses is unconfirmed, README "Export formats"), checking the
 * CRC-32 and size (or, for WinZip AES, the authentication code). A plain
 * stored or deflated entry, which is what real exports hold, is inflated and
 * CRC-checked with Node's zlib instead (unpackNative says why). It reads
 * through a `Reader` over a ByteSource, so an archive in S3 is read by range
 * GETs in 1 MiB blocks (sequential entries share them: one GET per MiB, not
 * one per entry) and never held whole; memory stays at a few blocks.
 *
 * Content hash (`content-sha256` metadata): SHA-256 over the archive's file
 * entries sorted by their raw name bytes, each contributing the name's length
 * (4 bytes, big-endian), the name's raw bytes and the 32-byte SHA-256 of its
 * content, after the prefix `botvault-content-v3 LF`. Length-prefixed, so no
 * entry name can pass for a name-and-digest boundary: v2 joined
 * `name NUL hex LF`, and a name holding NUL and LF made a one-entry archive
 * hash like a two-entry one (a change then reported UNCHANGED).
 * The content of an entry named `*.json` that parses as JSON (and is at most
 * MAX_CANONICAL_JSON_BYTES) is its canonical JSON (keys sorted, no
 * whitespace: canonical-json.ts); any other entry's is its uncompressed
 * bytes. Timestamps, entry order, JSON key order and whitespace,
 * compression, encryption and extra fields do not count, so two exports of an
 * unchanged bot hash the same even though Lex stamps every export with its
 * time, orders entries and object keys differently from one export to the
 * next — and an encrypted export hashes like its plaintext. (v1, until
 * 2026-12, hashed the raw bytes of every entry; v2 had the joining above.
 * A stored hash of an older version never equals a v3 one, so the first
 * backup after each change stores one new version of each bot, once.)
 */
import { createHash } from 'node:crypto';
import { createInflateRaw, crc32 } from 'node:zlib';
// The reader-only entry point: the library's writer (a third of its size) is not bundled.
import {
  ERR_ENCRYPTED,
  ERR_INVALID_COMPRESSED_DATA,
  ERR_INVALID_CRC32,
  ERR_INVALID_PASSWORD,
  ERR_INVALID_UNCOMPRESSED_SIZE,
  ERR_UNSUPPORTED_COMPRESSION,
  ERR_UNSUPPORTED_ENCRYPTION,
  ZipReader,
  type Entry,
  type FileEntry,
  type Reader,
} from '@zip.js/zip.js/lib/zip-core-reader.js';
import { bufferByteSource, readRange, ShortReadError, type ByteSource } from './byte-source';
import { canonicalJson } from './canonical-json';
import { type ArchiveLimits, DEFAULT_ARCHIVE_LIMITS, limitProblem } from './limits';
import { drained } from '../drained';

/** The archive is not a sound zip: no central directory, a bad CRC-32 or size, broken deflate data, a forged entry. */
export class ZipArchiveError extends Error {
  override readonly name = 'ZipArchiveError';
}

/** The archive's entries are encrypted and no password, or the wrong one, was given. */
export class ZipPasswordError extends Error {
  override readonly name = 'ZipPasswordError';
}

/** The entries use an encryption or compression method the reader does not implement. */
export class ZipUnsupportedError extends Error {
  override readonly name = 'ZipUnsupportedError';
}

export interface ArchiveEntry {
  /** The name, decoded (UTF-8 when flagged, else CP437). */
  readonly name: string;
  /** The name as stored: the content hash orders by these bytes. */
  readonly rawName: Uint8Array;
  readonly size: number;
  readonly compressedSize: number;
  readonly encrypted: boolean;
  /** AES (WinZip) or ZipCrypto, when encrypted. */
  readonly encryption?: 'aes' | 'zipcrypto';
}

export interface OpenOptions {
  /** Decrypts password-protected entries; never logged, never in an error. */
  readonly password?: string;
  /** What the archive may unpack to, checked before anything is inflated. @default DEFAULT_ARCHIVE_LIMITS */
  readonly limits?: ArchiveLimits;
}

const HASH_PREFIX = 'botvault-content-v3\n';
/** JSON entries up to this size are hashed by their canonical form; larger ones (none in a real bot) by their bytes. */
const MAX_CANONICAL_JSON_BYTES = 64 * 1024 * 1024;
const BLOCK_BYTES = 1024 * 1024;
/** Inflater output chunks (unpackNative). */
const INFLATE_CHUNK_BYTES = 1024 * 1024;
/** Compression methods read with Node's zlib (unpackNative); any other goes through zip.js. */
const STORED = 0;
const DEFLATED = 8;
const CACHED_BLOCKS = 4;

/**
 * A zip.js reader over a ByteSource: 1 MiB blocks, the last few kept, so
 * headers and small entries cost no extra request. It implements the
 * interface zip.js reads through (`size`, `readUint8Array`, `createReadable`)
 * rather than extending its Reader class, which the reader-only entry point
 * does not export.
 */
class ByteSourceReader {
  /** The first error of the source itself (a failed range GET): a transport failure, not a bad archive. */
  failure: unknown;
  readonly size: number;
  private readonly blocks = new Map<number, Promise<Uint8Array>>();

  constructor(private readonly src: ByteSource) {
    this.size = src.size;
  }

  /**
   * The bytes [offset, offset + size) as a stream of chunks (zip.js reads
   * entry data this way). Data larger than a block is streamed by one range
   * read of its own, so a large entry costs one request, not one per MiB;
   * smaller data comes from the shared blocks.
   */
  createReadable({
    offset = 0,
    size = this.size - offset,
    chunkSize = 512 * 1024,
  }: {
    offset?: number;
    size?: number;
    chunkSize?: number;
  } = {}): ReadableStream<Uint8Array> {
    if (size > BLOCK_BYTES && !this.src.slice) return this.streamed(offset, Math.min(offset + size, this.size));
    let done = 0;
    return new ReadableStream<Uint8Array>({
      pull: async (controller) => {
        const chunk = await this.readUint8Array(offset + done, Math.min(chunkSize, size - done));
        if (chunk.length) controller.enqueue(chunk);
        done += chunk.length;
        if (done >= size || chunk.length === 0) controller.close();
      },
    });
  }

  private streamed(start: number, end: number): ReadableStream<Uint8Array> {
    let it: AsyncIterator<Uint8Array> | undefined;
    let got = 0;
    const fail = (err: unknown) => {
      this.failure ??= err;
      return err;
    };
    return new ReadableStream<Uint8Array>({
      pull: async (controller) => {
        try {
          it ??= (await this.src.read(start, end))[Symbol.asyncIterator]();
          const next = await it.next();
          if (next.done) {
            if (got !== end - start) throw new ShortReadError(`A read of bytes ${start}-${end} returned ${got} bytes.`);
            controller.close();
            return;
          }
          got += next.value.length;
          controller.enqueue(next.value);
        } catch (err) {
          controller.error(fail(err));
        }
      },
      cancel: async () => {
        await it?.return?.();
      },
    });
  }

  /** The bytes [start, end) in chunks: one streamed range read when large, else from the shared blocks. */
  async *chunks(start: number, end: number): AsyncGenerator<Uint8Array> {
    if (this.src.slice) {
      if (end > start) yield this.src.slice(start, end);
      return;
    }
    if (end - start <= BLOCK_BYTES) {
      if (end > start) yield await this.readUint8Array(start, end - start);
      return;
    }
    let got = 0;
    try {
      for await (const chunk of await this.src.read(start, end)) {
        got += chunk.length;
        yield chunk;
      }
    } catch (err) {
      this.failure ??= err;
      throw err;
    }
    if (got !== end - start) {
      this.failure ??= new ShortReadError(`A read of bytes ${start}-${end} returned ${got} bytes.`);
      throw this.failure;
    }
  }

  async readUint8Array(index: number, length: number): Promise<Uint8Array> {
    const end = Math.min(index + length, this.size);
    if (end <= index) return new Uint8Array(0);
    try {
      if (this.src.slice) return this.src.slice(index, end);
      const first = Math.floor(index / BLOCK_BYTES);
      const last = Math.floor((end - 1) / BLOCK_BYTES);
      if (first === last) {
        const block = await this.block(first);
        return block.subarray(index - first * BLOCK_BYTES, end - first * BLOCK_BYTES);
      }
      const out = new Uint8Array(end - index);
      for (let b = first; b <= last; b++) {
        const block = await this.block(b);
        const from = Math.max(index, b * BLOCK_BYTES);
        const to = Math.min(end, (b + 1) * BLOCK_BYTES);
        out.set(block.subarray(from - b * BLOCK_BYTES, to - b * BLOCK_BYTES), from - index);
      }
      return out;
    } catch (err) {
      this.failure ??= err;
      throw err;
    }
  }

  private block(n: number): Promise<Uint8Array> {
    let hit = this.blocks.get(n);
    if (hit) {
      // Most recently used last: Map iteration order is insertion order.
      this.blocks.delete(n);
      this.blocks.set(n, hit);
      return hit;
    }
    hit = readRange(this.src, n * BLOCK_BYTES, Math.min(this.size, (n + 1) * BLOCK_BYTES));
    hit.catch(() => this.blocks.delete(n));
    this.blocks.set(n, hit);
    while (this.blocks.size > CACHED_BLOCKS) this.blocks.delete(this.blocks.keys().next().value!);
    return hit;
  }
}

/** Inflates a raw deflate stream of exactly `compressedSize` bytes into `take`, in 1 MiB chunks. */
async function inflateInto(input: AsyncIterable<Uint8Array>, compressedSize: number, take: (chunk: Uint8Array) => void, name: string): Promise<void> {
  const inflate = createInflateRaw({ chunkSize: INFLATE_CHUNK_BYTES });
  let failure: unknown;
  const ended = new Promise<void>((resolve, reject) => {
    inflate.on('data', (chunk: Buffer) => {
      try {
        take(chunk);
      } catch (err) {
        failure ??= err;
        inflate.destroy();
        reject(err);
      }
    });
    inflate.once('end', resolve);
    inflate.once('error', (err) => reject(failure ?? new ZipArchiveError(`entry ${name}: ${ERR_INVALID_COMPRESSED_DATA} (${err.message})`)));
    inflate.once('close', () => (failure ? reject(failure) : undefined));
  });
  ended.catch(() => undefined);
  try {
    for await (const chunk of input) {
      if (failure) break;
      if (!inflate.write(chunk)) await drained(inflate);
    }
  } catch (err) {
    inflate.destroy();
    throw err;
  }
  if (failure) throw failure;
  inflate.end();
  await ended;
  // zlib stops at the deflate stream's end and ignores what follows: the stream must fill the entry exactly.
  if (inflate.bytesWritten !== compressedSize) {
    throw new ZipArchiveError(
      `entry ${name}: ${ERR_INVALID_COMPRESSED_DATA} (the deflate stream ends after ${inflate.bytesWritten} of ${compressedSize} bytes)`,
    );
  }
}

function isFile(e: Entry): e is FileEntry {
  return !e.directory;
}

export class ZipArchive {
  private constructor(
    private readonly reader: ByteSourceReader,
    private readonly zip: ZipReader<unknown>,
    private readonly files: readonly FileEntry[],
    private readonly password: string | undefined,
  ) {}

  /** Opens an archive by its central directory; throws ZipArchiveError when there is none to read. */
  static async open(src: ByteSource, opts: OpenOptions = {}): Promise<ZipArchive> {
    const reader = new ByteSourceReader(src);
    // Checked at runtime by zip.js's duck typing; its types only name its own Reader class.
    const zip = new ZipReader(reader as unknown as Reader<unknown>, { useWebWorkers: false, checkSignature: true });
    try {
      const entries = await zip.getEntries();
      const files = entries.filter(isFile);
      const problem = limitProblem(
        files.map((e) => ({ size: e.uncompressedSize, compressedSize: e.compressedSize })),
        opts.limits ?? DEFAULT_ARCHIVE_LIMITS,
      );
      if (problem) throw new ZipArchiveError(`the archive is refused before unpacking: ${problem}`);
      return new ZipArchive(reader, zip, files, opts.password);
    } catch (err) {
      throw classify(err, reader);
    }
  }

  /** Every file entry (directory entries are left out), in central-directory order. */
  get entries(): ArchiveEntry[] {
    return this.files.map((e) => ({
      name: e.filename,
      rawName: e.rawFilename,
      size: e.uncompressedSize,
      compressedSize: e.compressedSize,
      encrypted: e.encrypted,
      ...(e.encrypted ? { encryption: e.zipCrypto ? ('zipcrypto' as const) : ('aes' as const) } : {}),
    }));
  }

  /** True when any entry is password-protected. */
  get encrypted(): boolean {
    return this.files.some((e) => e.encrypted);
  }

  /** Streams one entry's plaintext into `sink`, checking its CRC-32 (or AES authentication code) and size. */
  private async unpack(entry: FileEntry, sink: (chunk: Uint8Array) => void): Promise<void> {
    if (entry.encrypted && this.password === undefined) {
      throw new ZipPasswordError(`entry ${entry.filename} is encrypted and no password was given`);
    }
    if (!entry.encrypted && (entry.compressionMethod === STORED || entry.compressionMethod === DEFLATED)) {
      try {
        await this.unpackNative(entry, sink);
      } catch (err) {
        throw classify(err, this.reader, entry.filename);
      }
      return;
    }
    try {
      await entry.getData(
        new WritableStream<Uint8Array>({
          write(chunk) {
            sink(chunk);
          },
        }),
        this.password !== undefined && entry.encrypted ? { password: this.password } : {},
      );
    } catch (err) {
      throw classify(err, this.reader, entry.filename);
    }
  }

  /**
   * A plain (unencrypted) stored or deflated entry, the kind every real export
   * is made of (README "Export formats"), read with Node's own zlib and
   * CRC-32. zip.js still checks where the entry is: its local header against
   * the central directory, its data within the archive and overlapping no
   * other entry read, its data descriptor (`checkOverlappingEntryOnly` runs
   * those checks and reads no data). Only the bytes then go through zlib
   * here, not through zip.js's web streams, which inflated 100 MiB in 0.8 s
   * against 0.1 s here (measured with test/bench's archives). The checks on
   * the data are the same: the deflate stream must end exactly at the
   * entry's compressed size, its output be exactly the uncompressed size
   * (never more is inflated: a bomb stops there), and its CRC-32 match.
   */
  private async unpackNative(entry: FileEntry, sink: (chunk: Uint8Array) => void): Promise<void> {
    await entry.getData(new WritableStream(), { checkOverlappingEntryOnly: true });
    const dataOffset = entry.localDirectory?.dataOffset;
    if (dataOffset === undefined) throw new ZipArchiveError(`entry ${entry.filename}: its local header was not read`);
    const expected = entry.uncompressedSize;
    let produced = 0;
    let crc = 0;
    const take = (chunk: Uint8Array) => {
      produced += chunk.length;
      if (produced > expected) throw new ZipArchiveError(`entry ${entry.filename}: ${ERR_INVALID_UNCOMPRESSED_SIZE} (more than ${expected} bytes)`);
      crc = crc32(chunk, crc);
      sink(chunk);
    };
    const compressed = this.reader.chunks(dataOffset, dataOffset + entry.compressedSize);
    if (entry.compressionMethod === STORED) {
      for await (const chunk of compressed) take(chunk);
    } else {
      await inflateInto(compressed, entry.compressedSize, take, entry.filename);
    }
    if (produced !== expected)
      throw new ZipArchiveError(`entry ${entry.filename}: ${ERR_INVALID_UNCOMPRESSED_SIZE} (${produced} of ${expected} bytes)`);
    if (entry.crc32 === undefined || crc >>> 0 !== entry.crc32 >>> 0) throw new ZipArchiveError(`entry ${entry.filename}: ${ERR_INVALID_CRC32}`);
  }

  /** One entry's bytes; undefined when there is no such file entry or it is larger than `maxBytes`. */
  async read(name: string, maxBytes = Number.MAX_SAFE_INTEGER): Promise<Buffer | undefined> {
    const entry = this.files.find((e) => e.filename === name);
    if (!entry || entry.uncompressedSize > maxBytes) return undefined;
    const parts: Uint8Array[] = [];
    await this.unpack(entry, (c) => parts.push(c));
    return Buffer.concat(parts);
  }

  /** The entries in the order their data lie in the archive (sequential reads share the cached blocks). */
  private inDataOrder(): FileEntry[] {
    return [...this.files].sort((a, b) => a.offset - b.offset);
  }

  /** Every file entry's bytes, name → bytes, in archive order, each one checked. Small archives only (the CLI). */
  async readAll(): Promise<Map<string, Buffer>> {
    const out = new Map<string, Buffer>();
    for (const entry of this.inDataOrder()) {
      const parts: Uint8Array[] = [];
      await this.unpack(entry, (c) => parts.push(c));
      out.set(entry.filename, Buffer.concat(parts));
    }
    return new Map(this.files.map((e) => [e.filename, out.get(e.filename)!]));
  }

  /** Reads every entry through its checks, keeping nothing: proves the archive unpacks. Returns the entries checked. */
  async verify(): Promise<number> {
    for (const entry of this.inDataOrder()) await this.unpack(entry, () => undefined);
    return this.files.length;
  }

  /** The content hash (see the file comment); every entry is checked on the way. */
  async contentSha256(): Promise<string> {
    const digests: { rawName: Uint8Array; digest: Buffer }[] = [];
    for (const entry of this.inDataOrder()) {
      const hash = createHash('sha256');
      if (/\.json$/i.test(entry.filename) && entry.uncompressedSize <= MAX_CANONICAL_JSON_BYTES) {
        const parts: Uint8Array[] = [];
        await this.unpack(entry, (c) => parts.push(c));
        const bytes = Buffer.concat(parts);
        hash.update(canonicalOrRaw(bytes));
      } else {
        await this.unpack(entry, (c) => hash.update(c));
      }
      digests.push({ rawName: entry.rawFilename, digest: hash.digest() });
    }
    digests.sort((a, b) => Buffer.compare(a.rawName, b.rawName) || Buffer.compare(a.digest, b.digest));
    const total = createHash('sha256').update(HASH_PREFIX);
    const length = Buffer.alloc(4);
    for (const d of digests) {
      length.writeUInt32BE(d.rawName.length, 0);
      total.update(length).update(d.rawName).update(d.digest);
    }
    return total.digest('hex');
  }

  async close(): Promise<void> {
    await this.zip.close();
  }
}

/** A JSON entry's canonical form; its bytes as they are when they do not parse. */
function canonicalOrRaw(bytes: Buffer): Buffer | string {
  try {
    return canonicalJson(JSON.parse(bytes.toString('utf8')));
  } catch {
    return bytes;
  }
}

/** Opens, runs `fn`, closes. */
export async function withZip<T>(src: ByteSource, opts: OpenOptions, fn: (zip: ZipArchive) => Promise<T>): Promise<T> {
  const zip = await ZipArchive.open(src, opts);
  try {
    return await fn(zip);
  } finally {
    await zip.close();
  }
}

/**
 * zip.js reports everything as a plain Error with a fixed message. A failure
 * of the source itself is passed on as it is (the caller may retry it); the
 * rest become named errors. Messages never carry the password.
 */
function classify(err: unknown, reader: ByteSourceReader, entry?: string): Error {
  if (reader.failure !== undefined) return reader.failure as Error;
  if (err instanceof ZipArchiveError || err instanceof ZipPasswordError || err instanceof ZipUnsupportedError) return err;
  const message = err instanceof Error ? err.message : String(err);
  const where = entry ? `entry ${entry}: ` : '';
  if (message === ERR_ENCRYPTED || message === ERR_INVALID_PASSWORD) {
    return new ZipPasswordError(
      `${where}${message === ERR_ENCRYPTED ? 'the entry is encrypted and no password was given' : 'the password does not decrypt it'}`,
    );
  }
  if (message === ERR_UNSUPPORTED_ENCRYPTION || message === ERR_UNSUPPORTED_COMPRESSION) return new ZipUnsupportedError(`${where}${message}`);
  return new ZipArchiveError(`${where}${message}`, { cause: err });
}

/** Every file entry of an archive held in memory, each one checked: name → bytes, in archive order. */
export function readZipEntries(data: Uint8Array, opts: OpenOptions = {}): Promise<Map<string, Buffer>> {
  return withZip(bufferByteSource(data), opts, (zip) => zip.readAll());
}
