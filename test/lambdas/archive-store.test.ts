/**
 * writeArchive against a real S3-compatible server (s3rver, with the
 * multipart operations the test helper adds): either a verified object lands
 * at the stable key, or nothing does — no object, no staging leftover, no
 * open multipart upload.
 */
import { createHash } from 'node:crypto';
import { Readable } from 'node:stream';
import {
  GetObjectCommand,
  HeadObjectCommand,
  ListMultipartUploadsCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  type S3Client,
} from '@aws-sdk/client-s3';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { stagingKey, writeArchive, PART_SIZE } from '../../lambdas/shared/archive-store';
import type { Job } from '../../lib/core/contracts';
import { DownloadIntegrityError, ProviderUnavailableError } from '../../lib/core/errors';
import { createBucket, s3ClientFor, type S3Server, startLocalS3, stopLocalS3 } from '../simulators/s3-server';
import { chunked, lexLikeZip } from './zip-fixtures';
import { rejection } from '../helpers/rejection';

const sha256 = (b: Buffer) => createHash('sha256').update(b).digest('hex');
let server: S3Server;
let s3: S3Client;
let bucket: string;
let n = 0;

const job = (id = 'lex:ALPHABOT01:DRAFT', name?: string): Job => ({
  id,
  provider: 'lex',
  key: `lex/us-east-1/${id.split(':')[1]}/${id.split(':')[2]}/bot.zip`,
  ...(name ? { name } : {}),
  spec: { kind: 'bot' },
});

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
  const res = await s3.send(new ListObjectsV2Command({ Bucket: bucket, Prefix: prefix }));
  return (res.Contents ?? []).map((o) => o.Key!).sort();
}
async function openUploads(): Promise<number> {
  return ((await s3.send(new ListMultipartUploadsCommand({ Bucket: bucket }))).Uploads ?? []).length;
}
async function read(key: string): Promise<Buffer> {
  const res = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
  return Buffer.from(await res.Body!.transformToByteArray());
}
async function exists(key: string): Promise<boolean> {
  return s3.send(new HeadObjectCommand({ Bucket: bucket, Key: key })).then(
    () => true,
    () => false,
  );
}
async function expectNothingStored(j: Job) {
  expect(await exists(j.key)).toBe(false);
  expect(await keys('staging/')).toEqual([]);
  expect(await openUploads()).toBe(0);
}

beforeAll(async () => {
  ({ server, s3 } = await startLocalS3());
});
afterAll(() => stopLocalS3({ server, s3 }));
beforeEach(async () => {
  bucket = `archive-store-${++n}`;
  await createBucket(server.endpoint, bucket);
});

describe('writeArchive: good archives', () => {
  it('stores the bytes at the stable key with sha256 and provenance metadata, and removes the staging object', async () => {
    const zip = await lexLikeZip(1000);
    const j = job('lex:ALPHABOT01:DRAFT', 'Alpha');
    const stored = await writeArchive({
      s3,
      bucket,
      job: j,
      runId: 'run-1',
      exportId: 'EXP1',
      body: body(zip, { chunk: 333 }),
      contentLength: zip.length,
    });

    expect(stored).toEqual({ key: j.key, bytes: zip.length, sha256: sha256(zip), contentSha256: expect.stringMatching(/^[0-9a-f]{64}$/) });
    expect((await read(j.key)).equals(zip)).toBe(true);
    const head = await s3.send(new HeadObjectCommand({ Bucket: bucket, Key: j.key }));
    expect(head.ContentType).toBe('application/zip');
    expect(head.Metadata).toEqual({
      sha256: sha256(zip),
      source: j.id,
      'export-id': 'EXP1',
      'run-id': 'run-1',
      'bot-name': 'Alpha',
      'content-sha256': stored.contentSha256,
    });
    expect(await keys()).toEqual([j.key]);
    expect(await openUploads()).toBe(0);
  });

  it('streams an archive larger than one part through a multipart upload, intact', async () => {
    const zip = await lexLikeZip(PART_SIZE + 1_500_000);
    const j = job('lex:BIGBOT0001:DRAFT');
    const stored = await writeArchive({ s3, bucket, job: j, runId: 'run-2', exportId: 'EXP2', body: body(zip), contentLength: zip.length });
    expect(stored.bytes).toBe(zip.length);
    expect(stored.sha256).toBe(sha256(zip));
    expect(sha256(await read(j.key))).toBe(sha256(zip));
    expect(await keys('staging/')).toEqual([]);
    expect(await openUploads()).toBe(0);
  });

  it('works without a Content-Length (chunked transfer) and omits bot-name when the name is unknown', async () => {
    const zip = await lexLikeZip();
    const j = job();
    await writeArchive({ s3, bucket, job: j, runId: 'run-3', exportId: 'EXP3', body: body(zip) });
    const head = await s3.send(new HeadObjectCommand({ Bucket: bucket, Key: j.key }));
    expect(head.Metadata?.['bot-name']).toBeUndefined();
    expect(head.Metadata?.sha256).toBe(sha256(zip));
  });

  it('stores exactly the bytes received when they arrive one byte at a time', async () => {
    const zip = await lexLikeZip(0);
    const j = job('lex:RANDOMBOT1:DRAFT');
    const stored = await writeArchive({ s3, bucket, job: j, runId: 'r', exportId: 'E', body: body(zip, { chunk: 1 }), contentLength: zip.length });
    expect(sha256(await read(j.key))).toBe(stored.sha256);
    expect(stored.sha256).toBe(sha256(zip));
  });

  it('uses a staging key that is safe whatever the job id', () => {
    expect(stagingKey('run:1/x', 'lex:A B:DRAFT:en_US')).toBe('staging/run_1_x/lex_A_B_DRAFT_en_US.zip');
  });
});

