/**
 * The in-process S3 server (s3rver on Node 20) does the S3 operations that
 * BotVault's store uses, with the real S3 client, byte for byte.
 */
import { createHash, randomBytes } from 'node:crypto';
import { Readable } from 'node:stream';
import {
  AbortMultipartUploadCommand,
  CompleteMultipartUploadCommand,
  CopyObjectCommand,
  CreateMultipartUploadCommand,
  DeleteObjectCommand,
  GetObjectCommand,
  HeadObjectCommand,
  ListMultipartUploadsCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  S3Client,
  UploadPartCommand,
} from '@aws-sdk/client-s3';
import { Upload } from '@aws-sdk/lib-storage';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { expectChecksumChecked, expectConditionalCompletes, expectConditionalPuts } from './conditional-writes';
import { s3ClientFor, type S3Server, startLocalS3, startS3Server, stopLocalS3 } from './s3-server';

const sha256 = (b: Buffer) => createHash('sha256').update(b).digest('hex');
const BUCKET = 'botvault-s3rver-test';

/** A body of unknown length, like a download being streamed through. */
function streamOf(bytes: Buffer, chunk = 64 * 1024): Readable {
  return Readable.from(Array.from({ length: Math.ceil(bytes.length / chunk) }, (_, i) => bytes.subarray(i * chunk, (i + 1) * chunk)));
}

async function read(s3: S3Client, key: string): Promise<Buffer> {
  const res = await s3.send(new GetObjectCommand({ Bucket: BUCKET, Key: key }));
  return Buffer.from(await res.Body!.transformToByteArray());
}

let server: S3Server;
let s3: S3Client;
beforeAll(async () => {
  ({ server, s3 } = await startLocalS3(BUCKET));
});
afterAll(() => stopLocalS3({ server, s3 }));

