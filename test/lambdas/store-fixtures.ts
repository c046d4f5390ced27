/** What the store tests share: the hash they check, a Lex bot job, and an s3rver with a fresh bucket per test. */
import { createHash } from 'node:crypto';
import type { S3Client } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, beforeEach } from 'vitest';
import type { Job } from '../../lib/core/contracts';
import { createBucket, type S3Server, startLocalS3, stopLocalS3 } from '../simulators/s3-server';

/** SHA-256 of `data`, hex (the `sha256` metadata's form). */
export const sha256 = (data: Buffer): string => createHash('sha256').update(data).digest('hex');

/** The job of a Lex bot's DRAFT export, at its real key. */
export function lexBotJob(botId: string, name?: string): Job {
  return {
    id: `lex:${botId}:DRAFT`,
    provider: 'lex',
    key: `lex/123456789012/us-east-1/${botId}/DRAFT/bot.zip`,
    ...(name ? { name } : {}),
    spec: { kind: 'bot' },
  };
}

/** An s3rver for the file (started before its tests, closed after) and a new bucket named `<prefix>-<n>` before each test. */
export function bucketPerTest(prefix: string): { readonly server: S3Server; readonly s3: S3Client; readonly bucket: string } {
  const state = {} as { server: S3Server; s3: S3Client; bucket: string };
  let n = 0;
  beforeAll(async () => {
    Object.assign(state, await startLocalS3());
  });
  afterAll(() => stopLocalS3(state));
  beforeEach(async () => {
    state.bucket = `${prefix}-${++n}`;
    await createBucket(state.server.endpoint, state.bucket);
  });
  return state;
}
