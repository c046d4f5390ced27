/**
 * A streaming plausibility check for zip archives, in flat memory.
 *
 * Zip libraries want random access (they read the central directory at the end
 * first), but the archive arrives as a stream we forward to S3 without holding
 * it. What we can check on the fly is enough to catch the failures that matter
 * here (a body cut short, an HTML error page, an empty body):
 *  - the first bytes are a local file header;
 *  - the End Of Central Directory record (EOCD) is in the last 64 KiB + 22
 *    bytes (its comment is at most 65,535 bytes), so only that tail is kept;
 *  - the central directory ends exactly where the EOCD (or the zip64 EOCD
 *    record) begins, and lists at least one entry;
 *  - when the central directory lies inside the kept tail (most bot exports),
 *    every entry header is walked and counted.
 * A truncated archive loses its EOCD, so the check fails; a body cut exactly at
 * an entry boundary still has no EOCD. Hand-written: ~100 lines beats pulling a
 * zip library into every Lambda bundle for a check it cannot do on a stream.
 */
import { DownloadIntegrityError } from './errors';

const LOCAL_FILE_HEADER = 0x04034b50;
const CENTRAL_DIR_HEADER = 0x02014b50;
const EOCD = 0x06054b50;
const ZIP64_EOCD_LOCATOR = 0x07064b50;
const ZIP64_EOCD = 0x06064b50;
const EOCD_SIZE = 22;
const MAX_COMMENT = 0xffff;
const ZIP64_LOCATOR_SIZE = 20;
const ZIP64_EOCD_SIZE = 56;

/** The EOCD with its longest comment, plus the zip64 locator and record that precede it. */
export const DEFAULT_TAIL_BYTES = EOCD_SIZE + MAX_COMMENT + ZIP64_LOCATOR_SIZE + ZIP64_EOCD_SIZE;

export interface ZipSummary {
  /** Entries the central directory declares. */
  entries: number;
  /** True when the central directory was inside the kept tail and every entry header was checked. */
  walked: boolean;
  zip64: boolean;
}

export class ZipStreamCheck {
  private readonly ring: Buffer;
  private pos = 0;
  private filled = 0;
  private head = Buffer.alloc(0);
  private total = 0;

  constructor(private readonly tailBytes = DEFAULT_TAIL_BYTES) {
    this.ring = Buffer.alloc(tailBytes);
  }

  /** Bytes seen so far. */
  get bytes(): number {
    return this.total;
  }

  /** Feeds the next chunk; throws as soon as the first four bytes are not a local file header. */
  update(chunk: Buffer): void {
    if (chunk.length === 0) return;
    if (this.head.length < 4) {
      this.head = Buffer.concat([this.head, chunk.subarray(0, 4 - this.head.length)]);
      if (this.head.length === 4 && this.head.readUInt32LE(0) !== LOCAL_FILE_HEADER) {
        throw fail(`not a zip archive: it starts with ${describeStart(this.head)} instead of a local file header (PK\\x03\\x04)`);
      }
    }
    this.total += chunk.length;
    this.remember(chunk);
  }

