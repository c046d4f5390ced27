/**
 * Streams one downloaded archive into the bucket, so that either a verified
 * object version lands at the job's stable key or nothing does.
 *
 * The body passes through one Transform that counts bytes and hashes them
 * (SHA-256). Its flush() fails when the byte count differs from
 * Content-Length; because the upload (part-upload.ts) only completes after
 * reading the stream's end, a cut body aborts the upload instead of
 * completing it. The staged object is then opened as a zip (lib/core/archive/zip.ts,
 * by range reads) and every entry inflated and CRC-checked while its content
 * hash is computed: an archive that does not unpack fails the job before
 * anything reaches the stable key.
 *
 * Why a staging key and a copy: the `sha256` metadata is only known after the
 * last byte, while a multipart upload's metadata is fixed at
 * CreateMultipartUpload. Uploading to `staging/<runId>/...` and then
 * CopyObject (MetadataDirective REPLACE) onto the stable key is the only way to
 * give the single version at the stable key its own hash. HeadObject then
 * proves the stored size and hash before the job reports success.
 * (CopyObject handles objects up to 5 GB; bot exports are far below that.)
 *
 * Change detection (issue 6): before the copy, the staged object's content
 * hash (lib/core/archive/zip.ts: entries' names and contents, not timestamps or
 * order) is computed by range reads of the staged object, in flat memory. A
 * password-protected Lex export is decrypted in memory with the export's
 * password (`password`), so its hash is its plaintext's. With
 * `changeDetection: 'skipUnchanged'` (the default), when the current object at
 * the stable key carries the same `content-sha256`, nothing is copied: the
 * job is UNCHANGED and reports the current version, so every S3 version is a
 * real change.
 *
 * Restore sidecar: the provider's restore details (restore-info.ts) are
 * captured from the staged archive, named in the archive's
 * `restore-info-sha256` metadata, and written to `<key>.restore.json` after the
 * archive version is verified (for an UNCHANGED archive: only when they
 * changed). A sidecar failure never fails the backup: restoreInfo says
 * 'unavailable'.
 */
import { createHash } from 'node:crypto';
import { pipeline, type Readable, Transform, type TransformCallback } from 'node:stream';
import {
  AbortMultipartUploadCommand,
  CopyObjectCommand,
  DeleteObjectCommand,
  HeadObjectCommand,
  type HeadObjectCommandOutput,
  ListMultipartUploadsCommand,
  type S3Client,
} from '@aws-sdk/client-s3';
import type { ArchiveReader } from '../../lib/providers/types';
import type { Job } from '../../lib/core/contracts';
import { ArchivePasswordError, BotVaultError, DownloadIntegrityError } from '../../lib/core/errors';
import { logger } from '../../lib/core/logger';
import { STAGING_PREFIX, SHA256_METADATA, RUN_ID_METADATA } from '../../lib/core/names';
import { restoreInfoSha256, writeSidecar, type CapturedRestoreInfo } from './restore-info';
import { s3ByteSource } from '../../lib/core/archive/s3-byte-source';
import { ZipArchive, ZipArchiveError, ZipPasswordError, ZipUnsupportedError } from '../../lib/core/archive/zip';
import { uploadStream } from './part-upload';
import type { RestoreDetails } from '../../lib/providers/definitions';
import { CONTENT_SHA256_METADATA, PASSWORD_SECRET_METADATA, RESTORE_INFO_SHA256_METADATA } from '../../lib/core/names';

/**
 * Upload tuning (README "Performance", `npm run bench`): memory is a fixed pool of QUEUE_SIZE + 1
 * part buffers (part-upload.ts), here 20 MiB at most, whatever the archive's size; three parts in
 * flight keep a Lambda's network busy, and 5 MiB parts (S3's minimum) still allow 48 GiB archives.
 */
export const PART_SIZE = 5 * 1024 * 1024;
export const QUEUE_SIZE = 3;

