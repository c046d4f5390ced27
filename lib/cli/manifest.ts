/**
 * Reading a run manifest (`runs/<yyyy>/<mm>/<dd>/<runId>.json`) from the
 * bucket, for `status` and for the summary `run --wait` prints.
 */
import { createHash } from 'node:crypto';
import { GetObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import type { RunManifest } from '../core/run-manifest';
import type { Authenticator } from './authentication';
import { aws, httpStatus } from './aws';
import { CliError } from './output';

/** The manifest at `key`, or undefined when there is none; with `auth`, its MAC is checked first (authentication.ts). */
export async function readManifest(s3: S3Client, bucket: string, key: string, auth?: Authenticator): Promise<RunManifest | undefined> {
  try {
    const res = await aws(`GetObject s3://${bucket}/${key}`, () => s3.send(new GetObjectCommand({ Bucket: bucket, Key: key })));
    const body = Buffer.from(await res.Body!.transformToByteArray());
    if (auth) {
      const sha256 = createHash('sha256').update(body).digest('hex');
      await auth.check({ kind: 'manifest', key, bytes: body.length, sha256, metadata: res.Metadata ?? {} }, `run manifest ${key}`);
    }
    return JSON.parse(body.toString('utf8')) as RunManifest;
  } catch (err) {
    if ((err as Error).name === 'NoSuchKey' || httpStatus(err) === 404) return undefined;
    if ((err as Error).name === 'NoSuchBucket')
      throw new CliError(`bucket ${bucket} does not exist: check --bucket or the stack's ArchiveBucketName output`);
    throw err;
  }
}
