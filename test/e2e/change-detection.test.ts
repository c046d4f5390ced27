/**
 * Change detection on a real versioned S3 server (OpenStack Swift's S3 API,
 * scripts/swift-s3.sh): every version of a bot's key is a real change. Two
 * runs of an unchanged bot leave one version (the second reports UNCHANGED
 * with that version); an edit adds a second; with "always", every run adds
 * one. The sidecar is versioned beside the archive.
 */
import { ListObjectVersionsCommand } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startHarness, type Harness } from '../workflow/harness';
import { restoreInfoSchema } from '../../lib/providers/definitions';
import { restoreInfoKey } from '../../lib/core/names';

let h: Harness;
beforeAll(async () => {
  h = await startHarness({
    s3: 'swift',
    bots: [
      { botId: 'SAMEBOT001', botName: 'Same', locales: ['en_US'], intents: ['One'] },
      { botId: 'ALWAYSBOT1', botName: 'Always', locales: ['en_US'], intents: ['One'] },
    ],
  });
});
afterAll(async () => h?.close());

async function versionsOf(key: string) {
  const res = await h.s3.send(new ListObjectVersionsCommand({ Bucket: h.bucket, Prefix: key }));
  return (res.Versions ?? []).filter((v) => v.Key === key);
}

describe('change detection on versioned S3 (Swift)', () => {
  it('unchanged twice: one version, UNCHANGED; after an edit: two versions', async () => {
    const key = 'lex/123456789012/us-east-1/SAMEBOT001/DRAFT/bot.zip';
    const config = h.config({ targets: [{ provider: 'lex', botId: 'SAMEBOT001', botVersion: 'DRAFT' }] });

    const first = await h.run(config);
    const second = await h.run(config);
    const [r1] = first.manifest!.results;
    const [r2] = second.manifest!.results;
    expect(r1).toMatchObject({ status: 'SUCCEEDED', restoreInfo: 'written' });
    expect(r1!.versionId).toBeTruthy();
    expect(r2).toMatchObject({ status: 'UNCHANGED', versionId: r1!.versionId, sha256: r1!.sha256, bytes: r1!.bytes, restoreInfo: 'unchanged' });
    expect((await versionsOf(key)).map((v) => v.VersionId)).toEqual([r1!.versionId]);
    expect(await versionsOf(restoreInfoKey(key))).toHaveLength(1);
    expect(await h.keys('staging/')).toEqual([]);

    h.lex.modifyBot('SAMEBOT001', { intents: ['One', 'Two'] });
    const third = await h.run(config);
    const [r3] = third.manifest!.results;
    expect(r3!.status).toBe('SUCCEEDED');
    expect(r3!.versionId).not.toBe(r1!.versionId);
    const versions = await versionsOf(key);
    expect(versions.map((v) => v.VersionId).sort()).toEqual([r1!.versionId, r3!.versionId].sort());
    expect(versions.find((v) => v.IsLatest)?.VersionId).toBe(r3!.versionId);
    // The sidecar has a version per archive version, each naming its archive version.
    const sidecars = await versionsOf(restoreInfoKey(key));
    expect(sidecars).toHaveLength(2);
    const named = await Promise.all(
      sidecars.map(
        async (v) => restoreInfoSchema.parse(JSON.parse((await h.object(restoreInfoKey(key), v.VersionId))!.body.toString('utf8'))).archive.versionId,
      ),
    );
    expect(named.sort()).toEqual([r1!.versionId, r3!.versionId].sort());
  });

  it('changeDetection "always": two runs of an unchanged bot, two versions', async () => {
    const key = 'lex/123456789012/us-east-1/ALWAYSBOT1/DRAFT/bot.zip';
    const config = h.config({ changeDetection: 'always', targets: [{ provider: 'lex', botId: 'ALWAYSBOT1', botVersion: 'DRAFT' }] });
    const first = await h.run(config);
    const second = await h.run(config);
    expect(first.manifest!.results[0]!.status).toBe('SUCCEEDED');
    expect(second.manifest!.results[0]!.status).toBe('SUCCEEDED');
    expect(await versionsOf(key)).toHaveLength(2);
  });
});