export interface WriteArchiveParams {
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
  /** skipUnchanged: no new version when the content hash equals the current object's. @default 'skipUnchanged' */
  readonly changeDetection?: ChangeDetection;
  /** The provider's restore details, read from the staged archive (Provider.restoreInfo); none when absent. */
  readonly restoreDetails?: (archive: ArchiveReader) => Promise<RestoreDetails | undefined>;
  /** Decrypts a password-protected export (Provider.archivePassword); never logged, never stored. */
  readonly password?: string;
  /** Object metadata naming where the password lives (`password-secret`), so readers can decrypt it later. */
  readonly passwordSecret?: string;
}

export type ChangeDetection = 'skipUnchanged' | 'always';

export interface StoredArchive {
  /**
   * UNCHANGED: nothing was written; versionId, bytes and sha256 are the
   * current object's. Absent: SUCCEEDED (a new version, or the one this run
   * already wrote).
   */
  status?: 'UNCHANGED';
  key: string;
  versionId?: string;
  bytes: number;
  sha256: string;
  /** The entries' content hash; absent when the archive has none (encrypted, and no password to open it). */
  contentSha256?: string;
  /** The restore sidecar's fate; absent when the provider records nothing for this job. */
  restoreInfo?: 'written' | 'unchanged' | 'unavailable';
}

/** `staging/<runId>/<job id>.zip` with anything but letters, digits, `.`, `_`, `-` replaced by `_`. */
export function stagingKey(runId: string, jobId: string): string {
  const safe = (s: string) => s.replace(/[^A-Za-z0-9._-]/g, '_');
  return `${STAGING_PREFIX}${safe(runId)}/${safe(jobId)}.zip`;
}

/** S3 user metadata travels in HTTP headers: keep printable ASCII, percent-encode the rest. */
function headerSafe(value: string): string {
  return /^[\x20-\x7e]*$/.test(value) ? value : encodeURIComponent(value);
}

/** Counts and hashes the bytes flowing to S3; fails the stream on a body longer or shorter than its Content-Length. */
class IntegrityTransform extends Transform {
  bytes = 0;
  sha256 = '';
  failure: DownloadIntegrityError | undefined;
  private readonly hash = createHash('sha256');

  constructor(private readonly expectedBytes: number | undefined) {
    super();
  }

