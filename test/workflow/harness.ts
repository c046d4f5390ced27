/**
 * Test harness for running the synthesized workflow: a Lex V2 simulator, an
 * S3-compatible server (s3rver, or Swift for versioning), a fresh bucket, and
 * the environment that points the real SDK clients at them.
 */
import { randomBytes } from 'node:crypto';
import {
  CreateBucketCommand,
  GetObjectCommand,
  HeadObjectCommand,
  ListMultipartUploadsCommand,
  ListObjectsV2Command,
  PutBucketVersioningCommand,
  type S3Client,
} from '@aws-sdk/client-s3';
import { afterEach } from 'vitest';
import { parseConfig, type BotVaultConfig } from '../../lib/config/config';
import { runLocal, type LocalRunOptions, type LocalRunResult } from '../../lib/local/runner';
import { type KmsSimulator, startKmsForHandlers } from '../simulators/kms-simulator';
import { startLexSimulator, type LexSimulator, type LexSimulatorOptions } from '../simulators/lex-simulator';
import { s3ClientFor, startS3Server } from '../simulators/s3-server';
import { swiftS3FromEnv } from '../simulators/swift';

export interface Harness {
  lex: LexSimulator;
  /** KMS with the stack's HMAC key (macKeyArn), which StoreArchive and Summarize make MACs with. */
  kms: KmsSimulator;
  macKeyArn: string;
  s3: S3Client;
  bucket: string;
  endpoint: string;
  config(raw: Record<string, unknown>): BotVaultConfig;
  run(config: BotVaultConfig, opts?: Partial<LocalRunOptions>): Promise<LocalRunResult>;
  object(key: string, versionId?: string): Promise<{ body: Buffer; metadata: Record<string, string>; versionId?: string } | undefined>;
  keys(prefix?: string): Promise<string[]>;
  openMultipartUploads(): Promise<number>;
  close(): Promise<void>;
}

/**
 * startHarness for one test: every harness it starts is closed after its test.
 * Call once, at the top of a test file (it registers an afterEach).
 */
export function harnessPerTest(): typeof startHarness {
  const started: Harness[] = [];
  afterEach(async () => {
    for (const h of started.splice(0)) await h.close();
  });
  return async (opts) => {
    const h = await startHarness(opts);
    started.push(h);
    return h;
  };
}

export async function startHarness(opts: LexSimulatorOptions & { s3?: 's3rver' | 'swift' } = {}): Promise<Harness> {
  const lex = await startLexSimulator(opts);
  const mac = await startKmsForHandlers();
  const swift = opts.s3 === 'swift' ? swiftS3FromEnv() : undefined;
  const local = swift ? undefined : await startS3Server();
  const endpoint = swift?.endpoint ?? local!.endpoint;
  const s3 = swift?.client ?? s3ClientFor(endpoint);
  process.env.AWS_ENDPOINT_URL_LEX_MODELS_V2 = lex.url;
  process.env.AWS_ENDPOINT_URL_S3 = endpoint;
  process.env.AWS_REGION = 'us-east-1';
  process.env.AWS_ACCESS_KEY_ID = swift ? process.env.BOTVAULT_SWIFT_S3_ACCESS_KEY : 'S3RVER';
  process.env.AWS_SECRET_ACCESS_KEY = swift ? process.env.BOTVAULT_SWIFT_S3_SECRET_KEY : 'S3RVER';
  delete process.env.BOTVAULT_DOWNLOAD_ALLOWLIST;

  const bucket = `botvault-test-${randomBytes(5).toString('hex')}`;
  await s3.send(new CreateBucketCommand({ Bucket: bucket }));
  if (swift) await s3.send(new PutBucketVersioningCommand({ Bucket: bucket, VersioningConfiguration: { Status: 'Enabled' } }));

  return {
    lex,
    kms: mac.kms,
    macKeyArn: mac.macKeyArn,
    s3,
    bucket,
    endpoint,
    config: (raw) => parseConfig({ downloadAllowlist: [lex.url], maxConcurrency: 4, ...raw }),
    run: (config, runOpts) => runLocal({ config, bucket, fast: true, ...runOpts }),
    async object(key, versionId) {
      try {
        const res = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: key, VersionId: versionId }));
        const body = Buffer.from(await res.Body!.transformToByteArray());
        return { body, metadata: res.Metadata ?? {}, versionId: res.VersionId };
      } catch (err) {
        if ((err as Error).name === 'NoSuchKey' || (err as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode === 404)
          return undefined;
        throw err;
      }
    },
    async keys(prefix) {
      const res = await s3.send(new ListObjectsV2Command({ Bucket: bucket, Prefix: prefix }));
      return (res.Contents ?? []).map((o) => o.Key!).sort();
    },
    async openMultipartUploads() {
      const res = await s3.send(new ListMultipartUploadsCommand({ Bucket: bucket }));
      return (res.Uploads ?? []).length;
    },
    async close() {
      await lex.close();
      await mac.close();
      await local?.close();
    },
  };
}

/** HeadObject's metadata for a key, or undefined. */
export async function head(h: Harness, key: string) {
  return h.s3.send(new HeadObjectCommand({ Bucket: h.bucket, Key: key }));
}
