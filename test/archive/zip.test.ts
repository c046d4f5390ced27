/**
 * The one zip reader (lib/core/archive/zip.ts) on archives in the real formats
 * (test/generators): the content hash ignores what differs between two
 * exports of an unchanged bot (timestamps, entry order, encryption) and sees
 * every real change; damage, truncation and wrong passwords are named
 * errors; a failing source is passed on as it is; ranged reads share blocks.
 */
import { createHash, randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { crc32, createDeflateRaw, deflateRawSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { bufferByteSource, ShortReadError, type ByteSource } from '../../lib/core/archive/byte-source';
import { canonicalJson } from '../../lib/core/archive/canonical-json';
import { DEFAULT_ARCHIVE_LIMITS } from '../../lib/core/archive/limits';
import { withZip, ZipArchive, ZipArchiveError, ZipPasswordError } from '../../lib/core/archive/zip';
import { rawZip } from '../generators/raw-zip';
import { zipBomb } from '../generators/zip-bomb';
import { koreExportZip } from '../generators/koreai-export';
import { lexExportEntries, lexExportZip, sampleLexBot } from '../generators/lex-export';
import { writeZip } from '../generators/zip-writer';

const BOT = sampleLexBot('ORDRFLWRS1', 'OrderFlowers', ['OrderFlowers', 'CancelOrder']);
const SENTINEL_PASSWORD = 'sentinel-pw-7f3a9c';

const hashOf = (zip: Buffer, password?: string) => withZip(bufferByteSource(zip), password ? { password } : {}, (z) => z.contentSha256());

/** A ByteSource that counts its reads and can fail or come back short. */
function countingSource(data: Buffer, fault?: 'fail' | 'short'): ByteSource & { reads: [number, number][] } {
  const reads: [number, number][] = [];
  return {
    size: data.length,
    reads,
    async read(start, end) {
      reads.push([start, end]);
      if (fault === 'fail') throw Object.assign(new Error('socket hang up'), { name: 'TimeoutError' });
      const part = data.subarray(start, fault === 'short' ? Math.max(start, end - 1) : end);
      return (async function* () {
        yield part;
      })();
    },
  };
}

/** A one-entry zip whose headers declare what the case says (CRC-32 and uncompressed size), whatever its data is. */
const handZip = (name: string, method: 0 | 8, data: Buffer, declared: { crc: number; size: number }) =>
  rawZip([{ name, method, data, crc: declared.crc, size: declared.size }]);

/** A zip of stored entries with any bytes as names (a real zip tool would refuse some). */
const storedZip = (entries: { name: Buffer; data: Buffer }[]) => rawZip(entries.map((e) => ({ ...e, method: 0 as const })));

describe('content hash', () => {
  it('is the same for two exports of an unchanged bot: other entry order, key order of the manifest, timestamps', async () => {
    const a = await lexExportZip(BOT, { seed: 1, mtime: new Date(Date.UTC(2024, 0, 1)) });
    const b = await lexExportZip(BOT, { seed: 2, mtime: new Date(Date.UTC(2024, 5, 1)) });
    expect(a.equals(b)).toBe(false);
    expect(lexExportEntries(BOT, { seed: 1 }).map((e) => e.name)).not.toEqual(lexExportEntries(BOT, { seed: 2 }).map((e) => e.name));
    // Two seeds that give the same manifest bytes: then only order and time differ, and the hash must not.
    const manifest = (seed: number) => lexExportEntries(BOT, { seed }).find((e) => e.name === 'Manifest.json')!.data;
    const seeds = [1, 2, 3, 4, 5, 6].filter((s) => manifest(s) === manifest(1));
    expect(seeds.length).toBeGreaterThan(1);
    const zips = await Promise.all(seeds.map((seed, n) => lexExportZip(BOT, { seed, mtime: new Date(Date.UTC(2024, n, 1)) })));
    const hashes = new Set(await Promise.all(zips.map((z) => hashOf(z))));
    expect(hashes.size).toBe(1);
  });

  it("ignores JSON key order and whitespace (Lex's key order varies between exports), not JSON values", async () => {
    const entries = (manifest: string, bot: string) =>
      writeZip(
        [
          { name: 'Manifest.json', data: manifest },
          { name: 'B/Bot.json', data: bot },
          { name: 'B/notes.txt', data: 'a b' },
        ],
        { mtime: new Date() },
      );
    const a = await hashOf(
      await entries('{"metaData":{"schemaVersion":"1","resourceType":"BOT","fileFormat":"LexJson"}}', '{"name":"B","version":"DRAFT"}'),
    );
    const b = await hashOf(
      await entries('{"metaData":{"schemaVersion":"1","fileFormat":"LexJson","resourceType":"BOT"}}', '{\n  "version": "DRAFT",\n  "name": "B"\n}'),
    );
    const c = await hashOf(
      await entries('{"metaData":{"schemaVersion":"1","fileFormat":"LexJson","resourceType":"BOT"}}', '{"name":"B","version":"1"}'),
    );
    expect(b).toBe(a);
    expect(c).not.toBe(a);
    // A non-JSON entry counts byte for byte; so does a .json entry that does not parse.
    const txt = await hashOf(await writeZip([{ name: 'B/notes.txt', data: 'a  b' }], { mtime: new Date() }));
    expect(txt).not.toBe(await hashOf(await writeZip([{ name: 'B/notes.txt', data: 'a b' }], { mtime: new Date() })));
    const broken = (t: string) => writeZip([{ name: 'x.json', data: t }], { mtime: new Date() });
    expect(await hashOf(await broken('{"a":'))).not.toBe(await hashOf(await broken('{"a": ')));
  });

  it('of a password-protected export is its plaintext hash, with either cipher', async () => {
    const plain = await lexExportZip(BOT, { seed: 1 });
    const aes = await lexExportZip(BOT, { seed: 1, password: SENTINEL_PASSWORD, encryption: 'aes256' });
    const zc = await lexExportZip(BOT, { seed: 1, password: SENTINEL_PASSWORD, encryption: 'zipcrypto' });
    expect(aes.includes(Buffer.from('OrderFlowers/Bot.json'))).toBe(true);
    expect(aes.includes(Buffer.from('"sampleUtterances"'))).toBe(false);
    const expected = await hashOf(plain);
    expect(await hashOf(aes, SENTINEL_PASSWORD)).toBe(expected);
    expect(await hashOf(zc, SENTINEL_PASSWORD)).toBe(expected);
  });

  it('is unambiguous: a name holding NUL and LF cannot make one entry hash like two (the v2 joining could)', async () => {
    const [c1, c2] = [Buffer.from('{"intent":"OrderFlowers"}'), Buffer.from('{"intent":"CancelOrder"}')];
    const hex1 = createHash('sha256')
      .update(canonicalJson(JSON.parse(c1.toString())))
      .digest('hex');
    const two = storedZip([
      { name: Buffer.from('a.json'), data: c1 },
      { name: Buffer.from('b.json'), data: c2 },
    ]);
    // Under v2 (`name NUL hex LF` per entry) this one entry produced exactly the bytes of the two above.
    const one = storedZip([{ name: Buffer.from(`a.json\0${hex1}\nb.json`), data: c2 }]);
    const [h2, h1] = await Promise.all([hashOf(two), hashOf(one).catch((e: unknown) => e)]);
    expect(h2).toMatch(/^[0-9a-f]{64}$/);
    // Either refused as a zip (an unsafe name) or hashed apart: never the same hash.
    expect(h1).not.toBe(h2);
  });

  it('changes with an utterance, an entry name, or an entry more', async () => {
    const base = await hashOf(await lexExportZip(BOT));
    const edited = structuredClone(BOT);
    edited.locales[0]!.intents[0]!.utterances.push('send roses');
    const renamed = structuredClone(BOT);
    renamed.locales[0]!.intents[1]!.name = 'CancelOrders';
    const more = structuredClone(BOT);
    more.locales[0]!.intents.push({ name: 'Tip', utterances: ['tip'] });
    const others = await Promise.all([edited, renamed, more].map(async (b) => hashOf(await lexExportZip(b))));
    expect(new Set([base, ...others]).size).toBe(4);
  });
});

describe('limits (lib/core/archive/limits.ts): refused from the central directory, before anything is inflated', () => {
  it('a zip bomb with honest headers (64 kB unpacking to 64 MiB) is refused at open by its compression ratio', async () => {
    const bomb = await zipBomb(64);
    expect(bomb.length).toBeLessThan(200_000);
    const err = await ZipArchive.open(bufferByteSource(bomb)).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ZipArchiveError);
    expect((err as Error).message).toMatch(
      /refused before unpacking: it unpacks to 67108864 bytes from \d+, a compression ratio above the 100 allowed \(config archiveLimits\.maxCompressionRatio\)/,
    );
    // Allowed with a ratio to spare, it opens and hashes: the limit, not the archive, refused it.
    const opened = await ZipArchive.open(bufferByteSource(bomb), { limits: { ...DEFAULT_ARCHIVE_LIMITS, maxCompressionRatio: 10_000 } });
    await expect(opened.contentSha256()).resolves.toMatch(/^[0-9a-f]{64}$/);
    await opened.close();
  });

  it('too many entries, or too much in total, each named with its config field', async () => {
    const many = await zipBomb(1, 5);
    await expect(ZipArchive.open(bufferByteSource(many), { limits: { ...DEFAULT_ARCHIVE_LIMITS, maxEntries: 4 } })).rejects.toThrow(
      /it has 5 entries, more than the 4 allowed \(config archiveLimits\.maxEntries\)/,
    );
    await expect(
      ZipArchive.open(bufferByteSource(many), { limits: { ...DEFAULT_ARCHIVE_LIMITS, maxUncompressedBytes: 4 * 1024 * 1024 } }),
    ).rejects.toThrow(/it unpacks to 5242880 bytes, more than the 4194304 allowed \(config archiveLimits\.maxUncompressedMiB\)/);
    // Under the ratio floor (16 MiB), a small archive of repeated bytes is fine whatever its ratio.
    await expect(withZip(bufferByteSource(many), {}, (z) => z.verify())).resolves.toBe(5);
  });
});

describe('checks', () => {
  it("a flipped byte in an entry's compressed data fails as ZipArchiveError (CRC-32 or inflate)", async () => {
    const good = await writeZip([{ name: 'Bot/Bot.json', data: randomBytes(3000).toString('base64') }], { mtime: new Date() });
    const bad = Buffer.from(good);
    const at = 30 + 'Bot/Bot.json'.length + 100;
    bad.writeUInt8(bad.readUInt8(at) ^ 0x55, at); // inside the deflated data (local header 30 bytes + the name, no extra field)
    await expect(hashOf(bad)).rejects.toBeInstanceOf(ZipArchiveError);
    await expect(hashOf(good)).resolves.toMatch(/^[0-9a-f]{64}$/);
  });

  it('entries whose headers lie about their data are refused: trailing bytes, short or long output, CRC-32, a cut deflate stream', async () => {
    const text = Buffer.from('{"utterances":["I would like to order flowers"]}'.repeat(50));
    const deflated = deflateRawSync(text);
    const truth = { crc: crc32(text), size: text.length };
    const good = [handZip('Bot/Bot.json', 8, deflated, truth), handZip('Bot/Bot.json', 0, text, truth)];
    for (const zip of good) await expect(hashOf(zip)).resolves.toMatch(/^[0-9a-f]{64}$/);
    const cases: [string, Buffer, RegExp][] = [
      // zlib stops at the end of the deflate stream: the four bytes after it would otherwise go unread.
      [
        'bytes after the deflate stream',
        handZip('Bot/Bot.json', 8, Buffer.concat([deflated, Buffer.from('evil')]), truth),
        /Invalid compressed data/,
      ],
      ['a deflate stream cut short', handZip('Bot/Bot.json', 8, deflated.subarray(0, deflated.length - 10), truth), /Invalid compressed data/],
      ['less output than declared', handZip('Bot/Bot.json', 8, deflated, { ...truth, size: truth.size + 1 }), /Invalid uncompressed size/],
      ['more output than declared', handZip('Bot/Bot.json', 8, deflated, { ...truth, size: 100 }), /Invalid uncompressed size/],
      ['a wrong CRC-32 (deflated)', handZip('Bot/Bot.json', 8, deflated, { ...truth, crc: truth.crc ^ 1 }), /Invalid CRC32/],
      ['a wrong CRC-32 (stored)', handZip('Bot/Bot.json', 0, text, { ...truth, crc: truth.crc ^ 1 }), /Invalid CRC32/],
    ];
    for (const [what, zip, message] of cases) {
      const err = await hashOf(zip).catch((e: unknown) => e);
      expect(err, what).toBeInstanceOf(ZipArchiveError);
      expect(String((err as Error).message), what).toMatch(message);
    }
  });

  it('a deflate bomb is refused once its output passes the declared size', async () => {
    // 64 MiB of zeros deflate to ~64 kB; the entry says 1 kB. Deflated by stream, so the test itself never holds 64 MiB.
    const mib = Buffer.alloc(1024 * 1024);
    const deflate = createDeflateRaw();
    const parts: Buffer[] = [];
    deflate.on('data', (c: Buffer) => parts.push(c));
    let crc = 0;
    for (let i = 0; i < 64; i++) {
      crc = crc32(mib, crc);
      if (!deflate.write(mib)) await once(deflate, 'drain');
    }
    deflate.end();
    await once(deflate, 'end');
    const bomb = handZip('Bot/Bot.json', 8, Buffer.concat(parts), { crc, size: 1024 });
    await expect(hashOf(bomb)).rejects.toThrow(ZipArchiveError);
    await expect(hashOf(bomb)).rejects.toThrow(/Invalid uncompressed size/);
  });

  it('an entry that inflates past its declared size stops there: the rest of its data is never read', async () => {
    const data = randomBytes(6 * 1024 * 1024);
    const zip = handZip('Bot/blob.bin', 8, deflateRawSync(data), { crc: crc32(data), size: 1024 });
    // Served in 16 KiB pieces; what the entry's own (streamed) read pulls is counted, not the reads of the directory.
    let pulled = 0;
    const src: ByteSource = {
      size: zip.length,
      async read(start, end) {
        const entryData = end - start > 1024 * 1024;
        return (async function* () {
          for (let at = start; at < end; at += 16 * 1024) {
            const piece = zip.subarray(at, Math.min(end, at + 16 * 1024));
            if (entryData) pulled += piece.length;
            yield piece;
          }
        })();
      },
    };
    await expect(withZip(src, {}, (z) => z.contentSha256())).rejects.toThrow(/Invalid uncompressed size/);
    expect(pulled).toBeGreaterThan(0);
    expect(pulled).toBeLessThan(zip.length / 8);
  });

  it('a flipped byte in AES-encrypted data fails its authentication code', async () => {
    const good = await writeZip([{ name: 'a.json', data: 'y'.repeat(5000) }], { mtime: new Date(), password: SENTINEL_PASSWORD });
    const bad = Buffer.from(good);
    const at = 30 + 'a.json'.length + 11 + 16 + 20;
    bad.writeUInt8(bad.readUInt8(at) ^ 0x01, at); // past header, AES extra field, salt and verifier
    await expect(hashOf(bad, SENTINEL_PASSWORD)).rejects.toThrow(/authentication code|CRC|compressed|password/i);
  });

  it('every truncation of an export fails to open or to hash', async () => {
    const zip = await lexExportZip(BOT);
    for (const cut of [0, 1, 22, Math.floor(zip.length / 2), zip.length - 23, zip.length - 1]) {
      await expect(withZip(bufferByteSource(zip.subarray(0, cut)), {}, (z) => z.contentSha256())).rejects.toBeInstanceOf(ZipArchiveError);
    }
  });

  it('an HTML error page or random bytes are not a zip', async () => {
    for (const junk of [Buffer.from('<html><body>Service Unavailable</body></html>'), randomBytes(4096)]) {
      await expect(ZipArchive.open(bufferByteSource(junk))).rejects.toBeInstanceOf(ZipArchiveError);
    }
  });

  it('an encrypted export without a password, or with the wrong one, is a ZipPasswordError that never shows a password', async () => {
    for (const encryption of ['aes256', 'zipcrypto'] as const) {
      const zip = await lexExportZip(BOT, { password: SENTINEL_PASSWORD, encryption });
      const errors = await Promise.all([hashOf(zip).catch((e: unknown) => e), hashOf(zip, 'not-the-password').catch((e: unknown) => e)]);
      for (const err of errors) {
        expect(err).toBeInstanceOf(ZipPasswordError);
        expect(String((err as Error).message)).not.toContain(SENTINEL_PASSWORD);
        expect(String((err as Error).message)).not.toContain('not-the-password');
      }
    }
  });
});

describe('reading', () => {
  it('lists the file entries and reads one, nothing for a missing or too large entry', async () => {
    const zip = await lexExportZip(BOT, { password: SENTINEL_PASSWORD });
    await withZip(bufferByteSource(zip), { password: SENTINEL_PASSWORD }, async (z) => {
      expect(z.encrypted).toBe(true);
      expect(z.entries.every((e) => e.encryption === 'aes')).toBe(true);
      const bot = JSON.parse((await z.read('OrderFlowers/Bot.json'))!.toString('utf8')) as { identifier: string };
      expect(bot.identifier).toBe('ORDRFLWRS1');
      expect(await z.read('missing.json')).toBeUndefined();
      expect(await z.read('OrderFlowers/Bot.json', 10)).toBeUndefined();
    });
  });

  it('reads a real-format Kore.ai export: botDefinition.json, config.json and a binary icon.png', async () => {
    const zip = await koreExportZip({
      botId: 'st-00000000-0000-4000-8000-000000000001',
      botName: 'Concierge',
      languages: ['en', 'de'],
      dialogs: [{ name: 'LateCheckout' }],
    });
    const entries = await withZip(bufferByteSource(zip), {}, (z) => z.readAll());
    expect([...entries.keys()]).toEqual(['botDefinition.json', 'config.json', 'icon.png']);
    expect(entries.get('icon.png')!.subarray(0, 8)).toEqual(Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]));
    expect(JSON.parse(entries.get('config.json')!.toString('utf8'))).toEqual({ name: 'Concierge', envVariables: [] });
  });

  it('over a ranged source, sequential entries share 1 MiB blocks: a few reads for a whole archive', async () => {
    const big = structuredClone(BOT);
    for (let i = 0; i < 300; i++) big.locales[0]!.intents.push({ name: `Intent${i}`, utterances: [randomBytes(4000).toString('base64')] });
    const zip = await lexExportZip(big);
    expect(zip.length).toBeGreaterThan(1024 * 1024);
    const src = countingSource(zip);
    await withZip(src, {}, (z) => z.verify());
    // ~1 block per MiB, plus the tail: far fewer than one read per entry (600+ entries).
    expect(src.reads.length).toBeLessThanOrEqual(Math.ceil(zip.length / (1024 * 1024)) + 3);
  });

  it('a large entry is streamed by one range read of its own, not one per block', async () => {
    const zip = await writeZip(
      [
        { name: 'Bot/blob.bin', data: randomBytes(3 * 1024 * 1024) },
        { name: 'Manifest.json', data: '{}' },
      ],
      { mtime: new Date(), store: true },
    );
    const src = countingSource(zip);
    await withZip(src, {}, (z) => z.verify());
    const big = src.reads.filter(([start, end]) => end - start > 2 * 1024 * 1024);
    expect(big).toHaveLength(1);
    expect(src.reads.length).toBeLessThanOrEqual(4);
    // Cut short: a transport problem, named as one.
    const short = countingSource(zip, 'short');
    await expect(withZip(short, {}, (z) => z.verify())).rejects.toBeInstanceOf(ShortReadError);
  });

  it('a failing or short source is passed on as it is (a transport problem), not called a bad archive', async () => {
    const zip = await lexExportZip(BOT);
    await expect(ZipArchive.open(countingSource(zip, 'fail'))).rejects.toMatchObject({ name: 'TimeoutError' });
    await expect(ZipArchive.open(countingSource(zip, 'short'))).rejects.toBeInstanceOf(ShortReadError);
  });
});
