/**
 * Stores one downloaded archive, so that either one verified version lands at
 * the job's stable key or nothing does, and nothing is ever deleted.
 *
 * 1. Spool (spool.ts): the download is read to its end in memory, or beyond
 *    a bound on the function's ephemeral storage, counted against its
 *    Content-Length and the largest accepted archive, and SHA-256 hashed.
 * 2. Check: the spool is opened as a zip (lib/core/archive/zip.ts) and every
 *    entry inflated and CRC-checked while its content hash (entries' names
 *    and contents, not timestamps or order) is computed; a password-protected
 *    Lex export is decrypted in memory with its password, so its hash is its
 *    plaintext's. The provider's restore details are read from the spool too.
 *    An archive that does not unpack fails the job with nothing written.
 * 3. Compare: one HeadObject of the stable key (sent while the download
 *    runs, so it costs no time of its own). When the current version is
 *    the one this run already wrote (a retry after a lost response or a
 *    crash), the job reports it; with `changeDetection: 'skipUnchanged'` (the
 *    default), when it has the same `content-sha256` (and, with a MAC key, a
 *    MAC that verifies), nothing is written and the job is UNCHANGED, so every S3 version
 *    is a real change, or the first authenticated copy of one.
 * 4. Write (archive-put.ts): one conditional write of the final object with
 *    all its metadata and a checksum S3 verifies: `If-Match` the ETag of the
 *    version compared against, or `If-None-Match: *` when there was none.
 *    Losing a race (412/409) means another writer got there first: back to 3,
 *    at most three times.
 *
 * Legacy key: a home-account Lex job carries the key its archives had before
 * account ids (`job.legacyKey`). Until the first version lands under the new
 * key, the legacy key's current version is the one compared against (and
 * summarized against), so the change of layout writes no spurious version and
 * reports no change; the write itself is still conditional on the new key.
 *
 * Restore sidecar: the details are named in the archive's
 * `restore-info-sha256` metadata and written to `<key>.restore.json` after
 * the archive version (for an UNCHANGED archive: only when they changed). A
 * sidecar failure never fails the backup: restoreInfo says 'unavailable'.
 */
import type { Readable } from 'node:stream';
import { HeadObjectCommand, type HeadObjectCommandOutput, type S3Client } from '@aws-sdk/client-s3';
import type { ArchiveLimits } from '../../lib/core/archive/limits';
import { ZipArchive, ZipArchiveError, ZipPasswordError, ZipUnsupportedError } from '../../lib/core/archive/zip';
import type { Job } from '../../lib/core/contracts';
import { ArchivePasswordError, BotVaultError, DownloadIntegrityError, ProviderUnavailableError } from '../../lib/core/errors';
import { logger } from '../../lib/core/logger';
import { checkMac, type MacKey, macMetadata } from '../../lib/core/mac';
import {
  CONTENT_SHA256_METADATA,
  MAC_METADATA,
  PASSWORD_SECRET_METADATA,
  RESTORE_INFO_SHA256_METADATA,
  RUN_ID_METADATA,
  SHA256_METADATA,
} from '../../lib/core/names';
import { type RestoreDetails, restoreInfoSha256 } from '../../lib/providers/definitions';
import type { ArchiveReader } from '../../lib/providers/types';
import { isChecksumRefusal, isConditionFailure, putArchive } from './archive-put';
import { boundedEntries, type ChangeOutcome, outcomeLine, recordOfStoredVersion, summarizeChange, writeChangeRecord } from './change-record';
import { type CapturedRestoreInfo, headerSafe, writeSidecar } from './restore-info';
import { type Spooled, spool } from './spool';

/** Archives up to this size are spooled in memory; larger ones on the function's ephemeral storage. */
const MEMORY_SPOOL_BYTES = 64 * 1024 * 1024;
/** The largest archive accepted when the caller does not say (config `maxArchiveMiB`'s default). */
const DEFAULT_MAX_ARCHIVE_BYTES = 1024 * 1024 * 1024;
/** How often one job re-reads and retries after losing a conditional write to another writer. */
const WRITE_ATTEMPTS = 3;

