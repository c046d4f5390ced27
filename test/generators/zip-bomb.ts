/**
 * Zip bombs for the archive-limit tests: one entry of `mib` MiB of zeros,
 * deflated by stream (the test never holds the inflated bytes), with honest
 * headers (CRC-32 and sizes as the data is), so only the limits on what an
 * archive may unpack to (lib/core/archive/limits.ts) stop it. zlib deflates
 * zeros about 1,000:1, so 64 MiB is a 64 kB archive.
 */
import { once } from 'node:events';
import { crc32, createDeflateRaw } from 'node:zlib';
import { rawZip } from './raw-zip';

/** A zip of `entries` entries, each `mib` MiB of zeros (raw-zip.ts). */
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
  return rawZip(Array.from({ length: entries }, (_, i) => ({ name: `Bot/Blob${i}.bin`, method: 8 as const, data, crc, size })));
}
