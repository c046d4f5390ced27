/** StoreArchive Lambda: see store-archive.ts. */
import { s3Client } from '../shared/clients';
import { storeArchiveInputSchema } from '../shared/contracts';
import { bucketName, changeDetection, downloadAllowlist } from '../shared/env';
import { defineHandler, providerDepsFromEnv } from '../shared/handler';
import { providerFor } from '../providers/registry';
import { DEFAULT_DOWNLOAD_DEADLINE_MS, storeArchive } from './store-archive';

/** Time kept back from the Lambda's remaining time for aborting the upload and reporting the error. */
const CLEANUP_RESERVE_MS = 60_000;

export const handler = defineHandler('StoreArchive', storeArchiveInputSchema, (context) => {
  const providerDeps = providerDepsFromEnv();
  const remaining = context?.getRemainingTimeInMillis();
  return {
    providerFor: (name: string) => providerFor(name, providerDeps),
    s3: s3Client(),
    bucket: bucketName(),
    allowedOrigins: downloadAllowlist(),
    changeDetection: changeDetection(),
    // In Lambda: finish (or fail cleanly) before the function's own timeout. Locally: the default.
    downloadDeadlineMs: remaining === undefined ? DEFAULT_DOWNLOAD_DEADLINE_MS : Math.max(10_000, remaining - CLEANUP_RESERVE_MS),
  };
}, storeArchive);
