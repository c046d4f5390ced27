/**
 * The one write of an archive version: conditional, and checked by S3 itself.
 *
 * - Up to `singlePutMaxBytes`: one PutObject carrying `x-amz-checksum-sha256`
 *   (S3 refuses a body that does not match it) and every metadata key.
 * - Above: a multipart upload with a full-object CRC-64/NVME checksum (the
 *   only kinds S3 verifies for a whole multipart object are CRC-64/NVME,
 *   CRC-32 and CRC-32C; its SHA-256 is per part), the condition on
 *   CompleteMultipartUpload, and an abort when anything fails.
 *
 * The condition is `If-Match: <ETag of the version compared against>`, or
 * `If-None-Match: *` when there was none (AWS: "Conditional writes",
 * https://docs.aws.amazon.com/AmazonS3/latest/userguide/conditional-writes.html):
 * a write that lost a race answers 412 PreconditionFailed or 409
 * ConditionalRequestConflict and writes nothing; the caller re-reads.
 *
 * A retry after a lost response meets its own write as a failed condition,
 * which the caller resolves by re-reading: one run never adds two versions.
 */
import { Crc64Nvme } from '@aws-sdk/checksums/crc';
import {
  AbortMultipartUploadCommand,
  CompleteMultipartUploadCommand,
  type CompletedPart,
  CreateMultipartUploadCommand,
  PutObjectCommand,
  type S3Client,
  UploadPartCommand,
} from '@aws-sdk/client-s3';
import type { Spooled } from './spool';

/** S3's largest single PutObject (5 GiB). */
const MAX_SINGLE_PUT_BYTES = 5 * 1024 ** 3;
/** Parts of a multipart archive write: 64 MiB (a 10 GiB archive is 160 parts; S3 allows 10,000). */
const ARCHIVE_PART_BYTES = 64 * 1024 * 1024;

type WriteCondition = { readonly ifMatch: string } | { readonly ifNoneMatch: '*' };

export interface PutArchiveParams {
  readonly s3: S3Client;
  readonly bucket: string;
  readonly key: string;
  readonly spool: Spooled;
  readonly metadata: Record<string, string>;
  readonly condition: WriteCondition;
  /** @default MAX_SINGLE_PUT_BYTES */
  readonly singlePutMaxBytes?: number;
  /** @default ARCHIVE_PART_BYTES */
  readonly partBytes?: number;
}

export interface PutArchiveResult {
  readonly versionId?: string;
  readonly etag?: string;
}

/** True for S3's answer to a write whose condition no longer holds (412), or that raced another conditional write (409). */
export function isConditionFailure(err: unknown): boolean {
  const e = err as { name?: string; $metadata?: { httpStatusCode?: number } };
  return (
    e.name === 'PreconditionFailed' ||
    e.name === 'ConditionalRequestConflict' ||
    e.$metadata?.httpStatusCode === 412 ||
    e.$metadata?.httpStatusCode === 409
  );
}

/** True for S3's refusal of a body that does not match the checksum sent with it (the bytes were damaged on the way). */
export function isChecksumRefusal(err: unknown): boolean {
  const name = (err as { name?: string }).name;
  return name === 'BadDigest' || name === 'InvalidDigest' || name === 'XAmzContentSHA256Mismatch' || name === 'XAmzContentChecksumMismatch';
}

const conditionInput = (c: WriteCondition) => ('ifMatch' in c ? { IfMatch: c.ifMatch } : { IfNoneMatch: c.ifNoneMatch });

export async function putArchive(p: PutArchiveParams): Promise<PutArchiveResult> {
  if (p.spool.bytes <= (p.singlePutMaxBytes ?? MAX_SINGLE_PUT_BYTES)) return putSingle(p);
  return putMultipart(p);
}

async function putSingle(p: PutArchiveParams): Promise<PutArchiveResult> {
  const checksum = Buffer.from(p.spool.sha256, 'hex').toString('base64');
  const res = await p.s3.send(
    new PutObjectCommand({
      Bucket: p.bucket,
      Key: p.key,
      Body: p.spool.body(),
      ContentLength: p.spool.bytes,
      ContentType: 'application/zip',
      ChecksumSHA256: checksum,
      Metadata: p.metadata,
      ...conditionInput(p.condition),
    }),
  );
  if (res.ChecksumSHA256 !== undefined && res.ChecksumSHA256 !== checksum) {
    throw new Error(`S3 reports checksum ${res.ChecksumSHA256} for ${p.key}, not the ${checksum} that was sent.`);
  }
  return { ...(res.VersionId ? { versionId: res.VersionId } : {}), ...(res.ETag ? { etag: res.ETag } : {}) };
}

async function putMultipart(p: PutArchiveParams): Promise<PutArchiveResult> {
  const partBytes = p.partBytes ?? ARCHIVE_PART_BYTES;
  const created = await p.s3.send(
    new CreateMultipartUploadCommand({
      Bucket: p.bucket,
      Key: p.key,
      ContentType: 'application/zip',
      Metadata: p.metadata,
      ChecksumAlgorithm: 'CRC64NVME',
      ChecksumType: 'FULL_OBJECT',
    }),
  );
  const uploadId = created.UploadId!;
  try {
    const whole = new Crc64Nvme();
    const parts: CompletedPart[] = [];
    for (let start = 0, n = 1; start < p.spool.bytes; start += partBytes, n++) {
      const end = Math.min(start + partBytes, p.spool.bytes);
      // One part in memory at a time: its checksum and the object's are computed from the same bytes it sends.
      const data = await collect(p.spool.stream(start, end));
      const partCrc = new Crc64Nvme();
      partCrc.update(data);
      whole.update(data);
      const checksum = Buffer.from(await partCrc.digest()).toString('base64');
      const res = await p.s3.send(
        new UploadPartCommand({
          Bucket: p.bucket,
          Key: p.key,
          UploadId: uploadId,
          PartNumber: n,
          Body: data,
          ContentLength: data.length,
          ChecksumCRC64NVME: checksum,
        }),
      );
      parts.push({ PartNumber: n, ETag: res.ETag!, ChecksumCRC64NVME: checksum });
    }
    const res = await p.s3.send(
      new CompleteMultipartUploadCommand({
        Bucket: p.bucket,
        Key: p.key,
        UploadId: uploadId,
        MultipartUpload: { Parts: parts },
        ChecksumCRC64NVME: Buffer.from(await whole.digest()).toString('base64'),
        ChecksumType: 'FULL_OBJECT',
        ...conditionInput(p.condition),
      }),
    );
    return { ...(res.VersionId ? { versionId: res.VersionId } : {}), ...(res.ETag ? { etag: res.ETag } : {}) };
  } catch (err) {
    await p.s3.send(new AbortMultipartUploadCommand({ Bucket: p.bucket, Key: p.key, UploadId: uploadId })).catch(() => undefined);
    throw err;
  }
}

async function collect(stream: AsyncIterable<Uint8Array>): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const c of stream) chunks.push(Buffer.from(c));
  return Buffer.concat(chunks);
}
