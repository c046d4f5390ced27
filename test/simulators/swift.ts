/**
 * The S3 client for the real versioned S3 server (OpenStack Swift's s3api,
 * started by `bash scripts/swift-s3.sh start`), configured from the
 * environment that `bash scripts/swift-s3.sh env` prints.
 */
import { CreateBucketCommand, PutBucketVersioningCommand, S3Client } from '@aws-sdk/client-s3';

export interface SwiftS3 {
  endpoint: string;
  client: S3Client;
}

const SWIFT_HINT =
  'BOTVAULT_SWIFT_S3_ENDPOINT is not set: start the versioned S3 server with `bash scripts/swift-s3.sh start` ' +
  'and load its settings with `eval "$(bash scripts/swift-s3.sh env)"` (npm test does both).';

export function swiftS3FromEnv(): SwiftS3 {
  const endpoint = process.env.BOTVAULT_SWIFT_S3_ENDPOINT;
  if (!endpoint) throw new Error(SWIFT_HINT);
  const accessKeyId = process.env.BOTVAULT_SWIFT_S3_ACCESS_KEY;
  const secretAccessKey = process.env.BOTVAULT_SWIFT_S3_SECRET_KEY;
  if (!accessKeyId || !secretAccessKey) {
    throw new Error(`BOTVAULT_SWIFT_S3_ACCESS_KEY and BOTVAULT_SWIFT_S3_SECRET_KEY must be set with BOTVAULT_SWIFT_S3_ENDPOINT. ${SWIFT_HINT}`);
  }
  const client = new S3Client({
    endpoint,
    region: 'us-east-1',
    // Swift's s3api serves buckets under the path, not as virtual hosts.
    forcePathStyle: true,
    credentials: { accessKeyId, secretAccessKey },
    // Without these the SDK adds CRC32 trailers (aws-chunked uploads) that
    // S3-compatible servers may not understand; see shared/REFERENCE.md.
    requestChecksumCalculation: 'WHEN_REQUIRED',
    responseChecksumValidation: 'WHEN_REQUIRED',
  });
  return { endpoint, client };
}

/** Creates `bucket` with versioning enabled (what every archive bucket has). */
export async function createVersionedBucket(s3: S3Client, bucket: string): Promise<void> {
  await s3.send(new CreateBucketCommand({ Bucket: bucket }));
  await s3.send(new PutBucketVersioningCommand({ Bucket: bucket, VersioningConfiguration: { Status: 'Enabled' } }));
}
