/**
 * Zip bombs for the archive-limit tests: one entry of `mib` MiB of zeros,
 * deflated by stream (the test never holds the inflated bytes), with honest
 * headers (CRC-32 and sizes as the data is), so only the limits on what an
 * archive may unpack to (lib/core/archive/limits.ts) stop it. zlib deflates
 * zeros about 1,000:1, so 64 MiB is a 64 kB archive.
 */
import { once } from 'node:events';
import { crc32, createDeflateRaw } from 'node:zlib';

/** A zip of `entries` entries, each `mib` MiB of zeros, written by hand (APPNOTE 4.3.7, 4.3.12, 4.3.16; no data descriptor). */
export async function zipBomb(mib: number, entries = 1): Promise<Buffer> {
  const block = Buffer.alloc(1024 * 1024);
  const deflate = createDeflateRaw();
  const parts: Buffer[] = [];
  deflate.on('data', (c: Buffer) => parts.push(c));
  let crc = 0;
  for (let i = 0; i < mib; i++) {
    crc = crc32(block, crc);
    if (!deflate.write(block)) await once(deflate, 'drain');
  }
  deflate.end();
  await once(deflate, 'end');
  const data = Buffer.concat(parts);
  const size = mib * 1024 * 1024;
  const locals: Buffer[] = [];
  const centrals: Buffer[] = [];
  let offset = 0;
  for (let i = 0; i < entries; i++) {
    const name = Buffer.from(`Bot/Blob${i}.bin`);
    const local = Buffer.alloc(30);
    local.writeUInt32LE(0x04034b50, 0);
    local.writeUInt16LE(20, 4);
    local.writeUInt16LE(8, 8);
    local.writeUInt32LE(crc >>> 0, 14);
    local.writeUInt32LE(data.length, 18);
    local.writeUInt32LE(size, 22);
    local.writeUInt16LE(name.length, 26);
    const central = Buffer.alloc(46);
    central.writeUInt32LE(0x02014b50, 0);
    central.writeUInt16LE(20, 4);
    central.writeUInt16LE(20, 6);
    central.writeUInt16LE(8, 10);
    central.writeUInt32LE(crc >>> 0, 16);
    central.writeUInt32LE(data.length, 20);
    central.writeUInt32LE(size, 24);
    central.writeUInt16LE(name.length, 28);
    central.writeUInt32LE(offset, 42);
    locals.push(local, name, data);
    centrals.push(central, name);
    offset += 30 + name.length + data.length;
  }
  const cd = Buffer.concat(centrals);
  const eocd = Buffer.alloc(22);
  eocd.writeUInt32LE(0x06054b50, 0);
  eocd.writeUInt16LE(entries, 8);
  eocd.writeUInt16LE(entries, 10);
  eocd.writeUInt32LE(cd.length, 12);
  eocd.writeUInt32LE(offset, 16);
  return Buffer.concat([...locals, cd, eocd]);
}
