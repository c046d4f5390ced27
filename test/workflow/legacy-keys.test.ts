/**
 * Archives of the home account from before account ids in keys
 * (`lex/<region>/…`) are found and kept (issue 16): nothing moves them; the
 * first export under the new key is compared with the legacy key's current
 * version, so an unchanged bot writes nothing and reports UNCHANGED; a changed
 * one writes its first version under the new key with a change summary
 * against the legacy version; and the CLI shows the legacy key as the
 * resource's earlier history.
 */
import { KMSClient } from '@aws-sdk/client-kms';
import { CopyObjectCommand, DeleteObjectCommand, GetObjectCommand, HeadObjectCommand, PutObjectCommand } from '@aws-sdk/client-s3';
import { describe, expect, it } from 'vitest';
import { displayName, matchResources } from '../../lib/cli/targets';
import { loadResources } from '../../lib/cli/list';
import { kmsMacKey, macMetadata } from '../../lib/core/mac';
import { MAC_METADATA } from '../../lib/core/names';
import { TEST_HOME } from '../helpers/home';
import { harnessPerTest } from './harness';

const harness = harnessPerTest();
const NEW_KEY = `lex/${TEST_HOME.account}/us-east-1/ALPHABOT01/DRAFT/bot.zip`;
const LEGACY_KEY = 'lex/us-east-1/ALPHABOT01/DRAFT/bot.zip';

describe('legacy lex/<region>/… keys', () => {
  it('are compared with, kept, and shown as the earlier history of the account-qualified key', async () => {
    const h = await harness({ bots: [{ botId: 'ALPHABOT01', botName: 'Alpha', intents: ['Greet'] }] });
    const config = h.config({ targets: [{ provider: 'lex', botId: 'ALPHABOT01', botVersion: 'DRAFT' }] });
    expect((await h.run(config, { runId: 'legacy-0' })).status).toBe('SUCCEEDED');

    // As an older BotVault left it: the archive at the legacy key, authenticated for that key; nothing at the new one.
    const stored = await h.s3.send(new GetObjectCommand({ Bucket: h.bucket, Key: NEW_KEY }));
    const bytes = Buffer.from(await stored.Body!.transformToByteArray());
    const { [MAC_METADATA]: _newKeyMac, ...metadata } = stored.Metadata ?? {};
    const kms = new KMSClient({ endpoint: h.kms.url, region: 'us-east-1' });
    const mac = await macMetadata(kmsMacKey(kms, h.macKeyArn), {
      kind: 'archive',
      key: LEGACY_KEY,
      bytes: bytes.length,
      sha256: metadata.sha256!,
      metadata,
    });
    kms.destroy();
    await h.s3.send(
      new CopyObjectCommand({
        Bucket: h.bucket,
        Key: LEGACY_KEY,
        CopySource: `${h.bucket}/${NEW_KEY}`,
        MetadataDirective: 'REPLACE',
        Metadata: { ...metadata, [MAC_METADATA]: mac },
      }),
    );
    for (const key of await h.keys(`lex/${TEST_HOME.account}/`)) await h.s3.send(new DeleteObjectCommand({ Bucket: h.bucket, Key: key }));

    // Unchanged bot: compared with the legacy version, nothing written anywhere.
    const unchanged = await h.run(config, { runId: 'legacy-1' });
    expect(unchanged.status).toBe('SUCCEEDED');
    expect(unchanged.manifest!.results).toEqual([expect.objectContaining({ target: 'lex:ALPHABOT01:DRAFT', status: 'UNCHANGED', key: LEGACY_KEY })]);
    expect((await h.keys('lex/')).filter((k) => k.endsWith('.zip'))).toEqual([LEGACY_KEY]);

    // Changed bot: its first version under the new key, summarized against the legacy one; the legacy key stays.
    h.lex.modifyBot('ALPHABOT01', { intents: ['Greet', 'Order'] });
    const changed = await h.run(config, { runId: 'legacy-2' });
    expect(changed.manifest!.results).toEqual([
      expect.objectContaining({
        target: 'lex:ALPHABOT01:DRAFT',
        status: 'SUCCEEDED',
        key: NEW_KEY,
        changes: expect.stringContaining('intent Order added'),
      }),
    ]);
    const record = JSON.parse((await h.object(`${NEW_KEY}.changes.json`))!.body.toString('utf8'));
    expect(record.previous).toEqual({ sha256: metadata.sha256, key: LEGACY_KEY });
    expect((await h.s3.send(new HeadObjectCommand({ Bucket: h.bucket, Key: LEGACY_KEY }))).ContentLength).toBe(bytes.length);

    // The CLI: the new key carries the job id and points at the legacy key; the bot id names only the new one.
    const resources = await loadResources(h.s3, h.bucket, undefined, TEST_HOME);
    const current = resources.find((r) => r.key === NEW_KEY);
    const legacy = resources.find((r) => r.key === LEGACY_KEY);
    expect(current).toMatchObject({ id: 'lex:ALPHABOT01:DRAFT', earlierKey: LEGACY_KEY });
    // The legacy key keeps its id (the mirror keeps folders of known ids only) and is marked superseded.
    expect(legacy).toMatchObject({ legacy: true, botId: 'ALPHABOT01', id: 'lex:ALPHABOT01:DRAFT', supersededBy: NEW_KEY });
    expect(displayName(legacy!)).toBe(LEGACY_KEY);
    expect(matchResources('ALPHABOT01', resources).map((r) => r.key)).toEqual([NEW_KEY]);
    expect(matchResources('lex:ALPHABOT01:DRAFT', resources).map((r) => r.key)).toEqual([NEW_KEY]);
    expect(matchResources(LEGACY_KEY, resources).map((r) => r.key)).toEqual([LEGACY_KEY]);
    // Without the account (no BOTVAULT_ACCOUNT_ID, STS unreachable), the legacy twin tells which account is home.
    const unknownAccount = await loadResources(h.s3, h.bucket, undefined, { region: 'us-east-1' });
    expect(unknownAccount.find((r) => r.key === NEW_KEY)).toMatchObject({ id: 'lex:ALPHABOT01:DRAFT', earlierKey: LEGACY_KEY });
  });

  it('before the first version under the new key, the legacy key alone is the resource, under its job id', async () => {
    const h = await harness({ bots: [] });
    await h.s3.send(new PutObjectCommand({ Bucket: h.bucket, Key: LEGACY_KEY, Body: 'zip', Metadata: { sha256: 'x' } }));
    const resources = await loadResources(h.s3, h.bucket, undefined, TEST_HOME);
    expect(resources).toEqual([expect.objectContaining({ key: LEGACY_KEY, id: 'lex:ALPHABOT01:DRAFT', legacy: true })]);
    expect(matchResources('lex:ALPHABOT01:DRAFT', resources).map((r) => r.key)).toEqual([LEGACY_KEY]);
  });
});