export interface WriteArchiveParams {
  readonly s3: S3Client;
  readonly bucket: string;
  readonly job: Job;
  readonly runId: string;
  readonly exportId: string;
  readonly body: Readable;
  /** The download's Content-Length, when the server sent one. */
  readonly contentLength?: number;
  /** The largest archive accepted, in bytes (config `maxArchiveMiB`). @default DEFAULT_MAX_ARCHIVE_BYTES */
  readonly maxBytes?: number;
  /** What the archive may unpack to. @default the zip reader's (lib/core/archive/limits.ts) */
  readonly limits?: ArchiveLimits;
  /** Spool in memory up to this many bytes. @default MEMORY_SPOOL_BYTES */
  readonly memorySpoolBytes?: number;
  /** Where a file spool goes. @default os.tmpdir() */
  readonly spoolDir?: string;
  /** Above this size the write is a multipart upload (archive-put.ts). @default S3's 5 GiB */
  readonly singlePutMaxBytes?: number;
  /** Part size of a multipart write. @default archive-put.ts ARCHIVE_PART_BYTES */
  readonly partBytes?: number;
  /** Extra object metadata; the standard keys (sha256, source, export-id, run-id, bot-name) always win. */
  readonly metadata?: Record<string, string>;
  /** skipUnchanged: no new version when the content hash equals the current object's. @default 'skipUnchanged' */
  readonly changeDetection?: ChangeDetection;
  /** The provider's restore details, read from the spooled archive (Provider.restoreInfo); none when absent. */
  readonly restoreDetails?: (archive: ArchiveReader) => Promise<RestoreDetails | undefined>;
  /** Decrypts a password-protected export (Provider.archivePassword); never logged, never stored. */
  readonly password?: string;
  /** Object metadata naming where the password lives (`password-secret`), so readers can decrypt it later. */
  readonly passwordSecret?: string;
  /**
   * The stack's HMAC key: every version written (and its sidecar) carries a
   * MAC made with it (lib/core/mac.ts), asked for right before the write, so
   * an UNCHANGED bot costs no KMS call. The handler always passes it.
   * @default none: no MAC (tests of other concerns only)
   */
  readonly mac?: MacKey;
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
  /** A new version only: what changed in the bot, on one line (change-record.ts outcomeLine). */
  changes?: string;
  /** A new version only: whether its change record `<key>.changes.json` was written. */
  changeRecord?: 'written' | 'unavailable';
}

