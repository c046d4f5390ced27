/** A ByteSource (byte-source.ts) over one S3 object version. */
import type { Readable } from 'node:stream';
import { GetObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import type { ByteSource } from './byte-source';

/** A ByteSource over one S3 object version (range GETs, pinned to the version when one is given). */
export function s3ByteSource(s3: S3Client, bucket: string, key: string, size: number, versionId?: string): ByteSource {
  return {
    size,
    async read(start, end) {
      if (end <= start) return (async function* () {})();
      const res = await s3.send(
        new GetObjectCommand({ Bucket: bucket, Key: key, Range: `bytes=${start}-${end - 1}`, ...(versionId ? { VersionId: versionId } : {}) }),
      );
      return res.Body as Readable;
    },
  };
}
