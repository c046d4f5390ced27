/**
 * Change detection and the restore sidecar in writeArchive, against a real
 * S3-compatible server (s3rver, unversioned: what is at the stable key is what
 * the last write left there).
 */
import { createHash, randomBytes } from 'node:crypto';
import { Readable } from 'node:stream';
import { GetObjectCommand, HeadObjectCommand, ListObjectsV2Command, PutObjectCommand } from '@aws-sdk/client-s3';
import { describe, expect, it } from 'vitest';
import { writeArchive, type WriteArchiveParams } from '../../lambdas/shared/archive-store';
import { DownloadIntegrityError } from '../../lib/core/errors';
import { restoreInfoSha256 } from '../../lib/providers/definitions';
import { bucketPerTest, lexBotJob } from './store-fixtures';
import { writeZip } from '../generators/zip-writer';
import { restoreInfoSchema, type RestoreDetails } from '../../lib/providers/definitions';
import { changeRecordKey, restoreInfoKey } from '../../lib/core/names';
import { KMSClient } from '@aws-sdk/client-kms';
import { kmsMacKey } from '../../lib/core/mac';
import { startKmsSimulator } from '../simulators/kms-simulator';

const sha256 = (b: Buffer | string) => createHash('sha256').update(b).digest('hex');
const local = bucketPerTest('archive-changes');
const job = lexBotJob('CHANGEBOT1', 'Change');

/** A zip of `entries`, every entry stamped `mtime`, in the given order. */
function zip(entries: [string, string][], mtime: Date, password?: string): Promise<Buffer> {
  return writeZip(
    entries.map(([name, data]) => ({ name, data })),
    { mtime, ...(password ? { password } : {}) },
  );
}
const BOT: [string, string][] = [
  ['Manifest.json', '{"metaData":{"schemaVersion":"1","fileFormat":"LexJson","resourceType":"BOT"}}'],
  ['Change/Bot.json', '{"name":"Change"}'],
  ['Change/BotLocales/en_US/Intents/Greet/Intent.json', '{"name":"Greet"}'],
];

const lexDetails = (roleArn = 'arn:aws:iam::123456789012:role/LexRole'): RestoreDetails => ({
  lex: {
    botId: 'CHANGEBOT1',
    botName: 'Change',
    roleArn,
    dataPrivacy: { childDirected: false },
    idleSessionTTLInSeconds: 300,
    aliases: [{ botAliasId: 'TSTALIASID', botAliasName: 'TestBotAlias', botVersion: 'DRAFT' }],
    tags: { team: 'support' },
  },
});

function store(data: Buffer, runId: string, extra: Partial<WriteArchiveParams> = {}) {
  return writeArchive({
    s3: local.s3,
    bucket: local.bucket,
    job,
    runId,
    exportId: `EXP-${runId}`,
    body: Readable.from([data]),
    contentLength: data.length,
    ...extra,
  });
}
async function head(key: string) {
  return local.s3.send(new HeadObjectCommand({ Bucket: local.bucket, Key: key }));
}
async function read(key: string): Promise<Buffer> {
  const res = await local.s3.send(new GetObjectCommand({ Bucket: local.bucket, Key: key }));
  return Buffer.from(await res.Body!.transformToByteArray());
}
async function keys(): Promise<string[]> {
  return ((await local.s3.send(new ListObjectsV2Command({ Bucket: local.bucket }))).Contents ?? []).map((o) => o.Key!).sort();
}