  override _transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback): void {
    try {
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
        throw new DownloadIntegrityError(
          `The download ended after ${this.bytes} of ${this.expectedBytes} bytes (Content-Length): the body was cut short.`,
        );
      }
      if (this.bytes === 0) throw new DownloadIntegrityError('The download is empty (0 bytes): not an archive.');
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

export async function writeArchive(params: WriteArchiveParams): Promise<StoredArchive> {
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
      const staged = await uploadStream({
        s3,
        bucket,
        key: staging,
        body: integrity,
        contentType: 'application/zip',
        partSize: PART_SIZE,
        queueSize: QUEUE_SIZE,
      });
      stagedVersionId = staged.versionId;
      uploaded = true;
    } catch (err) {
      // The upload may fail with a consequence (a stream cut short) instead of the cause; what went wrong with the body is known here.
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
    const already = await versionOfThisRun(s3, bucket, job.key, runId, sha256, bytes);
    if (already) {
      logger.info('Archive already stored by this run; not writing a second version', { ...log, bytes, sha256, versionId: already.versionId });
      return { key: job.key, ...(already.versionId ? { versionId: already.versionId } : {}), bytes, sha256 };
    }
    const metadata: Record<string, string> = {
      ...params.metadata,
      [SHA256_METADATA]: sha256,
      source: headerSafe(job.id),
      'export-id': headerSafe(exportId),
      [RUN_ID_METADATA]: headerSafe(runId),
      ...(job.name ? { 'bot-name': headerSafe(job.name) } : {}),
      ...(params.passwordSecret ? { [PASSWORD_SECRET_METADATA]: headerSafe(params.passwordSecret) } : {}),
    };

    const zip = await openStaged(s3, bucket, staging, bytes, stagedVersionId, params.password);
    let contentSha256: string | undefined;
    let restore: CapturedRestoreInfo | 'unavailable' | undefined;
    try {
      contentSha256 = await contentHash(zip, log, params.password !== undefined);
      restore = params.restoreDetails ? await captureRestoreInfo(job, zip, params.restoreDetails, log) : undefined;
    } finally {
      await zip.close();
    }
    /** Writes the sidecar for `archive` (the version now current), when details were captured. */
    const sidecarFor = async (archive: { versionId?: string; sha256: string }, onlyIfChanged: boolean) =>
      restore === 'unavailable' || restore === undefined ? restore : writeSidecar({ s3, bucket, job, runId, info: restore, archive, onlyIfChanged });
    if ((params.changeDetection ?? 'skipUnchanged') === 'skipUnchanged' && contentSha256) {
      const current = await headCurrent(s3, bucket, job.key);
      if (
        current &&
        current.Metadata?.[CONTENT_SHA256_METADATA] === contentSha256 &&
        current.Metadata[SHA256_METADATA] &&
        current.ContentLength !== undefined
      ) {
        const unchanged = {
          key: job.key,
          ...(current.VersionId ? { versionId: current.VersionId } : {}),
          bytes: current.ContentLength,
          sha256: current.Metadata[SHA256_METADATA],
        };
        const restoreInfo = await sidecarFor(unchanged, true);
        logger.info('Archive unchanged: same content as the current version, nothing written', {
          ...log,
          contentSha256,
          versionId: current.VersionId,
          restoreInfo,
        });
        return { status: 'UNCHANGED', ...unchanged, contentSha256, ...(restoreInfo ? { restoreInfo } : {}) };
      }
    }
    if (contentSha256) metadata[CONTENT_SHA256_METADATA] = contentSha256;
    if (restore && restore !== 'unavailable') metadata[RESTORE_INFO_SHA256_METADATA] = restore.sha256;
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
    if (head.ContentLength !== bytes || head.Metadata?.[SHA256_METADATA] !== sha256) {
      throw new DownloadIntegrityError(
        `The stored object ${job.key} does not match what was downloaded: ${head.ContentLength} bytes with sha256 ${head.Metadata?.[SHA256_METADATA] ?? '(none)'}, expected ${bytes} bytes with sha256 ${sha256}.`,
      );
    }
    written = undefined;
    const stored = { key: job.key, ...(copied.VersionId ? { versionId: copied.VersionId } : {}), bytes, sha256 };
    const restoreInfo = await sidecarFor(stored, false);
    logger.info('Archive stored', { ...log, bytes, sha256, contentSha256, versionId: copied.VersionId, restoreInfo });
    return { ...stored, ...(contentSha256 ? { contentSha256 } : {}), ...(restoreInfo ? { restoreInfo } : {}) };
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
 * The version this run already wrote at `key`, if it is the current one and
 * holds exactly these bytes (its `run-id` is this run's, its `sha256` and size
 * are this archive's). StoreArchive runs again for the same job and run when a
 * retry follows a timeout or crash that had in fact written; copying again
 * would add a second, identical version to the bot's history.
 */
async function versionOfThisRun(
  s3: S3Client,
  bucket: string,
  key: string,
  runId: string,
  sha256: string,
  bytes: number,
): Promise<{ versionId?: string } | undefined> {
  let head: HeadObjectCommandOutput;
  try {
    head = await s3.send(new HeadObjectCommand({ Bucket: bucket, Key: key }));
  } catch (err) {
    const status = (err as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode;
    if ((err as Error).name === 'NotFound' || (err as Error).name === 'NoSuchKey' || status === 404) return undefined;
    // Without s3:ListBucket (StoreArchive has none), S3 answers a HeadObject of a key that does not exist yet with 403.
    if (status === 403) return undefined;
    throw err;
  }
  const meta = head.Metadata ?? {};
  if (meta[RUN_ID_METADATA] !== headerSafe(runId) || meta[SHA256_METADATA] !== sha256 || head.ContentLength !== bytes) return undefined;
  return head.VersionId ? { versionId: head.VersionId } : {};
}

/**
 * The copy landed but failed verification: remove exactly the version we
 * wrote, so no unverified object is left at the stable key. (Unversioned
 * buckets have no version id; there the copy already replaced the key.)
 */
async function removeWritten(s3: S3Client, bucket: string, key: string, versionId: string | undefined, log: object): Promise<void> {
  await s3
    .send(new DeleteObjectCommand({ Bucket: bucket, Key: key, ...(versionId ? { VersionId: versionId } : {}) }))
    .catch((e: unknown) =>
      logger.error('Could not remove an unverified object from the stable key', { ...log, versionId, error: (e as Error).name }),
    );
}

/**
 * The upload aborts its multipart upload on failure; if that abort itself
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

/**
 * Opens the staged archive by its central directory. An archive that does not
 * open is a bad download (DownloadIntegrityError: nothing reaches the stable
 * key); a failed range read is passed on as it is.
 */
async function openStaged(
  s3: S3Client,
  bucket: string,
  staging: string,
  bytes: number,
  versionId: string | undefined,
  password: string | undefined,
): Promise<ZipArchive> {
  try {
    return await ZipArchive.open(s3ByteSource(s3, bucket, staging, bytes, versionId), password !== undefined ? { password } : {});
  } catch (err) {
    if (err instanceof ZipArchiveError)
      throw new DownloadIntegrityError(`The downloaded archive is not a readable zip: ${err.message}.`, { cause: err });
    throw err;
  }
}

/**
 * The content hash; every entry is inflated and checked on the way, so a
 * damaged entry (CRC-32, size, deflate data, AES authentication code) fails
 * the store with DownloadIntegrityError. Undefined only when the archive
 * cannot be decrypted or decoded here (encrypted without a password to open
 * it, an unknown method): then it is stored as a new version, the safe side.
 */
async function contentHash(zip: ZipArchive, log: object, hasPassword: boolean): Promise<string | undefined> {
  try {
    return await zip.contentSha256();
  } catch (err) {
    if (err instanceof ZipArchiveError)
      throw new DownloadIntegrityError(`The downloaded archive failed the content check: ${err.message}.`, { cause: err });
    if (err instanceof ZipPasswordError && zip.encrypted) {
      // A password was configured but does not open it: rotated while the export ran? Never store what cannot be checked.
      if (hasPassword)
        throw new ArchivePasswordError(
          `The export's entries do not decrypt with the password from its passwordSecret (was the secret changed while the export ran?): ${err.message}.`,
          { cause: err },
        );
      logger.info('Archive is password-protected and no password is configured: no content hash, change detection does not apply', { ...log });
      return undefined;
    }
    if (err instanceof ZipUnsupportedError) {
      logger.info('Archive has no content hash; change detection does not apply', { ...log, reason: err.message });
      return undefined;
    }
    throw err;
  }
}

/** The provider's restore details and their hash; 'unavailable' (logged) when they could not be captured; undefined when there are none. */
async function captureRestoreInfo(
  job: Job,
  zip: ZipArchive,
  read: NonNullable<WriteArchiveParams['restoreDetails']>,
  log: object,
): Promise<CapturedRestoreInfo | 'unavailable' | undefined> {
  try {
    const reader: ArchiveReader = { readEntry: (name, maxBytes) => zip.read(name, maxBytes) };
    const details = await read(reader);
    if (!details) return undefined;
    return { details, sha256: restoreInfoSha256(job, details) };
  } catch (err) {
    logger.warn('Could not capture the restore details; the archive is stored without a sidecar', {
      ...log,
      error: (err as Error).name,
      reason: (err as Error).message,
    });
    return 'unavailable';
  }
}

/** The current object at the stable key, or undefined when there is none. */
async function headCurrent(s3: S3Client, bucket: string, key: string) {
  try {
    return await s3.send(new HeadObjectCommand({ Bucket: bucket, Key: key }));
  } catch (err) {
    const e = err as { name?: string; $metadata?: { httpStatusCode?: number } };
    if (e.name === 'NotFound' || e.name === 'NoSuchKey' || e.$metadata?.httpStatusCode === 404) return undefined;
    // Without s3:ListBucket (the Lambda has none), S3 answers 403, not 404, for a key that does not exist yet.
    if (e.$metadata?.httpStatusCode === 403) return undefined;
    throw err;
  }
}
