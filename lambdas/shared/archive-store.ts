/**
 * Streams one downloaded archive into the bucket, so that either a verified
 * object version lands at the job's stable key or nothing does.
 *
 * The body passes through one Transform that counts bytes, hashes them
 * (SHA-256) and feeds the streaming zip check. Its flush() fails when the byte
 * count differs from Content-Length or the zip check fails; because lib-storage
 * only completes the upload after reading the stream's end, a bad body aborts
 * the upload instead of completing it.
 *
 * Why a staging key and a copy: the `sha256` metadata is only known after the
 * last byte, while a multipart upload's metadata is fixed at
 * CreateMultipartUpload. Uploading to `staging/<runId>/...` and then
 * CopyObject (MetadataDirective REPLACE) onto the stable key is the only way to
 * give the single version at the stable key its own hash. HeadObject then
 * proves the stored size and hash before the job reports success.
 * (CopyObject handles objects up to 5 GB; bot exports are far below that.)
 */
import { createHash } from 'node:crypto';
import { pipeline, type Readable, Transform, type TransformCallback } from 'node:stream';
import {
  AbortMultipartUploadCommand,
  CopyObjectCommand,
  DeleteObjectCommand,
  HeadObjectCommand,
  ListMultipartUploadsCommand,
  type S3Client,
} from '@aws-sdk/client-s3';
import { Upload } from '@aws-sdk/lib-storage';
import type { Job } from './contracts';
import { BotVaultError, DownloadIntegrityError } from './errors';
import { logger } from './logger';
import { ZipStreamCheck } from './zip-check';

export const PART_SIZE = 8 * 1024 * 1024;
export const QUEUE_SIZE = 4;

export interface StoreArchiveParams {
  readonly s3: S3Client;
  readonly bucket: string;
  readonly job: Job;
  readonly runId: string;
  readonly exportId: string;
  readonly body: Readable;
  /** The download's Content-Length, when the server sent one. */
  readonly contentLength?: number;
  /** Extra object metadata; the standard keys (sha256, source, export-id, run-id, bot-name) always win. */
  readonly metadata?: Record<string, string>;
}

export interface StoredArchive {
  key: string;
  versionId?: string;
  bytes: number;
  sha256: string;
}

/** `staging/<runId>/<job id>.zip` with anything but letters, digits, `.`, `_`, `-` replaced by `_`. */
export function stagingKey(runId: string, jobId: string): string {
  const safe = (s: string) => s.replace(/[^A-Za-z0-9._-]/g, '_');
  return `staging/${safe(runId)}/${safe(jobId)}.zip`;
}

/** S3 user metadata travels in HTTP headers: keep printable ASCII, percent-encode the rest. */
function headerSafe(value: string): string {
  return /^[\x20-\x7e]*$/.test(value) ? value : encodeURIComponent(value);
}

/** Counts, hashes and zip-checks the bytes flowing to S3; fails the stream on a bad body. */
class IntegrityTransform extends Transform {
  bytes = 0;
  sha256 = '';
  failure: DownloadIntegrityError | undefined;
  private readonly hash = createHash('sha256');
  private readonly zip = new ZipStreamCheck();

  constructor(private readonly expectedBytes: number | undefined) {
    super();
  }

  override _transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback): void {
    try {
      this.zip.update(chunk);
      this.bytes += chunk.length;
      if (this.expectedBytes !== undefined && this.bytes > this.expectedBytes) {
        throw new DownloadIntegrityError(`The download sent more bytes than its Content-Length (${this.expectedBytes}).`);
      }
      this.hash.update(chunk);
      callback(null, chunk);
    } catch (err) {
      callback(this.fail(err));
    }
  }

  override _flush(callback: TransformCallback): void {
    try {
      if (this.expectedBytes !== undefined && this.bytes !== this.expectedBytes) {
        throw new DownloadIntegrityError(`The download ended after ${this.bytes} of ${this.expectedBytes} bytes (Content-Length): the body was cut short.`);
      }
      this.zip.finish();
      this.sha256 = this.hash.digest('hex');
      callback();
    } catch (err) {
      callback(this.fail(err));
    }
  }

  private fail(err: unknown): Error {
    if (err instanceof DownloadIntegrityError) this.failure = err;
    return err as Error;
  }
}