export async function writeArchive(params: WriteArchiveParams): Promise<StoredArchive> {
  const { s3, bucket, job, runId, exportId } = params;
  const log = { job: job.id, exportId, key: job.key };
  // The first compare's HeadObject goes out with the download, so its round trip hides behind the
  // transfer. A version written in between is caught by the conditional write (412), which re-reads.
  let firstHead: Promise<HeadObjectCommandOutput | undefined> | undefined = headCurrent(s3, bucket, job.key);
  firstHead.catch(() => undefined); // awaited below; a failure there must not surface as unhandled meanwhile
  let spooled: Spooled;
  try {
    spooled = await spoolDownload(params);
  } catch (err) {
    await firstHead.catch(() => undefined);
    throw err;
  }
  try {
    const { bytes, sha256 } = spooled;
    const zip = await openSpool(spooled, params.password, params.limits);
    let contentSha256: string | undefined;
    let restore: CapturedRestoreInfo | 'unavailable' | undefined;
    try {
      contentSha256 = await contentHash(zip, log, params.password !== undefined);
      restore = params.restoreDetails ? await captureRestoreInfo(job, zip, params.restoreDetails, log) : undefined;
    } finally {
      await zip.close();
    }
    /** Writes the sidecar for `archive` (the version now current, at `at`'s key), when details were captured. */
    const sidecarFor = async (archive: { versionId?: string; sha256: string }, onlyIfChanged: boolean, at: Job = job) =>
      restore === 'unavailable' || restore === undefined
        ? restore
        : writeSidecar({ s3, bucket, job: at, runId, info: restore, archive, onlyIfChanged, ...(params.mac ? { mac: params.mac } : {}) });
    const metadata: Record<string, string> = {
      ...params.metadata,
      [SHA256_METADATA]: sha256,
      source: headerSafe(job.id),
      'export-id': headerSafe(exportId),
      [RUN_ID_METADATA]: headerSafe(runId),
      ...(job.name ? { 'bot-name': headerSafe(job.name) } : {}),
      ...(params.passwordSecret ? { [PASSWORD_SECRET_METADATA]: headerSafe(params.passwordSecret) } : {}),
      ...(contentSha256 ? { [CONTENT_SHA256_METADATA]: contentSha256 } : {}),
      ...(restore && restore !== 'unavailable' ? { [RESTORE_INFO_SHA256_METADATA]: restore.sha256 } : {}),
    };
    /** The new archive's entries for the change summary, read again from the spool only when a new version is written. */
    const newEntries = async (): Promise<Map<string, Buffer> | { unavailable: string }> => {
      if (!contentSha256) return { unavailable: 'the archive cannot be opened here (encrypted without a password, or an unsupported method)' };
      const again = await openSpool(spooled, params.password, params.limits);
      try {
        return await boundedEntries(again, 'the archive');
      } catch (err) {
        return { unavailable: `its entries could not be read (${(err as Error).name})` };
      } finally {
        await again.close();
      }
    };
    /** The summary against the version a write replaces, made once per version compared against. */
    let summary: { etag: string | undefined; outcome: Promise<ChangeOutcome> } | undefined;
    const summaryAgainst = (current: HeadObjectCommandOutput | undefined, currentKey: string) => {
      if (!summary || summary.etag !== current?.ETag) {
        summary = {
          etag: current?.ETag,
          outcome: newEntries().then((entries) =>
            summarizeChange({
              s3,
              bucket,
              job,
              current,
              currentKey,
              entries,
              ...(params.password !== undefined ? { password: params.password } : {}),
              ...(params.passwordSecret ? { passwordSecret: headerSafe(params.passwordSecret) } : {}),
              ...(params.limits ? { limits: params.limits } : {}),
              ...(params.mac ? { mac: params.mac } : {}),
            }),
          ),
        };
      }
      return summary.outcome;
    };
    /** The metadata with its MAC, made once (a conditional write that lost a race writes the same record again). */
    let authenticated: Promise<Record<string, string>> | undefined;
    const withMac = (mac: MacKey) =>
      (authenticated ??= macMetadata(mac, { kind: 'archive', key: job.key, bytes, sha256, metadata }).then((value) => ({
        ...metadata,
        [MAC_METADATA]: value,
      })));

    for (let attempt = 1; attempt <= WRITE_ATTEMPTS; attempt++) {
      const atKey = await (firstHead ?? headCurrent(s3, bucket, job.key));
      firstHead = undefined;
      // No version under the key yet: the resource's history may go on from its legacy key (see above).
      const legacy = !atKey && job.legacyKey ? await headCurrent(s3, bucket, job.legacyKey) : undefined;
      const current = atKey ?? legacy;
      const currentJob = legacy && job.legacyKey ? { ...job, key: job.legacyKey } : job;
      const currentVersion = current && describeCurrent(currentJob.key, current);
      if (
        currentVersion &&
        current.Metadata?.[RUN_ID_METADATA] === headerSafe(runId) &&
        currentVersion.sha256 === sha256 &&
        currentVersion.bytes === bytes
      ) {
        // This run wrote it already: an earlier attempt whose response (or whose Lambda) was lost.
        const [restoreInfo, record] = await Promise.all([
          sidecarFor(currentVersion, true, currentJob),
          recordOfStoredVersion({ s3, bucket, job, runId, archive: currentVersion, ...(params.mac ? { mac: params.mac } : {}) }),
        ]);
        logger.info('Archive already stored by this run; not writing a second version', { ...log, bytes, sha256, versionId: current.VersionId });
        return {
          ...currentVersion,
          ...(contentSha256 ? { contentSha256 } : {}),
          ...(restoreInfo ? { restoreInfo } : {}),
          ...(record.line ? { changes: record.line } : {}),
          changeRecord: record.changeRecord,
        };
      }
      if (
        currentVersion &&
        (params.changeDetection ?? 'skipUnchanged') === 'skipUnchanged' &&
        contentSha256 &&
        current.Metadata?.[CONTENT_SHA256_METADATA] === contentSha256 &&
        // Only an authenticated current version counts as unchanged. One without a MAC (stored before
        // MACs) or with a forged one (planted with copied content-sha256) is written again, authenticated:
        // otherwise the bot's newest version would stay unverifiable, night after night.
        (!params.mac || (await isAuthentic(params.mac, currentJob.key, current)))
      ) {
        const restoreInfo = await sidecarFor(currentVersion, true, currentJob);
        logger.info('Archive unchanged: same content as the current version, nothing written', {
          ...log,
          contentSha256,
          versionId: current.VersionId,
          ...(legacy ? { legacyKey: currentJob.key } : {}),
          restoreInfo,
        });
        return { status: 'UNCHANGED', ...currentVersion, contentSha256, ...(restoreInfo ? { restoreInfo } : {}) };
      }
      const outcome = await summaryAgainst(current, currentJob.key);
      let written: { versionId?: string };
      try {
        written = await putArchive({
          s3,
          bucket,
          key: job.key,
          spool: spooled,
          metadata: params.mac ? await withMac(params.mac) : metadata,
          condition: atKey?.ETag ? { ifMatch: atKey.ETag } : { ifNoneMatch: '*' },
          ...(params.singlePutMaxBytes !== undefined ? { singlePutMaxBytes: params.singlePutMaxBytes } : {}),
          ...(params.partBytes !== undefined ? { partBytes: params.partBytes } : {}),
        });
      } catch (err) {
        if (isChecksumRefusal(err)) {
          throw new ProviderUnavailableError(
            `S3 refused the archive for ${job.key}: the bytes it received do not match their checksum (${(err as Error).name}); nothing was written.`,
            { cause: err },
          );
        }
        if (!isConditionFailure(err)) throw err;
        logger.info('Another writer changed the key between compare and write; comparing again', { ...log, attempt, error: (err as Error).name });
        continue;
      }
      const stored = { key: job.key, ...(written.versionId ? { versionId: written.versionId } : {}), bytes, sha256 };
      const [restoreInfo, changeRecord] = await Promise.all([
        sidecarFor(stored, false),
        writeChangeRecord({ s3, bucket, job, runId, archive: stored, outcome, ...(params.mac ? { mac: params.mac } : {}) }),
      ]);
      const changes = outcomeLine(job.name ?? outcome.botName ?? job.id, outcome);
      logger.info('Archive stored', { ...log, bytes, sha256, contentSha256, versionId: written.versionId, restoreInfo, changeRecord, changes });
      return {
        ...stored,
        ...(contentSha256 ? { contentSha256 } : {}),
        ...(restoreInfo ? { restoreInfo } : {}),
        ...(changes ? { changes } : {}),
        changeRecord,
      };
    }
    throw new ProviderUnavailableError(
      `${job.key} changed under every one of ${WRITE_ATTEMPTS} conditional writes (another run writing the same bot?); nothing was written by this attempt.`,
    );
  } finally {
    await spooled.dispose();
  }
}

