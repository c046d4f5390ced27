/**
 * The real versioned S3 server (OpenStack Swift + s3api, scripts/swift-s3.sh)
 * does what BotVault relies on: version ids on PutObject, multipart uploads and
 * CopyObject, every version readable byte for byte, ListObjectVersions, and
 * metadata replaced by a copy, and (with scripts/swift/botvault_s3_conditional.py)
 * conditional and checksummed PutObject as S3 answers them. The workflow's
 * versioning test builds on this.
 *
 * Never skipped: without BOTVAULT_SWIFT_S3_ENDPOINT the suite fails and says
 * how to start the server.
 */
import { createHash, randomBytes } from 'node:crypto';
import { Readable } from 'node:stream';
import {
  CopyObjectCommand,
  GetBucketVersioningCommand,
  GetObjectCommand,
  HeadObjectCommand,
  ListObjectVersionsCommand,
  PutObjectCommand,
  type S3Client,
} from '@aws-sdk/client-s3';
import { Upload } from '@aws-sdk/lib-storage';
import { beforeAll, describe, expect, it } from 'vitest';
import { expectChecksumChecked, expectConditionalCompletes, expectConditionalPuts } from '../simulators/conditional-writes';
import { createVersionedBucket, swiftS3FromEnv } from '../simulators/swift';

const sha256 = (b: Buffer) => createHash('sha256').update(b).digest('hex');
const KEY = 'lex/123456789012/us-east-1/SWIFTBOT01/DRAFT/bot.zip';

