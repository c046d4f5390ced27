/** StoreArchive Lambda: see store-archive.ts. */
import { kmsClient, s3Client } from '../shared/clients';
import { kmsMacKey } from '../../lib/core/mac';
import { storeArchiveInputSchema } from '../../lib/core/contracts';
import { archiveLimits, bucketName, changeDetection, downloadAllowlist, macKeyId, maxArchiveBytes } from '../../lib/core/env';
import { defineHandler, providerDepsFromEnv } from '../shared/handler';
import { providerFor } from '../../lib/providers/registry';
import { DEFAULT_DOWNLOAD_DEADLINE_MS, storeArchive } from './store-archive';

/** Time kept back from the Lambda's remaining time for aborting the upload and reporting the error (at most a quarter of it). */
const CLEANUP_RESERVE_MS = 60_000;

/** The download deadline for an invocation with `remaining` ms left. */
export function downloadDeadline(remaining: number | undefined): number {
  if (remaining === undefined) return DEFAULT_DOWNLOAD_DEADLINE_MS;
  return Math.max(1_000, Math.floor(remaining - Math.min(CLEANUP_RESERVE_MS, remaining / 4)));
}

export const handler = defineHandler(
  'StoreArchive',
  storeArchiveInputSchema,
  (context) => {
    const providerDeps = providerDepsFromEnv();
    const remaining = context?.getRemainingTimeInMillis();
    return {
      providerFor: (name: string) => providerFor(name, providerDeps),
      s3: s3Client(),
      bucket: bucketName(),
      allowedOrigins: downloadAllowlist(),
      changeDetection: changeDetection(),
      maxArchiveBytes: maxArchiveBytes(),
      archiveLimits: archiveLimits(),
      mac: kmsMacKey(kmsClient(), macKeyId()),
      // In Lambda: finish (or fail cleanly) before the function's own timeout. Locally: the default.
      downloadDeadlineMs: downloadDeadline(remaining),
    };
  },
  storeArchive,
);
