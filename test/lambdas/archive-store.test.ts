/**
 * writeArchive against a real S3-compatible server (s3rver, with the
 * multipart operations, conditional writes and request checksums the test
 * helper adds): either one object checked by the server lands at the stable
 * key, or nothing does — no object, no open multipart upload, no spool file.
 */
import { createHash } from 'node:crypto';
import { mkdtempSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { GetObjectCommand, HeadObjectCommand, ListMultipartUploadsCommand, ListObjectsV2Command, PutObjectCommand } from '@aws-sdk/client-s3';
import { describe, expect, it } from 'vitest';
import { type WriteArchiveParams, writeArchive } from '../../lambdas/shared/archive-store';
import type { Job } from '../../lib/core/contracts';
import { changeRecordKey } from '../../lib/core/names';
import type { ChangeRecord } from '../../lib/providers/change-record';
import { DownloadIntegrityError, ProviderUnavailableError } from '../../lib/core/errors';
import { startS3FaultProxy } from '../simulators/s3-fault-proxy';
import { s3ClientFor } from '../simulators/s3-server';
import { bucketPerTest, lexBotJob } from './store-fixtures';
import { chunked, lexLikeZip } from './zip-fixtures';
import { rejection } from '../helpers/rejection';
import { zipBomb } from '../generators/zip-bomb';

const sha256 = (b: Buffer) => createHash('sha256').update(b).digest('hex');
const local = bucketPerTest('archive-store');
/** writeArchive of `j` into the test's bucket. */
const store = (j: Job, params: Omit<WriteArchiveParams, 's3' | 'bucket' | 'job'>) =>
  writeArchive({ s3: local.s3, bucket: local.bucket, job: j, ...params });
const job = (botId = 'ALPHABOT01', name?: string): Job => lexBotJob(botId, name);

/** A body that delivers `data` in chunks, then optionally fails like a reset connection. */
function body(data: Buffer, opts: { resetAfter?: number; chunk?: number } = {}): Readable {
  const parts = chunked(data.subarray(0, opts.resetAfter ?? data.length), [opts.chunk ?? 64 * 1024]);
  let i = 0;
  return new Readable({
    read() {
      if (i < parts.length) {
        setImmediate(() => this.push(parts[i++]));
      } else if (opts.resetAfter !== undefined) {
        this.destroy(Object.assign(new Error('socket hang up'), { code: 'ECONNRESET' }));
      } else {
        this.push(null);
      }
    },
  });
}

async function keys(prefix = ''): Promise<string[]> {
  const res = await local.s3.send(new ListObjectsV2Command({ Bucket: local.bucket, Prefix: prefix }));
  return (res.Contents ?? []).map((o) => o.Key!).sort();
}
async function openUploads(): Promise<number> {
  return ((await local.s3.send(new ListMultipartUploadsCommand({ Bucket: local.bucket }))).Uploads ?? []).length;
}
async function read(key: string): Promise<Buffer> {
  const res = await local.s3.send(new GetObjectCommand({ Bucket: local.bucket, Key: key }));
  return Buffer.from(await res.Body!.transformToByteArray());
}
async function exists(key: string): Promise<boolean> {
  return local.s3.send(new HeadObjectCommand({ Bucket: local.bucket, Key: key })).then(
    () => true,
    () => false,
  );
}
const MiB = 1024 * 1024;
/** A spool directory of the test's own, to see that nothing is left in it. */
const spoolDir = () => mkdtempSync(join(tmpdir(), 'botvault-test-spool-'));
async function expectNothingStored(j: Job) {
  expect(await exists(j.key)).toBe(false);
  expect(await openUploads()).toBe(0);
}

describe('writeArchive: good archives', () => {
  it('stores the bytes at the stable key with sha256 and provenance metadata, in one checksummed write', async () => {
    const zip = await lexLikeZip(1000);
    const j = job('ALPHABOT01', 'Alpha');
    const stored = await store(j, { runId: 'run-1', exportId: 'EXP1', body: body(zip, { chunk: 333 }), contentLength: zip.length });

    expect(stored).toEqual({
      key: j.key,
      bytes: zip.length,
      sha256: sha256(zip),
      contentSha256: expect.stringMatching(/^[0-9a-f]{64}$/),
      changes: 'Alpha: first backup',
      changeRecord: 'written',
    });
    expect((await read(j.key)).equals(zip)).toBe(true);
    const head = await local.s3.send(new HeadObjectCommand({ Bucket: local.bucket, Key: j.key }));
    expect(head.ContentType).toBe('application/zip');
    expect(head.Metadata).toEqual({
      sha256: sha256(zip),
      source: j.id,
      'export-id': 'EXP1',
      'run-id': 'run-1',
      'bot-name': 'Alpha',
      'content-sha256': stored.contentSha256,
    });
    // The archive and its change record (lambdas/shared/change-record.ts), nothing else.
    expect(await keys()).toEqual([j.key, changeRecordKey(j.key)]);
    const record = JSON.parse((await read(changeRecordKey(j.key))).toString('utf8')) as ChangeRecord;
    expect(record).toMatchObject({ status: 'first', previous: null, changes: [], target: j.id, runId: 'run-1', archive: { sha256: sha256(zip) } });
    expect(await openUploads()).toBe(0);
  });

  it('spools an archive above the memory bound to a file, and removes the file once stored', async () => {
    const zip = await lexLikeZip(3_000_000);
    const j = job('BIGBOT0001');
    const dir = spoolDir();
    const stored = await store(j, {
      runId: 'run-2',
      exportId: 'EXP2',
      body: body(zip),
      contentLength: zip.length,
      memorySpoolBytes: MiB,
      spoolDir: dir,
    });
    expect(stored).toMatchObject({ bytes: zip.length, sha256: sha256(zip) });
    expect(sha256(await read(j.key))).toBe(sha256(zip));
    expect(readdirSync(dir)).toEqual([]);
  });

  it('writes an archive above the single-PUT bound as a multipart upload with a full-object CRC-64/NVME the server checks', async () => {
    const zip = await lexLikeZip(12_000_000);
    const j = job('BIGBOT0002');
    const proxy = await startS3FaultProxy(local.server.endpoint);
    const client = s3ClientFor(proxy.url);
    try {
      const stored = await writeArchive({
        s3: client,
        bucket: local.bucket,
        job: j,
        runId: 'run-2',
        exportId: 'EXP2',
        body: body(zip),
        contentLength: zip.length,
        singlePutMaxBytes: 5 * MiB,
        partBytes: 5 * MiB,
      });
      expect(stored).toMatchObject({ bytes: zip.length, sha256: sha256(zip) });
      expect(sha256(await read(j.key))).toBe(sha256(zip));
      const head = await local.s3.send(new HeadObjectCommand({ Bucket: local.bucket, Key: j.key }));
      expect(head.Metadata?.sha256).toBe(sha256(zip));
      // CreateMultipartUpload, three parts, CompleteMultipartUpload; besides them one HEAD to compare, nothing else.
      const writes = proxy.requests.filter((r) => r.path === `/${local.bucket}/${j.key}` && r.method !== 'HEAD');
      expect(writes.map((r) => r.method)).toEqual(['POST', 'PUT', 'PUT', 'PUT', 'POST']);
      expect(proxy.requests.filter((r) => r.method === 'DELETE')).toEqual([]);
      expect(await openUploads()).toBe(0);
    } finally {
      client.destroy();
      await proxy.close();
    }
  });

  it('works without a Content-Length (chunked transfer) and omits bot-name when the name is unknown', async () => {
    const zip = await lexLikeZip();
    const j = job();
    await store(j, { runId: 'run-3', exportId: 'EXP3', body: body(zip) });
    const head = await local.s3.send(new HeadObjectCommand({ Bucket: local.bucket, Key: j.key }));
    expect(head.Metadata?.['bot-name']).toBeUndefined();
    expect(head.Metadata?.sha256).toBe(sha256(zip));
  });

  it('stores exactly the bytes received when they arrive one byte at a time', async () => {
    const zip = await lexLikeZip(0);
    const j = job('RANDOMBOT1');
    const stored = await store(j, { runId: 'r', exportId: 'E', body: body(zip, { chunk: 1 }), contentLength: zip.length });
    expect(sha256(await read(j.key))).toBe(stored.sha256);
    expect(stored.sha256).toBe(sha256(zip));
  });
});

describe('writeArchive: bad bodies store nothing', () => {
  const expectRejected = async (p: Promise<unknown>, message: RegExp) => {
    expect((await rejection(p, DownloadIntegrityError)).message).toMatch(message);
  };

  it('a body shorter than its Content-Length', async () => {
    const zip = await lexLikeZip(5000);
    const j = job();
    await expectRejected(
      store(j, { runId: 'r', exportId: 'E', body: body(zip.subarray(0, 3000)), contentLength: zip.length }),
      new RegExp(`ended after 3000 of ${zip.length} bytes`),
    );
    await expectNothingStored(j);
  });

  it('a body that ends early without a Content-Length (only opening the zip can tell)', async () => {
    const zip = await lexLikeZip(5000);
    const j = job();
    await expectRejected(store(j, { runId: 'r', exportId: 'E', body: body(zip.subarray(0, zip.length - 10)) }), /not a readable zip/);
    await expectNothingStored(j);
  });

  it('a zip bomb (64 kB unpacking to 256 MiB): refused from its central directory before any inflating, nothing stored', async () => {
    const bomb = await zipBomb(256);
    const j = job();
    await expectRejected(
      store(j, { runId: 'r', exportId: 'E', body: body(bomb), contentLength: bomb.length }),
      /not a readable zip: the archive is refused before unpacking: it unpacks to 268435456 bytes from \d+, a compression ratio above the 100 allowed/,
    );
    await expectNothingStored(j);
    // The config's limits are the ones applied: with more entries allowed than it has, but fewer bytes, it names that field.
    await expectRejected(
      store(j, {
        runId: 'r',
        exportId: 'E',
        body: body(bomb),
        contentLength: bomb.length,
        limits: { maxEntries: 10, maxUncompressedBytes: 128 * MiB, maxCompressionRatio: 10_000 },
      }),
      /more than the 134217728 allowed \(config archiveLimits\.maxUncompressedMiB\)/,
    );
    await expectNothingStored(j);
  });

  it('a connection reset mid-body', async () => {
    const zip = await lexLikeZip(5000);
    const j = job();
    await expectRejected(
      store(j, { runId: 'r', exportId: 'E', body: body(zip, { resetAfter: 2000, chunk: 500 }), contentLength: zip.length }),
      // At most the 2000 bytes sent before the reset: chunks still buffered when the stream errors are dropped.
      /interrupted after (1[0-9]{3}|2000|[1-9][0-9]{0,2}) bytes of \d+: ECONNRESET: socket hang up/,
    );
    await expectNothingStored(j);
  });

  it('a body that is not a zip', async () => {
    const html = Buffer.from('<html><body>Service Unavailable</body></html>');
    const j = job();
    await expectRejected(store(j, { runId: 'r', exportId: 'E', body: body(html), contentLength: html.length }), /not a readable zip/);
    await expectNothingStored(j);
  });

  it('an empty body', async () => {
    const j = job();
    await expectRejected(store(j, { runId: 'r', exportId: 'E', body: body(Buffer.alloc(0)), contentLength: 0 }), /empty/);
    await expectNothingStored(j);
  });

  it('a file-spooled body cut mid-way: nothing is uploaded and the spool file is gone', async () => {
    const zip = await lexLikeZip(3_000_000);
    const j = job('BIGBOT0001');
    const dir = spoolDir();
    await expectRejected(
      store(j, {
        runId: 'r',
        exportId: 'E',
        body: body(zip, { resetAfter: 2_000_000 }),
        contentLength: zip.length,
        memorySpoolBytes: MiB,
        spoolDir: dir,
      }),
      /interrupted after/,
    );
    await expectNothingStored(j);
    expect(readdirSync(dir)).toEqual([]);
  });

  it('a body larger than the largest accepted archive is refused without spooling it all', async () => {
    const zip = await lexLikeZip(3_000_000);
    const j = job();
    await expectRejected(
      store(j, { runId: 'r', exportId: 'E', body: body(zip), maxBytes: MiB }),
      /larger than the largest archive BotVault accepts \(1048576 bytes; config maxArchiveMiB\)/,
    );
    await expectRejected(
      store(j, { runId: 'r', exportId: 'E', body: body(zip), contentLength: zip.length, maxBytes: MiB }),
      /announces 3\d+ bytes \(Content-Length\), more than the largest archive/,
    );
    await expectNothingStored(j);
  });

  it('a failed store leaves the previous backup at the key untouched', async () => {
    const j = job();
    const previous = await lexLikeZip(10);
    await local.s3.send(new PutObjectCommand({ Bucket: local.bucket, Key: j.key, Body: previous, Metadata: { sha256: sha256(previous) } }));
    const zip = await lexLikeZip(5000);
    await expectRejected(store(j, { runId: 'r', exportId: 'E', body: body(zip.subarray(0, 100)), contentLength: zip.length }), /ended after/);
    expect((await read(j.key)).equals(previous)).toBe(true);
  });

  it('an S3 failure surfaces as S3 reported it, and the download is torn down', async () => {
    const zip = await lexLikeZip(5000);
    const source = body(zip, { chunk: 100 });
    const err = await writeArchive({
      s3: local.s3,
      bucket: 'no-such-bucket',
      job: job(),
      runId: 'r',
      exportId: 'E',
      body: source,
      contentLength: zip.length,
    }).then(
      () => undefined,
      (e: unknown) => e as Error,
    );
    expect(err?.name).toBe('NoSuchBucket');
    expect(source.destroyed).toBe(true);
  });

  it('bytes damaged on the way to S3 are refused by its checksum: retryable, nothing written, the previous version stays', async () => {
    const j = job();
    const previous = await lexLikeZip(10);
    await store(j, { runId: 'r0', exportId: 'E0', body: body(previous), contentLength: previous.length });
    const proxy = await startS3FaultProxy(local.server.endpoint, { tamperBody: (r) => r.method === 'PUT' && r.path === `/${local.bucket}/${j.key}` });
    const client = s3ClientFor(proxy.url);
    try {
      const zip = await lexLikeZip(2000);
      const err = await rejection(
        writeArchive({ s3: client, bucket: local.bucket, job: j, runId: 'r1', exportId: 'E1', body: body(zip), contentLength: zip.length }),
        ProviderUnavailableError,
      );
      expect(err.message).toMatch(
        /S3 refused the archive for lex\/123456789012\/us-east-1\/ALPHABOT01\/DRAFT\/bot.zip: the bytes it received do not match their checksum \(BadDigest\); nothing was written/,
      );
      expect(proxy.requests.filter((r) => r.method === 'PUT' && r.path === `/${local.bucket}/${j.key}`).map((r) => r.status)).toEqual([400]);
    } finally {
      client.destroy();
      await proxy.close();
    }
    expect((await read(j.key)).equals(previous)).toBe(true);
  });

  it('a stalled download surfaces as the retryable error the guard raised, and stores nothing', async () => {
    const zip = await lexLikeZip();
    const j = job();
    const stalled = new Readable({ read() {} });
    stalled.push(zip.subarray(0, 100));
    setTimeout(() => stalled.destroy(new ProviderUnavailableError('Download from http://x/y stalled: no data for 30 s.')), 20);
    const err = await store(j, { runId: 'r', exportId: 'E', body: stalled, contentLength: zip.length }).then(
      () => undefined,
      (e: unknown) => e as Error,
    );
    expect(err).toBeInstanceOf(ProviderUnavailableError);
    await expectNothingStored(j);
  });
});