describe('versioned S3 server (Swift s3api)', () => {
  let s3: S3Client;
  const bucket = `botvault-swift-${randomBytes(5).toString('hex')}`;

  beforeAll(async () => {
    // Thrown here, the hint fails every test of the suite (a skip would hide a missing server).
    s3 = swiftS3FromEnv().client;
    await createVersionedBucket(s3, bucket);
  });

  it('has bucket versioning enabled', async () => {
    expect((await s3.send(new GetBucketVersioningCommand({ Bucket: bucket }))).Status).toBe('Enabled');
  });

  it('keeps two versions of one key (PutObject, then a streamed multipart Upload), each readable with its own bytes', async () => {
    const small = randomBytes(4096);
    const put = await s3.send(new PutObjectCommand({ Bucket: bucket, Key: KEY, Body: small, Metadata: { sha256: sha256(small) } }));
    expect(put.VersionId).toBeTruthy();

    // Over 5 MiB and from a stream of unknown length, as StoreArchive uploads: two parts.
    const big = randomBytes(6 * 1024 * 1024 + 12_345);
    const chunks = Array.from({ length: Math.ceil(big.length / 65_536) }, (_, i) => big.subarray(i * 65_536, (i + 1) * 65_536));
    const upload = new Upload({
      client: s3,
      params: { Bucket: bucket, Key: KEY, Body: Readable.from(chunks), Metadata: { sha256: sha256(big) } },
      partSize: 5 * 1024 * 1024,
      queueSize: 1,
    });
    const done = await upload.done();
    expect(done.Key).toBe(KEY);
    // Swift's s3api (2.30, and still upstream) answers CompleteMultipartUpload
    // without x-amz-version-id: it streams heartbeat whitespace while the SLO
    // manifest is written, so the headers are gone before the version exists.
    // The version is real, though: HeadObject right after tells it, which is
    // what StoreArchive's verification step must use.
    const mpuVersion = done.VersionId ?? (await s3.send(new HeadObjectCommand({ Bucket: bucket, Key: KEY }))).VersionId;
    expect(mpuVersion).toBeTruthy();
    expect(mpuVersion).not.toBe(put.VersionId);

    for (const [versionId, bytes] of [
      [put.VersionId!, small],
      [mpuVersion!, big],
    ] as const) {
      const got = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: KEY, VersionId: versionId }));
      expect(got.VersionId).toBe(versionId);
      const body = Buffer.from(await got.Body!.transformToByteArray());
      expect(body.length).toBe(bytes.length);
      expect(sha256(body)).toBe(sha256(bytes));
      expect(got.Metadata?.sha256).toBe(sha256(bytes));
    }

    const latest = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: KEY }));
    expect(latest.VersionId).toBe(mpuVersion);

    const listed = await s3.send(new ListObjectVersionsCommand({ Bucket: bucket, Prefix: KEY }));
    const versions = listed.Versions ?? [];
    expect(versions.map((v) => v.VersionId).sort()).toEqual([put.VersionId, mpuVersion].sort());
    expect(versions.find((v) => v.IsLatest)?.VersionId).toBe(mpuVersion);
    expect(versions.find((v) => v.VersionId === put.VersionId)?.Size).toBe(small.length);
    expect(versions.find((v) => v.VersionId === mpuVersion)?.Size).toBe(big.length);
  });

  it('CopyObject with MetadataDirective REPLACE makes a new version with the new metadata, visible in HeadObject', async () => {
    const key = 'staging/copy-source.zip';
    const body = randomBytes(10_000);
    await s3.send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: body, Metadata: { stage: 'staging' } }));

    const target = 'lex/123456789012/us-east-1/SWIFTBOT01/1/bot.zip';
    const copy = await s3.send(
      new CopyObjectCommand({
        Bucket: bucket,
        Key: target,
        CopySource: `${bucket}/${key}`,
        MetadataDirective: 'REPLACE',
        Metadata: { sha256: sha256(body), 'export-id': 'EXPORT1234', 'run-id': 'run-1' },
        ContentType: 'application/zip',
      }),
    );
    expect(copy.VersionId).toBeTruthy();

    const head = await s3.send(new HeadObjectCommand({ Bucket: bucket, Key: target }));
    expect(head.VersionId).toBe(copy.VersionId);
    expect(head.ContentLength).toBe(body.length);
    expect(head.ContentType).toBe('application/zip');
    expect(head.Metadata).toEqual({ sha256: sha256(body), 'export-id': 'EXPORT1234', 'run-id': 'run-1' });

    const got = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: target, VersionId: copy.VersionId }));
    expect(Buffer.from(await got.Body!.transformToByteArray()).equals(body)).toBe(true);
  });

  it('CopyObject from a specific source version (CopySource ?versionId=) copies that version, not the latest', async () => {
    const key = 'staging/two-versions.zip';
    const older = randomBytes(3000);
    const first = await s3.send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: older }));
    await s3.send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: randomBytes(3000) }));
    expect(first.VersionId).toBeTruthy();

    const target = 'lex/123456789012/us-east-1/SWIFTBOT01/2/bot.zip';
    const copy = await s3.send(
      new CopyObjectCommand({
        Bucket: bucket,
        Key: target,
        CopySource: `${bucket}/${key}?versionId=${encodeURIComponent(first.VersionId!)}`,
        MetadataDirective: 'REPLACE',
        Metadata: { sha256: sha256(older) },
      }),
    );
    expect(copy.CopySourceVersionId).toBe(first.VersionId);
    const got = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: target }));
    expect(sha256(Buffer.from(await got.Body!.transformToByteArray()))).toBe(sha256(older));
    expect(got.Metadata).toEqual({ sha256: sha256(older) });
  });

  it('conditional PutObject as S3 answers it: If-None-Match: * only onto an empty key, If-Match only onto the current ETag; 412 otherwise, no version added', async () => {
    const key = `cond/${randomBytes(3).toString('hex')}.zip`;
    const [first, second] = await expectConditionalPuts(s3, bucket, key);
    const listed = await s3.send(new ListObjectVersionsCommand({ Bucket: bucket, Prefix: key }));
    expect((listed.Versions ?? []).map((v) => v.VersionId).sort()).toEqual([first.VersionId, second.VersionId].sort());
  });

  it('conditional CompleteMultipartUpload as S3 answers it: 412 onto a taken key or a stale ETag, the key left as it was', async () => {
    await expectConditionalCompletes(s3, bucket, `cond/mpu-${randomBytes(3).toString('hex')}.zip`);
  });

  it('of concurrent If-None-Match: * writes of one key exactly one succeeds', async () => {
    const key = `cond/race-${randomBytes(3).toString('hex')}.zip`;
    const results = await Promise.allSettled(
      Array.from({ length: 3 }, () => s3.send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: randomBytes(100_000), IfNoneMatch: '*' }))),
    );
    expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(1);
    const listed = await s3.send(new ListObjectVersionsCommand({ Bucket: bucket, Prefix: key }));
    expect(listed.Versions ?? []).toHaveLength(1);
  });

  it('x-amz-checksum-sha256 is checked: a matching body is stored and the checksum echoed, another refused (BadDigest) without a version', async () => {
    const key = `sum/${randomBytes(3).toString('hex')}.zip`;
    await expectChecksumChecked(s3, bucket, key);
    const listed = await s3.send(new ListObjectVersionsCommand({ Bucket: bucket, Prefix: key }));
    expect(listed.Versions ?? []).toHaveLength(1);
  });
});
