/**
 * uploadStream (lambdas/shared/part-upload.ts) against a real S3-compatible
 * server: bytes intact, bounded parallelism, and a failed body or part leaves
 * no object and no open multipart upload.
 */
import { createHash } from 'node:crypto';
import { Readable } from 'node:stream';
import { GetObjectCommand, HeadObjectCommand, ListMultipartUploadsCommand, type S3Client } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MIN_PART_SIZE, uploadStream } from '../../lambdas/shared/part-upload';
import { s3ClientFor, type S3Server, startLocalS3, stopLocalS3 } from '../simulators/s3-server';

const BUCKET = 'part-upload';
let server: S3Server;
let s3: S3Client;

beforeAll(async () => {
  ({ server, s3 } = await startLocalS3(BUCKET));
});
afterAll(() => stopLocalS3({ server, s3 }));

/** `total` deterministic bytes in chunks of `chunk` bytes. */
function bytes(total: number, seed = 7): Buffer {
  const out = Buffer.alloc(total);
  for (let i = 0; i < total; i++) out[i] = (i * 31 + seed + (i >> 11)) & 0xff;
  return out;
}
function streamOf(data: Buffer, chunk = 64 * 1024): Readable {
  return Readable.from(
    (function* () {
      for (let at = 0; at < data.length; at += chunk) yield data.subarray(at, at + chunk);
    })(),
  );
}
const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');

async function stored(key: string): Promise<Buffer> {
  const res = await s3.send(new GetObjectCommand({ Bucket: BUCKET, Key: key }));
  return Buffer.from(await res.Body!.transformToByteArray());
}
async function openUploads(): Promise<number> {
  return (await s3.send(new ListMultipartUploadsCommand({ Bucket: BUCKET }))).Uploads?.length ?? 0;
}
async function exists(key: string): Promise<boolean> {
  return s3.send(new HeadObjectCommand({ Bucket: BUCKET, Key: key })).then(
    () => true,
    () => false,
  );
}

/** Counts UploadPart requests in flight at once, and can fail one part. */
function watchParts(client: S3Client, failPart?: number): { max: number; commands: string[] } {
  const seen = { max: 0, commands: [] as string[] };
  let now = 0;
  client.middlewareStack.add(
    (next, context) => async (args) => {
      const name = (context as { commandName?: string }).commandName ?? '?';
      seen.commands.push(name);
      if (name !== 'UploadPartCommand') return next(args);
      now++;
      seen.max = Math.max(seen.max, now);
      try {
        if ((args.input as { PartNumber?: number }).PartNumber === failPart)
          throw Object.assign(new Error('injected part failure'), { name: 'InjectedPartError' });
        return await next(args);
      } finally {
        now--;
      }
    },
    { step: 'initialize', name: 'watchParts' },
  );
  return seen;
}

describe('uploadStream', () => {
  it('sends a body that fits in one part as a single PutObject', async () => {
    const client = s3ClientFor(server.endpoint);
    const seen = watchParts(client);
    const data = bytes(300_000);
    const res = await uploadStream({
      s3: client,
      bucket: BUCKET,
      key: 'small.bin',
      body: streamOf(data, 1000),
      partSize: MIN_PART_SIZE,
      queueSize: 2,
    });
    expect(res).toMatchObject({ parts: 1, bytes: data.length });
    expect(seen.commands).toEqual(['PutObjectCommand']);
    expect(sha(await stored('small.bin'))).toBe(sha(data));
    client.destroy();
  });

  it('streams a multi-part body intact, with at most queueSize parts in flight', async () => {
    const client = s3ClientFor(server.endpoint);
    const seen = watchParts(client);
    const data = bytes(MIN_PART_SIZE * 4 + 12_345);
    // Odd chunk sizes: parts are cut across chunk boundaries.
    const res = await uploadStream({
      s3: client,
      bucket: BUCKET,
      key: 'big.bin',
      body: streamOf(data, 777_777),
      contentType: 'application/zip',
      partSize: MIN_PART_SIZE,
      queueSize: 2,
    });
    expect(res).toMatchObject({ parts: 5, bytes: data.length });
    expect(seen.max).toBeGreaterThanOrEqual(1);
    expect(seen.max).toBeLessThanOrEqual(2);
    expect(seen.commands.filter((c) => c === 'UploadPartCommand')).toHaveLength(5);
    expect(sha(await stored('big.bin'))).toBe(sha(data));
    expect((await s3.send(new HeadObjectCommand({ Bucket: BUCKET, Key: 'big.bin' }))).ContentType).toBe('application/zip');
    client.destroy();
  });

  it('a body that fails after several parts aborts the upload and rethrows the body error', async () => {
    const data = bytes(MIN_PART_SIZE * 3);
    const body = Readable.from(
      (async function* () {
        yield data.subarray(0, MIN_PART_SIZE * 2 + 100);
        throw Object.assign(new Error('socket hang up'), { code: 'ECONNRESET' });
      })(),
    );
    await expect(uploadStream({ s3, bucket: BUCKET, key: 'cut.bin', body, partSize: MIN_PART_SIZE, queueSize: 3 })).rejects.toThrow('socket hang up');
    expect(await exists('cut.bin')).toBe(false);
    expect(await openUploads()).toBe(0);
  });

  it('a failed part aborts the upload and rethrows the part error', async () => {
    const client = s3ClientFor(server.endpoint);
    const seen = watchParts(client, 2);
    const data = bytes(MIN_PART_SIZE * 4);
    await expect(
      uploadStream({ s3: client, bucket: BUCKET, key: 'part-failed.bin', body: streamOf(data), partSize: MIN_PART_SIZE, queueSize: 2 }),
    ).rejects.toMatchObject({
      name: 'InjectedPartError',
    });
    expect(seen.commands).toContain('AbortMultipartUploadCommand');
    expect(seen.commands).not.toContain('CompleteMultipartUploadCommand');
    expect(await exists('part-failed.bin')).toBe(false);
    expect(await openUploads()).toBe(0);
    client.destroy();
  });

  it('refuses parts smaller than S3 allows and a queue of zero', async () => {
    await expect(
      uploadStream({ s3, bucket: BUCKET, key: 'x', body: streamOf(bytes(10)), partSize: MIN_PART_SIZE - 1, queueSize: 1 }),
    ).rejects.toThrow(/partSize must be/);
    await expect(uploadStream({ s3, bucket: BUCKET, key: 'x', body: streamOf(bytes(10)), partSize: MIN_PART_SIZE, queueSize: 0 })).rejects.toThrow(
      /queueSize must be/,
    );
  });
});
