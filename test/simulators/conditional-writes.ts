/**
 * What every test S3 server must answer as S3 does for BotVault's write path
 * (AWS: "Conditional writes", "Checking object integrity"), checked the same
 * way on s3rver (s3-server.test.ts) and Swift (test/e2e/swift-s3.test.ts).
 */
import { createHash, randomBytes } from 'node:crypto';
import {
  AbortMultipartUploadCommand,
  CompleteMultipartUploadCommand,
  CreateMultipartUploadCommand,
  GetObjectCommand,
  PutObjectCommand,
  type PutObjectCommandOutput,
  type S3Client,
  UploadPartCommand,
} from '@aws-sdk/client-s3';
import { expect } from 'vitest';

/**
 * `If-None-Match: *` onto an empty key succeeds and onto a taken one is 412;
 * `If-Match` with a stale ETag is 412, with the current one it succeeds.
 * Returns the two writes that succeeded.
 */
export async function expectConditionalPuts(s3: S3Client, bucket: string, key: string): Promise<[PutObjectCommandOutput, PutObjectCommandOutput]> {
  const put = (body: string, condition: { IfNoneMatch?: string; IfMatch?: string }) =>
    s3.send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: Buffer.from(body), ...condition }));
  const first = await put('one', { IfNoneMatch: '*' });
  expect(await put('two', { IfNoneMatch: '*' }).catch((e: Error) => e)).toMatchObject({
    name: 'PreconditionFailed',
    $metadata: { httpStatusCode: 412 },
  });
  expect(await put('two', { IfMatch: '"0123"' }).catch((e: Error) => e)).toMatchObject({ name: 'PreconditionFailed' });
  const second = await put('three', { IfMatch: first.ETag! });
  return [first, second];
}

/** `x-amz-checksum-sha256`: a matching body is stored and the checksum echoed; another body is refused (BadDigest). Returns the stored body. */
export async function expectChecksumChecked(s3: S3Client, bucket: string, key: string): Promise<Buffer> {
  const body = randomBytes(20_000);
  const checksum = createHash('sha256').update(body).digest('base64');
  const ok = await s3.send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: body, ChecksumSHA256: checksum }));
  expect(ok.ChecksumSHA256).toBe(checksum);
  const wrong = await s3
    .send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: randomBytes(20_000), ChecksumSHA256: checksum }))
    .catch((e: Error) => e);
  expect(wrong).toMatchObject({ name: 'BadDigest', $metadata: { httpStatusCode: 400 } });
  return body;
}

/**
 * CompleteMultipartUpload is conditional as PutObject is: `If-None-Match: *`
 * onto a taken key and `If-Match` with a stale ETag are 412 and leave the key
 * as it was; `If-Match` with the current ETag completes. One small part each
 * (the last part of an upload may be under 5 MiB).
 */
export async function expectConditionalCompletes(s3: S3Client, bucket: string, key: string): Promise<void> {
  const complete = async (body: string, condition: { IfNoneMatch?: string; IfMatch?: string }) => {
    const { UploadId } = await s3.send(new CreateMultipartUploadCommand({ Bucket: bucket, Key: key }));
    const part = await s3.send(new UploadPartCommand({ Bucket: bucket, Key: key, UploadId, PartNumber: 1, Body: Buffer.from(body) }));
    try {
      return await s3.send(
        new CompleteMultipartUploadCommand({
          Bucket: bucket,
          Key: key,
          UploadId,
          MultipartUpload: { Parts: [{ PartNumber: 1, ETag: part.ETag! }] },
          ...condition,
        }),
      );
    } catch (err) {
      await s3.send(new AbortMultipartUploadCommand({ Bucket: bucket, Key: key, UploadId }));
      throw err;
    }
  };
  const read = async () => await s3.send(new GetObjectCommand({ Bucket: bucket, Key: key })).then((r) => r.Body!.transformToString());
  const first = await complete('one', { IfNoneMatch: '*' });
  expect(await complete('two', { IfNoneMatch: '*' }).catch((e: Error) => e)).toMatchObject({ $metadata: { httpStatusCode: 412 } });
  expect(await complete('two', { IfMatch: '"0123"' }).catch((e: Error) => e)).toMatchObject({ $metadata: { httpStatusCode: 412 } });
  expect(await read()).toBe('one');
  await complete('three', { IfMatch: first.ETag! });
  expect(await read()).toBe('three');
}
