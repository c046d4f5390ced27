/**
 * Zips written by hand (APPNOTE 4.3.7 local header, 4.3.12 central header,
 * 4.3.16 end of central directory; no data descriptor), so that a test can
 * make the headers say what the data is not: any bytes as a name, any CRC-32
 * and sizes. A real zip tool would refuse to write most of what the reader
 * tests need (test/archive/zip.test.ts, test/generators/zip-bomb.ts).
 */
import { crc32 } from 'node:zlib';

export interface RawEntry {
  readonly name: string | Buffer;
  /** The entry's data as stored: raw bytes (method 0) or a raw deflate stream (method 8). */
  readonly data: Buffer;
  readonly method: 0 | 8;
  /** @default crc32(data) (right for method 0 only) */
  readonly crc?: number;
  /** The uncompressed size declared. @default data.length */
  readonly size?: number;
}

export function rawZip(entries: readonly RawEntry[]): Buffer {
  const locals: Buffer[] = [];
  const centrals: Buffer[] = [];
  let offset = 0;
  for (const e of entries) {
    const name = Buffer.isBuffer(e.name) ? e.name : Buffer.from(e.name);
    const crc = (e.crc ?? crc32(e.data)) >>> 0;
    const size = e.size ?? e.data.length;
    const local = Buffer.alloc(30);
    local.writeUInt32LE(0x04034b50, 0);
    local.writeUInt16LE(20, 4);
    local.writeUInt16LE(e.method, 8);
    local.writeUInt32LE(crc, 14);
    local.writeUInt32LE(e.data.length, 18);
    local.writeUInt32LE(size, 22);
    local.writeUInt16LE(name.length, 26);
    const central = Buffer.alloc(46);
    central.writeUInt32LE(0x02014b50, 0);
    central.writeUInt16LE(20, 4);
    central.writeUInt16LE(20, 6);
    central.writeUInt16LE(e.method, 10);
    central.writeUInt32LE(crc, 16);
    central.writeUInt32LE(e.data.length, 20);
    central.writeUInt32LE(size, 24);
    central.writeUInt16LE(name.length, 28);
    central.writeUInt32LE(offset, 42);
    locals.push(local, name, e.data);
    centrals.push(central, name);
    offset += 30 + name.length + e.data.length;
  }
  const cd = Buffer.concat(centrals);
  const eocd = Buffer.alloc(22);
  eocd.writeUInt32LE(0x06054b50, 0);
  eocd.writeUInt16LE(entries.length, 8);
  eocd.writeUInt16LE(entries.length, 10);
  eocd.writeUInt32LE(cd.length, 12);
  eocd.writeUInt32LE(offset, 16);
  return Buffer.concat([...locals, cd, eocd]);
}
