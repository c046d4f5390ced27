/**
 * writeArchive on a real versioned S3 server (OpenStack Swift's S3 API,
 * started by `npm test` via scripts/swift-s3.sh): each store adds exactly one
 * version at the stable key, checked by the server against its SHA-256, the
 * bucket holds nothing else (no delete marker, no other key), and a failure
 * never adds a version. The faults of the write path: write-path-faults.test.ts.
 */
import { randomBytes } from 'node:crypto';
import { Readable } from 'node:stream';
import { GetObjectCommand, HeadObjectCommand, ListObjectVersionsCommand, type S3Client } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { writeArchive } from '../../lambdas/shared/archive-store';
import { DownloadIntegrityError } from '../../lib/core/errors';
import { changeRecordKey } from '../../lib/core/names';
import { createVersionedBucket, swiftS3FromEnv } from '../simulators/swift';
import { lexBotJob, sha256 } from './store-fixtures';
import { lexLikeZip } from './zip-fixtures';

const job = lexBotJob('HISTORYBOT', 'History');
let s3: S3Client;
const bucket = `botvault-versioned-${randomBytes(4).toString('hex')}`;

async function versions(prefix: string) {
  const res = await s3.send(new ListObjectVersionsCommand({ Bucket: bucket, Prefix: prefix }));
  return { versions: res.Versions ?? [], markers: res.DeleteMarkers ?? [] };
}

beforeAll(async () => {
  s3 = swiftS3FromEnv().client;
  await createVersionedBucket(s3, bucket);
});
afterAll(() => s3?.destroy());

describe('writeArchive on a versioned bucket (Swift)', () => {
  let first: Awaited<ReturnType<typeof writeArchive>>;
  let firstZip: Buffer;

  it('returns the version id of the one write, whose metadata and bytes are the archive', async () => {
    firstZip = await lexLikeZip(2000);
    first = await writeArchive({
      s3,
      bucket,
      job,
      runId: 'run-1',
      exportId: 'EXP1',
      body: Readable.from([firstZip]),
      contentLength: firstZip.length,
    });
    expect(first.versionId).toBeTruthy();
    const head = await s3.send(new HeadObjectCommand({ Bucket: bucket, Key: job.key, VersionId: first.versionId }));
    expect(head.Metadata).toMatchObject({ sha256: sha256(firstZip), 'run-id': 'run-1', 'export-id': 'EXP1', source: job.id, 'bot-name': 'History' });
    expect(head.ContentLength).toBe(firstZip.length);
  });

  it('a second store adds a second version; the first stays readable', async () => {
    const zip = await lexLikeZip(3000);
    const second = await writeArchive({ s3, bucket, job, runId: 'run-2', exportId: 'EXP2', body: Readable.from([zip]), contentLength: zip.length });
    expect(second.versionId).toBeTruthy();
    expect(second.versionId).not.toBe(first.versionId);
    const v = (await versions(job.key)).versions.filter((x) => x.Key === job.key);
    expect(v.map((x) => x.VersionId).sort()).toEqual([first.versionId, second.versionId].sort());
    expect(v.find((x) => x.IsLatest)?.VersionId).toBe(second.versionId);
    const old = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: job.key, VersionId: first.versionId }));
    expect(sha256(Buffer.from(await old.Body!.transformToByteArray()))).toBe(sha256(firstZip));
    // Its change record compares it with the very version it replaced, read back by its version id.
    const record = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: changeRecordKey(job.key) }));
    expect(JSON.parse(await record.Body!.transformToString())).toMatchObject({
      status: 'summarized',
      archive: { versionId: second.versionId, sha256: second.sha256 },
      previous: { versionId: first.versionId, sha256: first.sha256 },
    });
    expect(second.changeRecord).toBe('written');
  });

  it('the bucket holds the two versions and their change records, nothing else: no delete marker, no other key', async () => {
    const all = await versions('');
    expect(all.markers).toEqual([]);
    expect([...new Set(all.versions.map((v) => v.Key))].sort()).toEqual([job.key, changeRecordKey(job.key)]);
    expect(all.versions).toHaveLength(4);
  });

  it('a failed store adds no version', async () => {
    const before = (await versions(job.key)).versions.length;
    const zip = await lexLikeZip(3000);
    const err = await writeArchive({
      s3,
      bucket,
      job,
      runId: 'run-3',
      exportId: 'EXP3',
      body: Readable.from([zip.subarray(0, 1000)]),
      contentLength: zip.length,
    }).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(DownloadIntegrityError);
    expect((await versions(job.key)).versions).toHaveLength(before); // no archive version, no change record
    expect((await versions('')).markers).toEqual([]);
  });
});