export async function storeArchive(params: StoreArchiveParams): Promise<StoredArchive> {
  const { s3, bucket, job, runId, exportId, body } = params;
  const staging = stagingKey(runId, job.id);
  const log = { job: job.id, exportId, key: job.key, staging };
  const integrity = new IntegrityTransform(params.contentLength);
  let bodyError: Error | undefined;
  body.once('error', (err) => (bodyError ??= err));
  // pipeline, not pipe: a reset body must destroy the transform (and so fail the upload) instead of leaving it waiting.
  pipeline(body, integrity, () => undefined);

  let stagedVersionId: string | undefined;
  let uploaded = false;
  let written: { versionId?: string } | undefined;
  try {
    try {
      const upload = new Upload({
        client: s3,
        params: { Bucket: bucket, Key: staging, Body: integrity, ContentType: 'application/zip' },
        partSize: PART_SIZE,
        queueSize: QUEUE_SIZE,
        leavePartsOnError: false,
      });
      const staged = await upload.done();
      stagedVersionId = staged.VersionId;
      uploaded = true;
    } catch (err) {
      // lib-storage may throw its abort's error instead of the cause; what went wrong with the body is known here.
      if (integrity.failure) throw integrity.failure;
      if (bodyError) {
        if (bodyError instanceof BotVaultError) throw bodyError;
        const code = (bodyError as { code?: string }).code;
        throw new DownloadIntegrityError(
          `The download was interrupted after ${integrity.bytes} bytes${params.contentLength !== undefined ? ` of ${params.contentLength}` : ''}: ${code ? `${code}: ` : ''}${bodyError.message}.`,
          { cause: bodyError },
        );
      }
      throw err;
    }

    const sha256 = integrity.sha256;
    const bytes = integrity.bytes;
    const metadata: Record<string, string> = {
      ...params.metadata,
      sha256,
      source: headerSafe(job.id),
      'export-id': headerSafe(exportId),
      'run-id': headerSafe(runId),
      ...(job.name ? { 'bot-name': headerSafe(job.name) } : {}),
    };
    const copySource = `${bucket}/${staging.split('/').map(encodeURIComponent).join('/')}${stagedVersionId ? `?versionId=${encodeURIComponent(stagedVersionId)}` : ''}`;
    const copied = await s3.send(
      new CopyObjectCommand({
        Bucket: bucket,
        Key: job.key,
        CopySource: copySource,
        MetadataDirective: 'REPLACE',
        ContentType: 'application/zip',
        Metadata: metadata,
      }),
    );
    written = { versionId: copied.VersionId };

    const head = await s3.send(new HeadObjectCommand({ Bucket: bucket, Key: job.key, ...(copied.VersionId ? { VersionId: copied.VersionId } : {}) }));
    if (head.ContentLength !== bytes || head.Metadata?.sha256 !== sha256) {
      throw new DownloadIntegrityError(
        `The stored object ${job.key} does not match what was downloaded: ${head.ContentLength} bytes with sha256 ${head.Metadata?.sha256 ?? '(none)'}, expected ${bytes} bytes with sha256 ${sha256}.`,
      );
    }
    written = undefined;
    logger.info('Archive stored', { ...log, bytes, sha256, versionId: copied.VersionId });
    return { key: job.key, ...(copied.VersionId ? { versionId: copied.VersionId } : {}), bytes, sha256 };
  } catch (err) {
    body.destroy();
    integrity.destroy();
    if (written) await removeWritten(s3, bucket, job.key, written.versionId, log);
    if (!uploaded) await abortLeftoverUploads(s3, bucket, staging, log);
    throw err;
  } finally {
    if (uploaded) {
      // Best effort: the bucket's lifecycle rule for staging/ is the backstop.
      await s3
        .send(new DeleteObjectCommand({ Bucket: bucket, Key: staging, ...(stagedVersionId ? { VersionId: stagedVersionId } : {}) }))
        .catch((e: unknown) => logger.warn('Could not delete the staging object', { ...log, error: (e as Error).name }));
    }
  }
}

/**
 * The copy landed but failed verification: remove exactly the version we
 * wrote, so no unverified object is left at the stable key. (Unversioned
 * buckets have no version id; there the copy already replaced the key.)
 */
async function removeWritten(s3: S3Client, bucket: string, key: string, versionId: string | undefined, log: object): Promise<void> {
  await s3
    .send(new DeleteObjectCommand({ Bucket: bucket, Key: key, ...(versionId ? { VersionId: versionId } : {}) }))
    .catch((e: unknown) => logger.error('Could not remove an unverified object from the stable key', { ...log, versionId, error: (e as Error).name }));
}

/**
 * lib-storage aborts its multipart upload on failure; if that abort itself
 * failed, incomplete parts would be billed until a lifecycle rule removes
 * them. The staging key is unique to this run and job, so sweeping its
 * uploads touches nothing else.
 */
async function abortLeftoverUploads(s3: S3Client, bucket: string, staging: string, log: object): Promise<void> {
  try {
    const listed = await s3.send(new ListMultipartUploadsCommand({ Bucket: bucket, Prefix: staging }));
    for (const u of listed.Uploads ?? []) {
      if (u.Key === staging && u.UploadId) await s3.send(new AbortMultipartUploadCommand({ Bucket: bucket, Key: staging, UploadId: u.UploadId }));
    }
  } catch (e) {
    logger.debug('Could not sweep multipart uploads of the staging key', { ...log, error: (e as Error).name });
  }
}
