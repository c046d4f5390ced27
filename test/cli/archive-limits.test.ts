/**
 * The CLI's readEntries (restore, diff) holds every entry of an archive in
 * memory, so an archive over its limits is refused before it is unpacked:
 * a zip bomb made `diff` and `restore` take 4.2 GiB. The config's
 * `archiveLimits` apply when given, the defaults otherwise.
 */
import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { readEntries } from '../../lib/cli/archive';
import { CliError } from '../../lib/cli/output';
import { zipBomb } from '../generators/zip-bomb';

const archiveOf = (data: Buffer) => ({
  key: 'lex/123456789012/us-east-1/BOMBBOT001/DRAFT/bot.zip',
  versionId: 'v1',
  data,
  sha256: createHash('sha256').update(data).digest('hex'),
  verified: true,
  authenticated: true,
  metadata: {},
});

describe('readEntries: archive limits', () => {
  it('refuses a zip bomb with a one-line CliError naming the limit, before unpacking', async () => {
    const before = process.memoryUsage().arrayBuffers;
    const err = await readEntries(archiveOf(await zipBomb(512)), 'the archive').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(CliError);
    expect((err as Error).message).toMatch(
      /^the archive of lex\/123456789012\/us-east-1\/BOMBBOT001\/DRAFT\/bot\.zip \(version v1\) is not a sound zip: the archive is refused before unpacking: it unpacks to 536870912 bytes .* \(config archiveLimits\.maxCompressionRatio\): a zip bomb\?$/,
    );
    // Never inflated: nowhere near the 512 MiB it declares was allocated.
    expect(process.memoryUsage().arrayBuffers - before).toBeLessThan(64 * 1024 * 1024);
  });

  it("applies the limits it is given (the config's)", async () => {
    const small = await zipBomb(1, 3);
    await expect(readEntries(archiveOf(small), 'the archive')).resolves.toMatchObject({ entries: expect.any(Map) });
    await expect(
      readEntries(archiveOf(small), 'the archive', {}, { maxEntries: 2, maxUncompressedBytes: 2 ** 31, maxCompressionRatio: 100 }),
    ).rejects.toThrow(/3 entries, more than the 2 allowed \(config archiveLimits\.maxEntries\)/);
  });
});