describe('writeArchive: bad bodies store nothing', () => {
  async function expectRejected(p: Promise<unknown>, message: RegExp) {
    expect((await rejection(p, DownloadIntegrityError)).message).toMatch(message);
  }

  it('a body shorter than its Content-Length', async () => {
    const zip = await lexLikeZip(5000);
    const j = job();
    await expectRejected(
      writeArchive({ s3, bucket, job: j, runId: 'r', exportId: 'E', body: body(zip.subarray(0, 3000)), contentLength: zip.length }),
      new RegExp(`ended after 3000 of ${zip.length} bytes`),
    );
    await expectNothingStored(j);
  });

  it('a body that ends early without a Content-Length (only opening the zip can tell)', async () => {
    const zip = await lexLikeZip(5000);
    const j = job();
    await expectRejected(
      writeArchive({ s3, bucket, job: j, runId: 'r', exportId: 'E', body: body(zip.subarray(0, zip.length - 10)) }),
      /not a readable zip/,
    );
    await expectNothingStored(j);
  });

  it('a connection reset mid-body', async () => {
    const zip = await lexLikeZip(5000);
    const j = job();
    await expectRejected(
      writeArchive({ s3, bucket, job: j, runId: 'r', exportId: 'E', body: body(zip, { resetAfter: 2000, chunk: 500 }), contentLength: zip.length }),
      /interrupted after 2000 bytes of \d+: ECONNRESET: socket hang up/,
    );
    await expectNothingStored(j);
  });

  it('a body that is not a zip', async () => {
    const html = Buffer.from('<html><body>Service Unavailable</body></html>');
    const j = job();
    await expectRejected(
      writeArchive({ s3, bucket, job: j, runId: 'r', exportId: 'E', body: body(html), contentLength: html.length }),
      /not a readable zip/,
    );
    await expectNothingStored(j);
  });

  it('an empty body', async () => {
    const j = job();
    await expectRejected(writeArchive({ s3, bucket, job: j, runId: 'r', exportId: 'E', body: body(Buffer.alloc(0)), contentLength: 0 }), /empty/);
    await expectNothingStored(j);
  });

  it('a multipart-sized body cut after several parts: the multipart upload is aborted', async () => {
    const zip = await lexLikeZip(3 * PART_SIZE);
    const j = job('lex:BIGBOT0001:DRAFT');
    await expectRejected(
      writeArchive({
        s3,
        bucket,
        job: j,
        runId: 'r',
        exportId: 'E',
        body: body(zip, { resetAfter: 2 * PART_SIZE + 12345 }),
        contentLength: zip.length,
      }),
      /interrupted after/,
    );
    await expectNothingStored(j);
  });

  it('a failed store leaves the previous backup at the key untouched', async () => {
    const j = job();
    const previous = await lexLikeZip(10);
    await s3.send(new PutObjectCommand({ Bucket: bucket, Key: j.key, Body: previous, Metadata: { sha256: sha256(previous) } }));
    const zip = await lexLikeZip(5000);
    await expectRejected(
      writeArchive({ s3, bucket, job: j, runId: 'r', exportId: 'E', body: body(zip.subarray(0, 100)), contentLength: zip.length }),
      /ended after/,
    );
    expect((await read(j.key)).equals(previous)).toBe(true);
    expect(await keys('staging/')).toEqual([]);
  });

  it('an S3 failure surfaces as S3 reported it, and the download is torn down', async () => {
    const zip = await lexLikeZip(5000);
    const source = body(zip, { chunk: 100 });
    const err = await writeArchive({
      s3,
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

  it('a stored object that fails verification is removed from the key', async () => {
    // A store that corrupts metadata on the way: HeadObject reports a different hash.
    const tampering = s3ClientFor(server.endpoint);
    tampering.middlewareStack.add(
      (next, context) => async (args) => {
        const out = await next(args);
        if (context.commandName === 'HeadObjectCommand') (out.output as { Metadata?: Record<string, string> }).Metadata = { sha256: '0'.repeat(64) };
        return out;
      },
      { step: 'initialize', name: 'tamperHead' },
    );
    const zip = await lexLikeZip();
    const j = job();
    try {
      await expectRejected(
        writeArchive({ s3: tampering, bucket, job: j, runId: 'r', exportId: 'E', body: body(zip), contentLength: zip.length }),
        /does not match what was downloaded/,
      );
    } finally {
      tampering.destroy();
    }
    await expectNothingStored(j);
  });

  it('a stalled download surfaces as the retryable error the guard raised, and stores nothing', async () => {
    const zip = await lexLikeZip();
    const j = job();
    const stalled = new Readable({ read() {} });
    stalled.push(zip.subarray(0, 100));
    setTimeout(() => stalled.destroy(new ProviderUnavailableError('Download from http://x/y stalled: no data for 30 s.')), 20);
    const err = await writeArchive({ s3, bucket, job: j, runId: 'r', exportId: 'E', body: stalled, contentLength: zip.length }).then(
      () => undefined,
      (e: unknown) => e as Error,
    );
    expect(err).toBeInstanceOf(ProviderUnavailableError);
    await expectNothingStored(j);
  });
});
