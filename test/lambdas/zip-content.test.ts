/**
 * The archive content hash: the same entries give the same hash whatever the
 * zip bytes (timestamps, order, compression, zip64, comment); any change of a
 * name or a byte changes it; damaged data fails; encrypted archives are not
 * hashable. Archives come from yazl, an independent zip writer.
 */
import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { DownloadIntegrityError } from '../../lambdas/shared/errors';
import { bufferByteSource, NotHashableError, readZipIndex, ShortReadError, type ByteSource } from '../../lambdas/shared/zip-content';
import yazl from 'yazl';

interface Entry {
  name: string;
  data: Buffer | string;
  mtime?: Date;
  compress?: boolean;
}

function zip(entries: Entry[], opts: { zip64?: boolean; comment?: string } = {}): Promise<Buffer> {
  const z = new yazl.ZipFile();
  for (const e of entries) {
    if (e.name.endsWith('/')) {
      z.addEmptyDirectory(e.name, e.mtime ? { mtime: e.mtime } : {});
      continue;
    }
    z.addBuffer(Buffer.isBuffer(e.data) ? e.data : Buffer.from(e.data), e.name, {
      compress: e.compress ?? true,
      forceZip64Format: Boolean(opts.zip64),
      ...(e.mtime ? { mtime: e.mtime } : {}),
    });
  }
  z.end({ forceZip64Format: Boolean(opts.zip64), comment: opts.comment ?? '' });
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    z.outputStream.on('data', (c: Buffer) => chunks.push(c));
    z.outputStream.on('error', reject);
    z.outputStream.on('end', () => resolve(Buffer.concat(chunks)));
  });
}

const hashOf = async (data: Buffer) => (await readZipIndex(bufferByteSource(data))).contentSha256();

const big = randomBytes(300_000);
const base: Entry[] = [
  { name: 'manifest.json', data: '{"schemaVersion":"1"}' },
  { name: 'Bot/Bot.json', data: JSON.stringify({ name: 'Bot', intents: ['Greet'] }) },
  { name: 'Bot/blob.bin', data: big },
  { name: 'Bot/empty/', data: '' },
];

describe('content hash', () => {
  it('ignores timestamps, entry order, compression, zip64 and the comment', async () => {
    const a = await zip(base.map((e) => ({ ...e, mtime: new Date(Date.UTC(2024, 0, 1)) })));
    const b = await zip([...base].reverse().map((e) => ({ ...e, mtime: new Date(Date.UTC(2025, 5, 6, 7, 8, 9)), compress: false })), { zip64: true, comment: 'another export' });
    expect(a.equals(b)).toBe(false);
    const ha = await hashOf(a);
    expect(ha).toMatch(/^[0-9a-f]{64}$/);
    expect(await hashOf(b)).toBe(ha);
  });

  it('changes when a byte of content, a name, or the set of entries changes', async () => {
    const h = await hashOf(await zip(base));
    const flipped = Buffer.from(big);
    flipped[123_456] ^= 1;
    const variants = [
      base.map((e) => (e.name === 'Bot/blob.bin' ? { ...e, data: flipped } : e)),
      base.map((e) => (e.name === 'Bot/Bot.json' ? { ...e, name: 'Bot/bot.json' } : e)),
      base.slice(0, 3),
      [...base, { name: 'Bot/extra.json', data: '' }],
      // The same bytes under swapped names.
      [
        { name: 'a', data: 'one' },
        { name: 'b', data: 'two' },
      ],
    ];
    const hashes = await Promise.all(variants.map(async (v) => hashOf(await zip(v))));
    for (const other of hashes) expect(other).not.toBe(h);
    const swapped = await hashOf(
      await zip([
        { name: 'a', data: 'two' },
        { name: 'b', data: 'one' },
      ]),
    );
    expect(swapped).not.toBe(hashes[4]);
  });

  it('reads the data region in one sequential read, plus the tail', async () => {
    const data = await zip(Array.from({ length: 200 }, (_, i) => ({ name: `Bot/Intents/I${i}/Intent.json`, data: `{"n":${i}}` })));
    const reads: [number, number][] = [];
    const src = bufferByteSource(data);
    const counting: ByteSource = { size: src.size, read: (s, e) => (reads.push([s, e]), src.read(s, e)) };
    const index = await readZipIndex(counting);
    expect(index.entries).toHaveLength(200);
    await index.contentSha256();
    expect(reads).toHaveLength(2);
    expect(reads[1]![0]).toBe(0);
  });

  it('fails a damaged entry (CRC-32 or inflate) with DownloadIntegrityError', async () => {
    const data = await zip([{ name: 'a.txt', data: 'x'.repeat(5000), compress: false }]);
    const damaged = Buffer.from(data);
    damaged[100] ^= 0xff; // inside the stored data
    await expect(hashOf(damaged)).rejects.toBeInstanceOf(DownloadIntegrityError);
    const deflated = await zip([{ name: 'a.bin', data: randomBytes(5000).toString('hex') }]);
    const bad = Buffer.from(deflated);
    for (let i = 60; i < 90; i++) bad[i] = 0xff;
    await expect(hashOf(bad)).rejects.toBeInstanceOf(DownloadIntegrityError);
  });

  it('an encrypted archive has no content hash', async () => {
    const data = await zip([{ name: 'a.txt', data: 'secret', compress: false }]);
    const enc = Buffer.from(data);
    // Set the "encrypted" flag in the local header and the central directory entry.
    enc.writeUInt16LE(enc.readUInt16LE(6) | 1, 6);
    const cd = enc.indexOf(Buffer.from([0x50, 0x4b, 0x01, 0x02]));
    enc.writeUInt16LE(enc.readUInt16LE(cd + 8) | 1, cd + 8);
    const index = await readZipIndex(bufferByteSource(enc));
    expect(index.notHashable).toMatch(/encrypted/);
    await expect(index.contentSha256()).rejects.toBeInstanceOf(NotHashableError);
  });

  it('a read that comes back short is a ShortReadError (transport), not an integrity failure', async () => {
    const data = await zip(base);
    const src = bufferByteSource(data);
    const short: ByteSource = { size: src.size, read: (s, e) => src.read(s, s === 0 ? Math.max(s, e - 1000) : e) };
    const index = await readZipIndex(short);
    const err = await index.contentSha256().then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(ShortReadError);
  });

  it('a truncated archive has no index', async () => {
    const data = await zip(base);
    await expect(readZipIndex(bufferByteSource(data.subarray(0, data.length - 30)))).rejects.toBeInstanceOf(DownloadIntegrityError);
  });
});

describe('readEntry', () => {
  it('returns one entry inflated, nothing for a missing or too large entry', async () => {
    const index = await readZipIndex(bufferByteSource(await zip(base)));
    expect((await index.readEntry('Bot/Bot.json', 1024))!.toString()).toBe(JSON.stringify({ name: 'Bot', intents: ['Greet'] }));
    expect((await index.readEntry('Bot/blob.bin', 1_000_000))!.equals(big)).toBe(true);
    expect(await index.readEntry('Bot/blob.bin', 1000)).toBeUndefined();
    expect(await index.readEntry('nope.json', 1000)).toBeUndefined();
  });
});