describe('s3rver (in-process S3)', () => {
  it('listens on 127.0.0.1 on a random port', () => {
    expect(server.endpoint).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    expect(server.endpoint).not.toBe('http://127.0.0.1:4568');
  });

  it('PutObject stores a streamed body exactly and HeadObject returns its metadata', async () => {
    const body = randomBytes(100_000);
    await s3.send(
      new PutObjectCommand({
        Bucket: BUCKET,
        Key: 'put/stream.bin',
        Body: streamOf(body),
        ContentLength: body.length,
        Metadata: { sha256: sha256(body) },
      }),
    );
    const head = await s3.send(new HeadObjectCommand({ Bucket: BUCKET, Key: 'put/stream.bin' }));
    expect(head.ContentLength).toBe(body.length);
    expect(head.Metadata).toEqual({ sha256: sha256(body) });
    expect((await read(s3, 'put/stream.bin')).equals(body)).toBe(true);
  });

  it('a PutObject whose body breaks off leaves the previous object as it was', async () => {
    const before = randomBytes(200_000);
    await s3.send(new PutObjectCommand({ Bucket: BUCKET, Key: 'put/kept.bin', Body: before }));
    // 64 KiB of a declared 1 MiB, then the connection is cut (the rest never comes).
    const stall = new Readable({ read() {} });
    stall.push(randomBytes(64 * 1024));
    const cutter = new AbortController();
    setTimeout(() => cutter.abort(), 300);
    await expect(
      s3.send(new PutObjectCommand({ Bucket: BUCKET, Key: 'put/kept.bin', Body: stall, ContentLength: 1024 * 1024 }), { abortSignal: cutter.signal }),
    ).rejects.toThrow();
    stall.destroy();
    // s3rver handles the broken request after the client has given up on it.
    await new Promise((r) => setTimeout(r, 200));
    expect((await read(s3, 'put/kept.bin')).equals(before)).toBe(true);
  });

  it('a multipart Upload of a 6 MB+ stream is stored exactly (no aws-chunked framing), metadata included', async () => {
    const body = randomBytes(6 * 1024 * 1024 + 4321);
    const upload = new Upload({
      client: s3,
      params: { Bucket: BUCKET, Key: 'mpu/big.zip', Body: streamOf(body), Metadata: { sha256: sha256(body), 'run-id': 'r1' } },
      partSize: 5 * 1024 * 1024,
      queueSize: 1,
    });
    const parts: number[] = [];
    upload.on('httpUploadProgress', (p) => p.part !== undefined && parts.push(p.part));
    await upload.done();

    expect(new Set(parts).size).toBe(2);
    const stored = await read(s3, 'mpu/big.zip');
    expect(stored.length).toBe(body.length);
    expect(sha256(stored)).toBe(sha256(body));
    const head = await s3.send(new HeadObjectCommand({ Bucket: BUCKET, Key: 'mpu/big.zip' }));
    expect(head.Metadata).toEqual({ sha256: sha256(body), 'run-id': 'r1' });
    expect((await s3.send(new ListMultipartUploadsCommand({ Bucket: BUCKET }))).Uploads).toBeUndefined();
  });

  it('CopyObject with MetadataDirective REPLACE rewrites the metadata and keeps the bytes', async () => {
    const body = randomBytes(20_000);
    await s3.send(new PutObjectCommand({ Bucket: BUCKET, Key: 'staging/a.zip', Body: body, Metadata: { stage: 'staging' } }));
    await s3.send(
      new CopyObjectCommand({
        Bucket: BUCKET,
        Key: 'lex/123456789012/us-east-1/BOT/DRAFT/bot.zip',
        CopySource: `${BUCKET}/staging/a.zip`,
        MetadataDirective: 'REPLACE',
        Metadata: { sha256: sha256(body), 'export-id': 'EXP1' },
        ContentType: 'application/zip',
      }),
    );
    const head = await s3.send(new HeadObjectCommand({ Bucket: BUCKET, Key: 'lex/123456789012/us-east-1/BOT/DRAFT/bot.zip' }));
    expect(head.Metadata).toEqual({ sha256: sha256(body), 'export-id': 'EXP1' });
    expect(head.ContentType).toBe('application/zip');
    expect((await read(s3, 'lex/123456789012/us-east-1/BOT/DRAFT/bot.zip')).equals(body)).toBe(true);
  });

  it('ListMultipartUploads shows an open upload and AbortMultipartUpload removes it (both added over s3rver)', async () => {
    const key = 'mpu/aborted.zip';
    const { UploadId } = await s3.send(new CreateMultipartUploadCommand({ Bucket: BUCKET, Key: key }));
    await s3.send(new UploadPartCommand({ Bucket: BUCKET, Key: key, UploadId, PartNumber: 1, Body: randomBytes(1024) }));

    const open = await s3.send(new ListMultipartUploadsCommand({ Bucket: BUCKET, Prefix: 'mpu/' }));
    expect(open.Uploads?.map((u) => [u.Key, u.UploadId])).toEqual([[key, UploadId]]);
    expect(open.Uploads?.[0]?.Initiated).toBeInstanceOf(Date);
    expect((await s3.send(new ListMultipartUploadsCommand({ Bucket: BUCKET, Prefix: 'other/' }))).Uploads).toBeUndefined();

    await s3.send(new AbortMultipartUploadCommand({ Bucket: BUCKET, Key: key, UploadId }));
    expect((await s3.send(new ListMultipartUploadsCommand({ Bucket: BUCKET }))).Uploads).toBeUndefined();
    await expect(s3.send(new AbortMultipartUploadCommand({ Bucket: BUCKET, Key: key, UploadId }))).rejects.toMatchObject({ name: 'NoSuchUpload' });
    await expect(s3.send(new HeadObjectCommand({ Bucket: BUCKET, Key: key }))).rejects.toMatchObject({ $metadata: { httpStatusCode: 404 } });
  });

  it('an Upload whose stream fails mid-body aborts its multipart upload and leaves no object', async () => {
    const key = 'mpu/cut.zip';
    const first = randomBytes(5 * 1024 * 1024 + 10);
    async function* cut() {
      yield first;
      throw new Error('socket reset by the provider');
    }
    const client = s3ClientFor(server.endpoint);
    const sent: string[] = [];
    client.middlewareStack.add(
      (next, context) => async (args) => {
        sent.push(String(context.commandName));
        return next(args);
      },
      { step: 'initialize' },
    );
    const upload = new Upload({ client, params: { Bucket: BUCKET, Key: key, Body: Readable.from(cut()) }, partSize: 5 * 1024 * 1024, queueSize: 1 });
    await expect(upload.done()).rejects.toThrow('socket reset by the provider');
    client.destroy();
    // The upload really was open when the body failed, and lib-storage aborted it.
    expect(sent).toContain('CreateMultipartUploadCommand');
    expect(sent).toContain('AbortMultipartUploadCommand');
    expect((await s3.send(new ListMultipartUploadsCommand({ Bucket: BUCKET }))).Uploads).toBeUndefined();
    await expect(s3.send(new HeadObjectCommand({ Bucket: BUCKET, Key: key }))).rejects.toMatchObject({ $metadata: { httpStatusCode: 404 } });
  });

  it('conditional PutObject as S3 answers it: If-None-Match: * only onto an empty key, If-Match only onto that ETag; 412 otherwise, nothing written', async () => {
    const key = 'cond/a.bin';
    const [first] = await expectConditionalPuts(s3, BUCKET, key);
    expect((await read(s3, key)).toString()).toBe('three');
    const absent = await s3
      .send(new PutObjectCommand({ Bucket: BUCKET, Key: 'cond/none.bin', Body: Buffer.from('x'), IfMatch: first.ETag }))
      .catch((e: Error) => e);
    expect(absent).toMatchObject({ name: 'PreconditionFailed' });
  });

  it('conditional CompleteMultipartUpload as S3 answers it: 412 onto a taken key or a stale ETag, the key left as it was', async () => {
    await expectConditionalCompletes(s3, BUCKET, `cond/mpu-${randomBytes(3).toString('hex')}.zip`);
  });

  it('of two concurrent If-None-Match: * writes of one key exactly one succeeds', async () => {
    const key = 'cond/race.bin';
    const results = await Promise.allSettled(
      Array.from({ length: 4 }, (_, i) =>
        s3.send(new PutObjectCommand({ Bucket: BUCKET, Key: key, Body: randomBytes(200_000 + i), IfNoneMatch: '*' })),
      ),
    );
    expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(1);
    expect(results.filter((r) => r.status === 'rejected').map((r) => (r as PromiseRejectedResult).reason.name)).toEqual([
      'PreconditionFailed',
      'PreconditionFailed',
      'PreconditionFailed',
    ]);
  });

  it('x-amz-checksum-sha256 is checked: a matching body is stored and the checksum echoed, another one refused (BadDigest) leaving the object as it was', async () => {
    const body = await expectChecksumChecked(s3, BUCKET, 'sum/a.bin');
    expect(sha256(await read(s3, 'sum/a.bin'))).toBe(sha256(body));
  });

  it('a multipart upload with a full-object CRC-64/NVME is checked on completion: a wrong one is refused (BadDigest)', async () => {
    const { Crc64Nvme } = await import('@aws-sdk/checksums/crc');
    const crc = async (b: Buffer) => {
      const c = new Crc64Nvme();
      c.update(b);
      return Buffer.from(await c.digest()).toString('base64');
    };
    const part = randomBytes(5 * 1024 * 1024);
    const upload = async (key: string, full: string) => {
      const { UploadId } = await s3.send(
        new CreateMultipartUploadCommand({ Bucket: BUCKET, Key: key, ChecksumAlgorithm: 'CRC64NVME', ChecksumType: 'FULL_OBJECT' }),
      );
      const p = await s3.send(
        new UploadPartCommand({ Bucket: BUCKET, Key: key, UploadId, PartNumber: 1, Body: part, ChecksumCRC64NVME: await crc(part) }),
      );
      return s3.send(
        new CompleteMultipartUploadCommand({
          Bucket: BUCKET,
          Key: key,
          UploadId,
          MultipartUpload: { Parts: [{ PartNumber: 1, ETag: p.ETag }] },
          ChecksumCRC64NVME: full,
          ChecksumType: 'FULL_OBJECT',
          IfNoneMatch: '*',
        }),
      );
    };
    await upload('mpu/crc-ok.bin', await crc(part));
    expect(sha256(await read(s3, 'mpu/crc-ok.bin'))).toBe(sha256(part));
    const wrong = await upload('mpu/crc-bad.bin', await crc(Buffer.from('other'))).catch((e: Error) => e);
    expect(wrong).toMatchObject({ name: 'BadDigest' });
    const again = await upload('mpu/crc-ok.bin', await crc(part)).catch((e: Error) => e);
    expect(again).toMatchObject({ name: 'PreconditionFailed' });
  });

  it('ListObjectsV2 lists by prefix and DeleteObject removes', async () => {
    await s3.send(new PutObjectCommand({ Bucket: BUCKET, Key: 'list/one', Body: 'one' }));
    await s3.send(new PutObjectCommand({ Bucket: BUCKET, Key: 'list/two', Body: 'two' }));
    const listed = await s3.send(new ListObjectsV2Command({ Bucket: BUCKET, Prefix: 'list/' }));
    expect(listed.Contents?.map((o) => [o.Key, o.Size])).toEqual([
      ['list/one', 3],
      ['list/two', 3],
    ]);

    await s3.send(new DeleteObjectCommand({ Bucket: BUCKET, Key: 'list/one' }));
    const after = await s3.send(new ListObjectsV2Command({ Bucket: BUCKET, Prefix: 'list/' }));
    expect(after.Contents?.map((o) => o.Key)).toEqual(['list/two']);
    await expect(s3.send(new GetObjectCommand({ Bucket: BUCKET, Key: 'list/one' }))).rejects.toMatchObject({ name: 'NoSuchKey' });
  });

  it('rejects an unknown access key (s3rver does not verify SigV4 signatures themselves)', async () => {
    const stranger = s3ClientFor(server.endpoint, { accessKeyId: 'AKIASTRANGER', secretAccessKey: 'S3RVER' });
    try {
      await expect(stranger.send(new ListObjectsV2Command({ Bucket: BUCKET }))).rejects.toMatchObject({ name: 'InvalidAccessKeyId' });
    } finally {
      stranger.destroy();
    }
  });

  it('why the client disables default checksums: otherwise a streamed PutObject is stored with its aws-chunked framing', async () => {
    const defaults = new S3Client({
      endpoint: server.endpoint,
      region: 'us-east-1',
      forcePathStyle: true,
      credentials: { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' },
    });
    try {
      await defaults.send(
        new PutObjectCommand({ Bucket: BUCKET, Key: 'framing/hello', Body: Readable.from([Buffer.from('hello')]), ContentLength: 5 }),
      );
      const stored = (await read(s3, 'framing/hello')).toString();
      expect(stored).not.toBe('hello');
      expect(stored).toContain('x-amz-checksum-crc32');
    } finally {
      defaults.destroy();
    }
  });

  it('each server gets a fresh store, and close() is idempotent', async () => {
    const other = await startS3Server();
    const client = s3ClientFor(other.endpoint);
    try {
      await expect(client.send(new ListObjectsV2Command({ Bucket: BUCKET }))).rejects.toMatchObject({ name: 'NoSuchBucket' });
    } finally {
      client.destroy();
      await other.close();
      await other.close();
    }
    await expect(fetch(`${other.endpoint}/`)).rejects.toThrow();
  });
});
