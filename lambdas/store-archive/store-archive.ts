/**
 * StoreArchive: fresh download URL → download guard → spool with hash, size
 * and zip checks → one conditional, checksummed write at the job's stable key
 * (lambdas/shared/archive-store.ts).
 *
 * Lex download URLs live five minutes after each DescribeExport, so the URL is
 * fetched right before the download and, after a 403 (expired or refused),
 * exactly once more. The URL itself never leaves this function: not in logs,
 * not in errors (redacted), not in the result.
 */
import type { S3Client } from '@aws-sdk/client-s3';
import type { ArchiveLimits } from '../../lib/core/archive/limits';
import type { z } from 'zod/mini';
import { type ChangeDetection, writeArchive } from '../shared/archive-store';
import { jobResultSchema, type ExportRef, type Job, type JobResult, type storeArchiveInputSchema } from '../../lib/core/contracts';
import { openDownload, redactUrl, type DownloadResponse } from '../../lib/core/download-guard';
import { DownloadIntegrityError, DownloadUrlExpiredError, ProviderUnavailableError, RateLimitedError } from '../../lib/core/errors';
import { logger } from '../../lib/core/logger';
import type { MacKey } from '../../lib/core/mac';
import type { Provider } from '../../lib/providers/types';

export type StoreArchiveInput = z.output<typeof storeArchiveInputSchema>;

export interface StoreArchiveDeps {
  readonly providerFor: (name: string) => Provider;
  readonly s3: S3Client;
  readonly bucket: string;
  /** Operator allowlist of download origins (BOTVAULT_DOWNLOAD_ALLOWLIST). */
  readonly allowedOrigins: readonly string[];
  /**
   * Longest the download (and so the upload it feeds) may take. Shorter than
   * the Lambda's own timeout, so a too-slow download fails as a named,
   * retryable error with its multipart upload aborted, instead of Lambda
   * killing the function mid-upload. @default 10 minutes
   */
  readonly downloadDeadlineMs?: number;
  /** The guarded download; injectable for tests. @default openDownload */
  readonly open?: typeof openDownload;
  /** Config `changeDetection` (BOTVAULT_CHANGE_DETECTION). @default 'skipUnchanged' */
  readonly changeDetection?: ChangeDetection;
  /** Config `maxArchiveMiB` in bytes (BOTVAULT_MAX_ARCHIVE_MIB). @default the store's (archive-store.ts) */
  readonly maxArchiveBytes?: number | undefined;
  /** Config `archiveLimits` (BOTVAULT_ARCHIVE_LIMITS). @default the zip reader's (lib/core/archive/limits.ts) */
  readonly archiveLimits?: ArchiveLimits | undefined;
  /** The stack's HMAC key (BOTVAULT_MAC_KEY_ID): every version and sidecar written carries its MAC. @default none (tests of other concerns) */
  readonly mac?: MacKey;
}

export const DEFAULT_DOWNLOAD_DEADLINE_MS = 10 * 60_000;

/** Opens the download, asking for a fresh URL once after a 403. Resolves only with a 200. */
async function download(provider: Provider, job: Job, ref: ExportRef, deps: StoreArchiveDeps): Promise<DownloadResponse> {
  const open = deps.open ?? openDownload;
  for (let attempt = 1; ; attempt++) {
    const target = await provider.downloadUrl(job, ref);
    const res = await open(target.url, {
      allowedHosts: target.allowedHosts,
      allowedOrigins: deps.allowedOrigins,
      deadlineMs: deps.downloadDeadlineMs ?? DEFAULT_DOWNLOAD_DEADLINE_MS,
    });
    if (res.status === 200) return res;
    res.body.destroy(); // nothing from an error response is kept
    const where = redactUrl(target.url);
    if (res.status === 403) {
      if (attempt === 1) {
        logger.warn('Download refused (403); retrying once with a fresh URL', { job: job.id, exportId: ref.exportId, url: where });
        continue;
      }
      throw new DownloadUrlExpiredError(
        `The download of export ${ref.exportId} for ${job.id} was refused (HTTP 403) twice, even with a fresh URL from the provider (${where}).`,
      );
    }
    const msg = `The download of export ${ref.exportId} for ${job.id} answered HTTP ${res.status} (${where}).`;
    if (res.status === 429) throw new RateLimitedError(msg);
    if (res.status >= 500) throw new ProviderUnavailableError(msg);
    throw new DownloadIntegrityError(`${msg} Expected 200 with the archive.`);
  }
}

function contentLength(res: DownloadResponse): number | undefined {
  const raw = res.headers['content-length'];
  return typeof raw === 'string' && /^\d+$/.test(raw) ? Number(raw) : undefined;
}

export async function storeArchive(input: StoreArchiveInput, deps: StoreArchiveDeps): Promise<JobResult> {
  const { job, runId } = input;
  const ref = input.export.ref;
  const provider = deps.providerFor(job.provider);
  // Read before the download starts, so a secret that cannot be read fails the job without a byte moved.
  const password = provider.archivePassword ? await provider.archivePassword(job) : undefined;
  const res = await download(provider, job, ref, deps);
  const stored = await writeArchive({
    s3: deps.s3,
    bucket: deps.bucket,
    job,
    runId,
    exportId: ref.exportId,
    body: res.body,
    contentLength: contentLength(res),
    changeDetection: deps.changeDetection ?? 'skipUnchanged',
    ...(deps.maxArchiveBytes !== undefined ? { maxBytes: deps.maxArchiveBytes } : {}),
    ...(deps.archiveLimits !== undefined ? { limits: deps.archiveLimits } : {}),
    ...(provider.restoreInfo ? { restoreDetails: (archive) => provider.restoreInfo!(job, archive) } : {}),
    ...(password ? { password: password.password, passwordSecret: password.secret } : {}),
    ...(deps.mac ? { mac: deps.mac } : {}),
  });
  return jobResultSchema.parse({
    target: job.id,
    provider: job.provider,
    ...(job.name ? { name: job.name } : {}),
    status: stored.status ?? 'SUCCEEDED',
    key: stored.key,
    ...(stored.versionId ? { versionId: stored.versionId } : {}),
    bytes: stored.bytes,
    sha256: stored.sha256,
    exportId: ref.exportId,
    ...(stored.restoreInfo ? { restoreInfo: stored.restoreInfo } : {}),
    ...(stored.changes ? { changes: stored.changes } : {}),
    ...(stored.changeRecord ? { changeRecord: stored.changeRecord } : {}),
  });
}