/**
 * Whether the current version's MAC verifies for its size and metadata (VerifyMac). Its bytes are
 * not read: a version with genuine metadata over other bytes is what `restore` and the drill catch
 * (its sha256 no longer matches). KMS failures throw (retried).
 */
async function isAuthentic(mac: MacKey, key: string, head: HeadObjectCommandOutput): Promise<boolean> {
  const sha256 = head.Metadata?.[SHA256_METADATA];
  if (!sha256 || head.ContentLength === undefined) return false;
  const verdict = await checkMac(mac, { kind: 'archive', key, bytes: head.ContentLength, sha256, metadata: head.Metadata ?? {} });
  if (verdict.status !== 'authentic')
    logger.warn('Current version is not authenticated; storing an authenticated one', { key, reason: verdict.reason });
  return verdict.status === 'authentic';
}

/** The current version as a stored archive, when it carries what BotVault writes (its size and `sha256`). */
function describeCurrent(key: string, head: HeadObjectCommandOutput): { key: string; versionId?: string; bytes: number; sha256: string } | undefined {
  const sha256 = head.Metadata?.[SHA256_METADATA];
  if (!sha256 || head.ContentLength === undefined) return undefined;
  return { key, ...(head.VersionId ? { versionId: head.VersionId } : {}), bytes: head.ContentLength, sha256 };
}

/** Reads the download into a spool; what went wrong with the body becomes a DownloadIntegrityError naming it. */
async function spoolDownload(params: WriteArchiveParams): Promise<Spooled> {
  let received = 0;
  const counted = (async function* () {
    for await (const chunk of params.body as AsyncIterable<Uint8Array>) {
      received += chunk.length;
      yield chunk;
    }
  })();
  try {
    return await spool(counted, {
      memoryBytes: params.memorySpoolBytes ?? MEMORY_SPOOL_BYTES,
      maxBytes: params.maxBytes ?? DEFAULT_MAX_ARCHIVE_BYTES,
      ...(params.contentLength !== undefined ? { expectedBytes: params.contentLength } : {}),
      ...(params.spoolDir ? { dir: params.spoolDir } : {}),
    });
  } catch (err) {
    params.body.destroy();
    if (err instanceof BotVaultError) throw err;
    const code = (err as { code?: string }).code;
    throw new DownloadIntegrityError(
      `The download was interrupted after ${received} bytes${params.contentLength !== undefined ? ` of ${params.contentLength}` : ''}: ${code ? `${code}: ` : ''}${(err as Error).message}.`,
      { cause: err },
    );
  }
}

/** Opens the spooled archive by its central directory; one that does not open is a bad download. */
async function openSpool(spooled: Spooled, password: string | undefined, limits: ArchiveLimits | undefined): Promise<ZipArchive> {
  try {
    return await ZipArchive.open(spooled.source, { ...(password !== undefined ? { password } : {}), ...(limits ? { limits } : {}) });
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
async function headCurrent(s3: S3Client, bucket: string, key: string): Promise<HeadObjectCommandOutput | undefined> {
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
