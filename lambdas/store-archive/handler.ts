/** StoreArchive Lambda: see store-archive.ts. */
import { s3Client } from '../shared/clients';
import { storeArchiveInputSchema } from '../shared/contracts';
import { bucketName, downloadAllowlist } from '../shared/env';
import { defineHandler, providerDepsFromEnv } from '../shared/handler';
import { providerFor } from '../providers/registry';
import { storeArchive } from './store-archive';

export const handler = defineHandler('StoreArchive', storeArchiveInputSchema, () => {
  const providerDeps = providerDepsFromEnv();
  return {
    providerFor: (name: string) => providerFor(name, providerDeps),
    s3: s3Client(),
    bucket: bucketName(),
    allowedOrigins: downloadAllowlist(),
  };
}, storeArchive);
