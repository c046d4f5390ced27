/**
 * The bucket is the bots' history: against a real versioned S3 server
 * (OpenStack Swift's S3 API, started by scripts/swift-s3.sh), a second run
 * adds a second version of the same stable key, and both stay readable and intact.
 */
import { createHash } from 'node:crypto';
import { ListObjectVersionsCommand } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startHarness, type Harness } from '../workflow/harness';

const sha256 = (b: Buffer) => createHash('sha256').update(b).digest('hex');
const KEY = 'lex/123456789012/us-east-1/HISTORYBOT/DRAFT/bot.zip';

let h: Harness;
beforeAll(async () => {
  h = await startHarness({ s3: 'swift', bots: [{ botId: 'HISTORYBOT', botName: 'History', locales: ['en_US'], intents: ['One'] }] });
});
afterAll(async () => h?.close());

describe('versioned history on a real S3 server (Swift)', () => {
  it('two runs give two versions of the same key with distinct version ids, both readable and matching their sha256', async () => {
    const config = h.config({ targets: [{ provider: 'lex', botId: 'HISTORYBOT', botVersion: 'DRAFT' }] });

    const first = await h.run(config);
    h.lex.modifyBot('HISTORYBOT', { intents: ['One', 'Two'] });
    const second = await h.run(config);

    expect(first.status).toBe('SUCCEEDED');
    expect(second.status).toBe('SUCCEEDED');
    const [r1] = first.manifest!.results;
    const [r2] = second.manifest!.results;
    expect(r1!.key).toBe(KEY);
    expect(r2!.key).toBe(KEY);
    expect(r1!.versionId).toBeTruthy();
    expect(r2!.versionId).toBeTruthy();
    expect(r2!.versionId).not.toBe(r1!.versionId);
    expect(r2!.sha256).not.toBe(r1!.sha256);

    const listed = await h.s3.send(new ListObjectVersionsCommand({ Bucket: h.bucket, Prefix: KEY }));
    // The prefix also matches the restore sidecar (`<key>.restore.json`); count the archive's versions.
    const versions = (listed.Versions ?? []).filter((v) => v.Key === KEY);
    expect(versions.map((v) => v.VersionId).sort()).toEqual([r1!.versionId, r2!.versionId].sort());
    expect(versions.find((v) => v.IsLatest)?.VersionId).toBe(r2!.versionId);

    for (const r of [r1!, r2!]) {
      const stored = await h.object(KEY, r.versionId);
      expect(stored!.versionId).toBe(r.versionId);
      expect(sha256(stored!.body)).toBe(r.sha256);
      expect(stored!.metadata.sha256).toBe(r.sha256);
      expect(stored!.body.equals(h.lex.archiveFor(r.exportId!))).toBe(true);
    }
  });
});
