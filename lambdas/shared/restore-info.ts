/**
 * The restore sidecar `<archive key>.restore.json` (contracts.ts,
 * restoreInfoSchema): what the export leaves out and a restore needs, written
 * beside the archive and versioned like it.
 *
 * `restore-info-sha256` (restoreInfoSha256 in lib/providers/definitions.ts)
 * names the details; an unchanged bot keeps its hash, so an unchanged
 * sidecar is not written again.
 */
import { createHash } from 'node:crypto';
import { HeadObjectCommand, PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import type { Job } from '../../lib/core/contracts';
import { logger } from '../../lib/core/logger';
import { checkMac, type MacKey, macMetadata } from '../../lib/core/mac';
import { restoreInfoSchema, type RestoreDetails, type RestoreInfo } from '../../lib/providers/definitions';
import { MAC_METADATA, RESTORE_INFO_SHA256_METADATA, restoreInfoKey, RUN_ID_METADATA } from '../../lib/core/names';

/** S3 user metadata travels in HTTP headers: keep printable ASCII, percent-encode the rest (archive versions and sidecars alike). */
export function headerSafe(value: string): string {
  return /^[\x20-\x7e]*$/.test(value) ? value : encodeURIComponent(value);
}

/** Details captured for one job, with their hash; ready to be written once the archive version is known. */
export interface CapturedRestoreInfo {
  details: RestoreDetails;
  sha256: string;
}

export interface WriteSidecarParams {
  readonly s3: S3Client;
  readonly bucket: string;
  readonly job: Job;
  readonly runId: string;
  readonly info: CapturedRestoreInfo;
  readonly archive: { versionId?: string; sha256: string };
  /** Write only when the current sidecar's hash differs (the archive was UNCHANGED), or it has no MAC while one is made now. */
  readonly onlyIfChanged: boolean;
  /** The stack's HMAC key; the sidecar then carries a MAC (lib/core/mac.ts). */
  readonly mac?: MacKey;
}

/**
 * Writes the sidecar (or, with onlyIfChanged, leaves an identical one alone).
 * Never throws: the archive is what matters; a failure is logged and reported
 * as 'unavailable'.
 */
export async function writeSidecar(p: WriteSidecarParams): Promise<'written' | 'unchanged' | 'unavailable'> {
  const key = restoreInfoKey(p.job.key);
  try {
    if (p.onlyIfChanged) {
      const current = await p.s3.send(new HeadObjectCommand({ Bucket: p.bucket, Key: key })).catch((err: unknown) => {
        const e = err as { name?: string; $metadata?: { httpStatusCode?: number } };
        if (e.name === 'NotFound' || e.name === 'NoSuchKey' || e.$metadata?.httpStatusCode === 404) return undefined;
        // Without s3:ListBucket (the Lambda has none), S3 answers 403, not 404, for a key that does not exist yet.
        if (e.$metadata?.httpStatusCode === 403) return undefined;
        throw err;
      });
      if (current?.Metadata?.[RESTORE_INFO_SHA256_METADATA] === p.info.sha256) {
        // Unchanged only when it is authentic too: a sidecar without a MAC, or with a forged one, is written again.
        const sha256 = current.Metadata.sha256;
        const authentic =
          !p.mac ||
          (sha256 !== undefined &&
            current.ContentLength !== undefined &&
            (await checkMac(p.mac, { kind: 'sidecar', key, bytes: current.ContentLength, sha256, metadata: current.Metadata })).status ===
              'authentic');
        if (authentic) return 'unchanged';
      }
    }
    const sidecar: RestoreInfo = restoreInfoSchema.parse({
      schemaVersion: 1,
      provider: p.job.provider,
      target: p.job.id,
      capturedAt: new Date().toISOString(),
      runId: p.runId,
      ...p.info.details,
      archive: { key: p.job.key, ...(p.archive.versionId ? { versionId: p.archive.versionId } : {}), sha256: p.archive.sha256 },
    });
    const body = `${JSON.stringify(sidecar, null, 2)}\n`;
    const sha256 = createHash('sha256').update(body).digest('hex');
    const metadata: Record<string, string> = {
      sha256,
      [RESTORE_INFO_SHA256_METADATA]: p.info.sha256,
      [RUN_ID_METADATA]: headerSafe(p.runId),
      source: headerSafe(p.job.id),
    };
    if (p.mac) metadata[MAC_METADATA] = await macMetadata(p.mac, { kind: 'sidecar', key, bytes: Buffer.byteLength(body), sha256, metadata });
    await p.s3.send(new PutObjectCommand({ Bucket: p.bucket, Key: key, Body: body, ContentType: 'application/json', Metadata: metadata }));
    return 'written';
  } catch (err) {
    logger.warn('Could not write the restore sidecar; the archive itself is stored', {
      job: p.job.id,
      key,
      error: (err as Error).name,
      reason: (err as Error).message,
    });
    return 'unavailable';
  }
}