  /** Checks the end of the archive; call once after the last chunk. */
  finish(): ZipSummary {
    if (this.total === 0) throw fail('the body is empty (0 bytes)');
    if (this.total < 4) throw fail(`the body is only ${this.total} bytes: too short for a zip archive`);
    const tail = this.tail();
    const tailStart = this.total - tail.length;

    const eocdAt = findEocd(tail);
    if (eocdAt < 0) throw fail(`no End Of Central Directory record in the last ${tail.length} bytes of ${this.total}: the archive is truncated or not a zip`);
    const diskNumber = tail.readUInt16LE(eocdAt + 4);
    const cdDisk = tail.readUInt16LE(eocdAt + 6);
    let entries = tail.readUInt16LE(eocdAt + 10);
    let cdSize = tail.readUInt32LE(eocdAt + 12);
    let cdOffset = tail.readUInt32LE(eocdAt + 16);
    let cdEnd = tailStart + eocdAt;
    let zip64 = false;

    // A zip64 archive stores 0xFFFF/0xFFFFFFFF here and the real values in the zip64 EOCD record,
    // found through the locator right before the EOCD. Some writers emit the locator even when
    // nothing overflows; its presence alone is enough to use it.
    const locatorAt = eocdAt - ZIP64_LOCATOR_SIZE;
    if (locatorAt >= 0 && tail.readUInt32LE(locatorAt) === ZIP64_EOCD_LOCATOR) {
      zip64 = true;
      const recordOffset = Number(tail.readBigUInt64LE(locatorAt + 8));
      const recordAt = recordOffset - tailStart;
      if (recordAt < 0 || recordAt + ZIP64_EOCD_SIZE > locatorAt || tail.readUInt32LE(recordAt) !== ZIP64_EOCD) {
        throw fail(`the zip64 End Of Central Directory record is not where its locator says (offset ${recordOffset})`);
      }
      entries = Number(tail.readBigUInt64LE(recordAt + 32));
      cdSize = Number(tail.readBigUInt64LE(recordAt + 40));
      cdOffset = Number(tail.readBigUInt64LE(recordAt + 48));
      cdEnd = recordOffset;
    } else {
      if (entries === 0xffff || cdSize === 0xffffffff || cdOffset === 0xffffffff) {
        throw fail('the archive needs zip64 fields but has no zip64 End Of Central Directory locator');
      }
      if (diskNumber !== 0 || cdDisk !== 0) throw fail('multi-volume (split) zip archives are not supported');
    }

    if (cdOffset + cdSize !== cdEnd) {
      throw fail(`the central directory (offset ${cdOffset} + size ${cdSize}) does not end at the End Of Central Directory record (offset ${cdEnd}): the archive is truncated or corrupt`);
    }
    if (entries < 1) throw fail('the archive has no entries');

    let walked = false;
    if (cdOffset >= tailStart) {
      let at = cdOffset - tailStart;
      const end = cdEnd - tailStart;
      for (let i = 0; i < entries; i++) {
        if (at + 46 > end || tail.readUInt32LE(at) !== CENTRAL_DIR_HEADER) {
          throw fail(`central directory entry ${i + 1} of ${entries} is missing or damaged`);
        }
        at += 46 + tail.readUInt16LE(at + 28) + tail.readUInt16LE(at + 30) + tail.readUInt16LE(at + 32);
      }
      if (at !== end) throw fail(`the central directory holds more than the ${entries} entries it declares`);
      walked = true;
    }
    return { entries, walked, zip64 };
  }

  /** Keeps the last `tailBytes` bytes in a ring buffer: memory stays flat whatever the archive size. */
  private remember(chunk: Buffer): void {
    const cap = this.tailBytes;
    if (chunk.length >= cap) {
      chunk.copy(this.ring, 0, chunk.length - cap);
      this.pos = 0;
      this.filled = cap;
      return;
    }
    const first = Math.min(chunk.length, cap - this.pos);
    chunk.copy(this.ring, this.pos, 0, first);
    if (first < chunk.length) chunk.copy(this.ring, 0, first);
    this.pos = (this.pos + chunk.length) % cap;
    this.filled = Math.min(cap, this.filled + chunk.length);
  }

  private tail(): Buffer {
    if (this.filled < this.tailBytes) return this.ring.subarray(0, this.filled);
    return Buffer.concat([this.ring.subarray(this.pos), this.ring.subarray(0, this.pos)]);
  }
}

/** Checks a whole archive in memory (tests, small files). */
export function checkZip(data: Buffer, tailBytes?: number): ZipSummary {
  const check = new ZipStreamCheck(tailBytes);
  check.update(data);
  return check.finish();
}

/** The last EOCD whose comment length matches the bytes that follow it, or -1. */
function findEocd(tail: Buffer): number {
  const lowest = Math.max(0, tail.length - EOCD_SIZE - MAX_COMMENT);
  for (let at = tail.length - EOCD_SIZE; at >= lowest; at--) {
    if (tail.readUInt32LE(at) === EOCD && at + EOCD_SIZE + tail.readUInt16LE(at + 20) === tail.length) return at;
  }
  return -1;
}

function describeStart(head: Buffer): string {
  const printable = head.toString('latin1').replace(/[^\x20-\x7e]/g, '.');
  return `"${printable}" (0x${head.toString('hex')})`;
}

function fail(reason: string): DownloadIntegrityError {
  return new DownloadIntegrityError(`Downloaded archive failed the zip check: ${reason}.`);
}