describe('change detection', () => {
  it('the same entries with other timestamps and order: UNCHANGED, nothing written, the current object reported', async () => {
    const first = await zip(BOT, new Date(Date.UTC(2024, 0, 1)));
    const again = await zip([...BOT].reverse(), new Date(Date.UTC(2025, 6, 1, 12)));
    expect(again.equals(first)).toBe(false);

    const a = await store(first, 'run-1');
    expect(a.status).toBeUndefined();
    expect(a.contentSha256).toMatch(/^[0-9a-f]{64}$/);
    expect((await head(job.key)).Metadata).toMatchObject({ sha256: sha256(first), 'content-sha256': a.contentSha256 });

    const b = await store(again, 'run-2');
    expect(b).toEqual({ status: 'UNCHANGED', key: job.key, bytes: first.length, sha256: sha256(first), contentSha256: a.contentSha256 });
    expect((await read(job.key)).equals(first)).toBe(true);
    expect((await head(job.key)).Metadata?.['run-id']).toBe('run-1');
    expect(await keys()).toEqual([job.key, changeRecordKey(job.key)]); // the first version's change record; UNCHANGED writes none
  });

  it('upgrading to MACs: an unchanged bot whose current version has no MAC (or a forged one) gets one authenticated version, once; then UNCHANGED again', async () => {
    const kms = await startKmsSimulator();
    const client = new KMSClient({ endpoint: kms.url, region: 'us-east-1', credentials: { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' } });
    try {
      const mac = kmsMacKey(client, kms.createKey());
      const first = await zip(BOT, new Date(Date.UTC(2024, 0, 1)));
      await store(first, 'run-before-macs');
      expect((await head(job.key)).Metadata?.mac).toBeUndefined();
      const again = await zip(BOT, new Date(Date.UTC(2024, 0, 2)));
      const upgraded = await store(again, 'run-with-macs', { mac });
      expect(upgraded.status).toBeUndefined();
      expect((await head(job.key)).Metadata).toMatchObject({ 'run-id': 'run-with-macs', mac: expect.stringMatching(/^v1:/) });
      const later = await store(await zip(BOT, new Date(Date.UTC(2024, 0, 3))), 'run-later', { mac });
      expect(later.status).toBe('UNCHANGED');
      expect((await head(job.key)).Metadata?.['run-id']).toBe('run-with-macs');
      // A planted current version with the genuine content-sha256 and a forged MAC (found by review): not
      // UNCHANGED, because the store verifies the MAC; the next run writes an authenticated version over it.
      const genuine = (await head(job.key)).Metadata!;
      const junk = Buffer.from('not the bot');
      await local.s3.send(
        new PutObjectCommand({ Bucket: local.bucket, Key: job.key, Body: junk, Metadata: { ...genuine, sha256: sha256(junk), mac: 'v1:AAAA' } }),
      );
      const healed = await store(await zip(BOT, new Date(Date.UTC(2024, 0, 4))), 'run-heals', { mac });
      expect(healed.status).toBeUndefined();
      expect((await head(job.key)).Metadata).toMatchObject({ 'run-id': 'run-heals', mac: expect.stringMatching(/^v1:/) });
      // Verified: run-later's current version (authentic: UNCHANGED); run-heals' forged current version, once to
      // decide it is not unchanged, once more before its change summary would believe it (neither trusts it).
      expect(kms.calls.filter((c) => c.op === 'VerifyMac').map((c) => c.error ?? c.status)).toEqual([
        200,
        'KMSInvalidMacException',
        'KMSInvalidMacException',
      ]);
      expect(healed.changes).toBe('Change: changed (no summary: the version before it is not authenticated (invalid))');
    } finally {
      client.destroy();
      await kms.close();
    }
  });

  it('a version that unpacks to more than the summary reads into memory: stored, its change record says why there is no summary', async () => {
    await store(await zip(BOT, new Date(Date.UTC(2024, 0, 1))), 'run-1');
    // 65 MiB of incompressible bytes, stored: above SUMMARY_MAX_UNPACKED_BYTES (64 MiB) by its declared size.
    const big = await writeZip([...BOT.map(([name, data]) => ({ name, data })), { name: 'Change/blob.bin', data: randomBytes(65 * 1024 * 1024) }], {
      mtime: new Date(Date.UTC(2024, 0, 2)),
      store: true,
    });
    const stored = await store(big, 'run-2', { maxBytes: 128 * 1024 * 1024 });
    expect(stored.status).toBeUndefined();
    expect(stored.sha256).toBe(sha256(big));
    expect(stored.changes).toBe(`Change: changed (no summary: the archive unpacks to more than ${64 * 1024 * 1024} bytes)`);
    const record = JSON.parse((await read(changeRecordKey(job.key))).toString('utf8')) as { status: string; reason: string; runId: string };
    expect(record).toMatchObject({ status: 'unavailable', runId: 'run-2', reason: `the archive unpacks to more than ${64 * 1024 * 1024} bytes` });
  });

  it('a changed entry writes the new archive', async () => {
    await store(await zip(BOT, new Date(Date.UTC(2024, 0, 1))), 'run-1');
    const changed = await zip([...BOT, ['Change/BotLocales/en_US/Intents/Bye/Intent.json', '{"name":"Bye"}']], new Date(Date.UTC(2024, 0, 1)));
    const b = await store(changed, 'run-2');
    expect(b.status).toBeUndefined();
    expect(b.sha256).toBe(sha256(changed));
    expect((await read(job.key)).equals(changed)).toBe(true);
    expect((await head(job.key)).Metadata?.['run-id']).toBe('run-2');
  });

  it('changeDetection "always" writes an unchanged archive again', async () => {
    const first = await zip(BOT, new Date(Date.UTC(2024, 0, 1)));
    const again = await zip(BOT, new Date(Date.UTC(2024, 0, 2)));
    await store(first, 'run-1');
    const b = await store(again, 'run-2', { changeDetection: 'always' });
    expect(b.status).toBeUndefined();
    expect((await read(job.key)).equals(again)).toBe(true);
  });

  it('an entry whose bytes fail its CRC-32 fails the store, and nothing is written', async () => {
    const damaged = await writeZip([{ name: 'Change/Bot.json', data: 'x'.repeat(4000) }], { mtime: new Date(), store: true });
    damaged[200] = 'y'.charCodeAt(0); // inside the stored entry's data: the zip structure stays intact
    await expect(store(damaged, 'run-1')).rejects.toBeInstanceOf(DownloadIntegrityError);
    expect(await keys()).toEqual([]);
  });

  it('a password-protected export is decrypted with its password: an unchanged one is UNCHANGED, whatever the cipher', async () => {
    const password = 'sentinel-archive-pw-41c7';
    const first = await writeZip(
      BOT.map(([name, data]) => ({ name, data })),
      { mtime: new Date(Date.UTC(2024, 0, 1)), password, encryption: 'aes256' },
    );
    const again = await writeZip(
      BOT.map(([name, data]) => ({ name, data })),
      { mtime: new Date(Date.UTC(2024, 0, 2)), password, encryption: 'zipcrypto' },
    );
    const a = await store(first, 'run-1', { password, passwordSecret: 'botvault/lex-password' });
    expect(a.contentSha256).toBe(await store(await zip(BOT, new Date()), 'run-x', { changeDetection: 'always' }).then((r) => r.contentSha256));
    // The plaintext's hash: run-x stored the same entries unencrypted; run-2 (encrypted again) is UNCHANGED against it.
    const b = await store(again, 'run-2', { password, passwordSecret: 'botvault/lex-password' });
    expect(b.status).toBe('UNCHANGED');
    const stored = await head(job.key);
    expect(stored.Metadata?.['run-id']).toBe('run-x');
  });

  it('a password-protected export records its password secret, never the password', async () => {
    const password = 'sentinel-archive-pw-41c7';
    const data = await writeZip(
      BOT.map(([name, data]) => ({ name, data })),
      { mtime: new Date(), password },
    );
    await store(data, 'run-1', { password, passwordSecret: 'botvault/lex-password' });
    const meta = (await head(job.key)).Metadata ?? {};
    expect(meta['password-secret']).toBe('botvault/lex-password');
    expect(JSON.stringify(meta)).not.toContain(password);
  });

  it('a wrong password fails the store with ArchivePasswordError, and nothing is written', async () => {
    const data = await writeZip(
      BOT.map(([name, data]) => ({ name, data })),
      { mtime: new Date(), password: 'the-real-one' },
    );
    const err = await store(data, 'run-1', { password: 'rotated-meanwhile', passwordSecret: 'botvault/lex-password' }).catch(
      (e: unknown) => e as Error,
    );
    expect(err).toMatchObject({ name: 'ArchivePasswordError' });
    expect(String((err as Error).message)).not.toMatch(/the-real-one|rotated-meanwhile/);
    expect(await keys()).toEqual([]);
  });

  it('an encrypted archive with no password configured has no content hash and is always written', async () => {
    const enc = await writeZip(
      BOT.map(([name, data]) => ({ name, data })),
      { mtime: new Date(), password: 'unknown-to-botvault' },
    );
    const a = await store(enc, 'run-1');
    expect(a.contentSha256).toBeUndefined();
    expect((await head(job.key)).Metadata?.['content-sha256']).toBeUndefined();
    const b = await store(enc, 'run-2');
    expect(b.status).toBeUndefined();
    expect((await head(job.key)).Metadata?.['run-id']).toBe('run-2');
  });
});

describe('restore sidecar', () => {
  it('is written beside a new archive, names it, and matches the archive metadata', async () => {
    const data = await zip(BOT, new Date(Date.UTC(2024, 0, 1)));
    const stored = await store(data, 'run-1', { restoreDetails: async () => lexDetails() });
    expect(stored.restoreInfo).toBe('written');
    const key = restoreInfoKey(job.key);
    expect(key).toBe('lex/123456789012/us-east-1/CHANGEBOT1/DRAFT/bot.zip.restore.json');
    const body = await read(key);
    const sidecar = restoreInfoSchema.parse(JSON.parse(body.toString('utf8')));
    expect(sidecar).toMatchObject({
      schemaVersion: 1,
      provider: 'lex',
      target: job.id,
      runId: 'run-1',
      archive: { key: job.key, sha256: sha256(data) },
      ...lexDetails(),
    });
    expect(Number.isNaN(Date.parse(sidecar.capturedAt))).toBe(false);
    const hash = restoreInfoSha256(job, lexDetails());
    expect((await head(job.key)).Metadata?.['restore-info-sha256']).toBe(hash);
    const sidecarHead = await head(key);
    expect(sidecarHead.ContentType).toBe('application/json');
    expect(sidecarHead.Metadata).toMatchObject({ 'restore-info-sha256': hash, sha256: sha256(body), 'run-id': 'run-1' });
  });

  it('an UNCHANGED archive rewrites the sidecar only when the details changed', async () => {
    await store(await zip(BOT, new Date(Date.UTC(2024, 0, 1))), 'run-1', { restoreDetails: async () => lexDetails() });
    const same = await store(await zip(BOT, new Date(Date.UTC(2024, 0, 2))), 'run-2', { restoreDetails: async () => lexDetails() });
    expect(same).toMatchObject({ status: 'UNCHANGED', restoreInfo: 'unchanged' });
    expect(restoreInfoSchema.parse(JSON.parse((await read(restoreInfoKey(job.key))).toString())).runId).toBe('run-1');

    const otherRole = lexDetails('arn:aws:iam::123456789012:role/OtherRole');
    const changed = await store(await zip(BOT, new Date(Date.UTC(2024, 0, 3))), 'run-3', { restoreDetails: async () => otherRole });
    expect(changed).toMatchObject({ status: 'UNCHANGED', restoreInfo: 'written' });
    const sidecar = restoreInfoSchema.parse(JSON.parse((await read(restoreInfoKey(job.key))).toString()));
    expect(sidecar.runId).toBe('run-3');
    expect(sidecar.lex?.roleArn).toBe('arn:aws:iam::123456789012:role/OtherRole');
    expect((await head(restoreInfoKey(job.key))).Metadata?.['restore-info-sha256']).toBe(restoreInfoSha256(job, otherRole));
  });

  it('details that cannot be captured cost the sidecar, not the backup', async () => {
    const data = await zip(BOT, new Date(Date.UTC(2024, 0, 1)));
    const stored = await store(data, 'run-1', {
      restoreDetails: async () => {
        throw new Error('AccessDeniedException: not allowed to DescribeBot');
      },
    });
    expect(stored).toMatchObject({ key: job.key, sha256: sha256(data), restoreInfo: 'unavailable' });
    expect(await keys()).toEqual([job.key, changeRecordKey(job.key)]);
    expect((await head(job.key)).Metadata?.['restore-info-sha256']).toBeUndefined();
  });

  it('no details (a provider with nothing to record): no sidecar, no restoreInfo', async () => {
    const stored = await store(await zip(BOT, new Date(Date.UTC(2024, 0, 1))), 'run-1', { restoreDetails: async () => undefined });
    expect(stored.restoreInfo).toBeUndefined();
    expect(await keys()).toEqual([job.key, changeRecordKey(job.key)]);
  });

  it('restoreDetails reads entries of the staged archive', async () => {
    let seen: string | undefined;
    await store(await zip(BOT, new Date(Date.UTC(2024, 0, 1))), 'run-1', {
      restoreDetails: async (archive) => {
        seen = (await archive.readEntry('Change/Bot.json', 1024))?.toString();
        return undefined;
      },
    });
    expect(seen).toBe('{"name":"Change"}');
  });
});
