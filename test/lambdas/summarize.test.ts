/**
 * Summarize against a real S3-compatible server, with a real Powertools
 * Metrics instance whose EMF output is captured instead of printed.
 */
import { createHash } from 'node:crypto';
import { GetObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { type KmsSimulator, startKmsSimulator } from '../simulators/kms-simulator';
import { Metrics } from '@aws-lambda-powertools/metrics';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { JobResult } from '../../lib/core/contracts';
import { EnvironmentError, InvalidInputError } from '../../lib/core/errors';
import { manifestKey } from '../../lib/core/run-manifest';
import { summarize } from '../../lambdas/summarize/summarize';
import { handler } from '../../lambdas/summarize/handler';
import { type S3Server, startLocalS3, stopLocalS3 } from '../simulators/s3-server';
import { SNSClient } from '@aws-sdk/client-sns';
import { startSnsSimulator } from '../simulators/sns-simulator';

class CapturedMetrics extends Metrics {
  emitted: ReturnType<Metrics['serializeMetrics']>[] = [];
  override publishStoredMetrics(): this {
    this.emitted.push(this.serializeMetrics());
    return this;
  }
}

const RESULTS: JobResult[] = [
  {
    target: 'lex:ALPHABOT01:DRAFT',
    provider: 'lex',
    status: 'SUCCEEDED',
    key: 'lex/123456789012/us-east-1/ALPHABOT01/DRAFT/bot.zip',
    bytes: 1200,
    sha256: 'a'.repeat(64),
    exportId: 'E1',
  },
  {
    target: 'lex:BRAVOBOT02:DRAFT',
    provider: 'lex',
    status: 'FAILED',
    key: 'lex/123456789012/us-east-1/BRAVOBOT02/DRAFT/bot.zip',
    error: 'ExportFailedError',
    cause: 'locale not built',
  },
  {
    target: 'lex:CHARLIE003:2',
    provider: 'lex',
    status: 'SUCCEEDED',
    key: 'lex/123456789012/us-east-1/CHARLIE003/2/bot.zip',
    bytes: 800,
    sha256: 'b'.repeat(64),
    exportId: 'E3',
  },
  { target: 'lex:DELTABOT04:DRAFT', provider: 'lex', status: 'UNCHANGED', key: 'lex/123456789012/us-east-1/DELTABOT04/DRAFT/bot.zip' },
];

let server: S3Server;
let s3: S3Client;
const bucket = 'summaries';

async function readJson(key: string): Promise<Record<string, unknown>> {
  const res = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
  expect(res.ContentType).toBe('application/json');
  return JSON.parse(await res.Body!.transformToString()) as Record<string, unknown>;
}

beforeAll(async () => {
  ({ server, s3 } = await startLocalS3(bucket));
});
afterAll(() => stopLocalS3({ server, s3 }));

describe('summarize core', () => {
  it('writes the run manifest under the UTC date of the start, with counts and results', async () => {
    const metrics = new CapturedMetrics({ namespace: 'BotVault', serviceName: 'botvault' });
    const out = await summarize(
      { runId: 'run-42', startedAt: '2024-05-16T23:59:30Z', trigger: 'schedule', results: RESULTS },
      { s3, bucket, metrics, now: () => new Date('2024-05-17T00:04:00.400Z') },
    );
    expect(out).toEqual({
      manifestKey: 'runs/2024/05/16/run-42.json',
      total: 4,
      succeeded: 2,
      unchanged: 1,
      failed: 1,
      failedTargets: ['lex:BRAVOBOT02:DRAFT'],
      message: '1 of 4 backup jobs failed (lex:BRAVOBOT02:DRAFT); run manifest: runs/2024/05/16/run-42.json',
    });
    expect(await readJson(out.manifestKey)).toEqual({
      runId: 'run-42',
      trigger: 'schedule',
      startedAt: '2024-05-16T23:59:30.000Z',
      finishedAt: '2024-05-17T00:04:00.400Z',
      durationSeconds: 270,
      counts: { total: 4, succeeded: 2, unchanged: 1, failed: 1 },
      results: RESULTS,
    });

    expect(metrics.emitted).toHaveLength(1);
    const emf = metrics.emitted[0]!;
    expect(emf._aws.CloudWatchMetrics[0]!.Namespace).toBe('BotVault');
    expect(emf._aws.CloudWatchMetrics[0]!.Metrics).toEqual(
      expect.arrayContaining([
        { Name: 'JobsSucceeded', Unit: 'Count' },
        { Name: 'JobsFailed', Unit: 'Count' },
        { Name: 'JobsUnchanged', Unit: 'Count' },
        { Name: 'BytesStored', Unit: 'Bytes' },
        { Name: 'RunDurationSeconds', Unit: 'Seconds' },
      ]),
    );
    expect(emf).toMatchObject({ JobsSucceeded: 2, JobsFailed: 1, JobsUnchanged: 1, BytesStored: 2000, RunDurationSeconds: 270 });
  });

  it('reports an all-good run as such', async () => {
    const metrics = new CapturedMetrics({ namespace: 'BotVault', serviceName: 'botvault' });
    const out = await summarize(
      { runId: 'run-43', startedAt: '2024-01-02T03:00:00Z', trigger: 'manual', results: [RESULTS[0]!] },
      { s3, bucket, metrics, now: () => new Date('2024-01-02T03:01:00Z') },
    );
    expect(out.message).toBe('1 of 1 backup jobs succeeded; run manifest: runs/2024/01/02/run-43.json');
    expect(out.failedTargets).toEqual([]);
  });

  it('names at most 20 failed targets in the one-line message', async () => {
    const failed: JobResult[] = Array.from({ length: 25 }, (_, i) => ({
      target: `lex:BOT${String(i).padStart(7, '0')}:DRAFT`,
      status: 'FAILED',
      error: 'X',
    }));
    const out = await summarize(
      { runId: 'run-44', startedAt: '2024-01-02T03:00:00Z', trigger: 'manual', results: failed },
      { s3, bucket, metrics: new CapturedMetrics() },
    );
    expect(out.message).toMatch(/^25 of 25 backup jobs failed \(.*lex:BOT0000019:DRAFT, and 5 more\); run manifest:/);
    expect(out.message).not.toContain('lex:BOT0000020:DRAFT');
    expect(out.failedTargets).toHaveLength(25);
  });

  it("the change notification keeps SNS's limits: an 80-character run name gives an ASCII Subject under 100 characters; a refused publish costs the notification, not the run", async () => {
    const sns = await startSnsSimulator();
    const client = new SNSClient({ endpoint: sns.url, region: 'us-east-1', credentials: { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' } });
    try {
      const runId = `manual-${'x'.repeat(73)}`;
      expect(runId).toHaveLength(80); // the longest name `botvault run --name` takes (an execution name's limit)
      const changed = { ...RESULTS[0]!, changes: 'Ålpha (en_US): intent Ça va added' };
      const metrics = new CapturedMetrics({ namespace: 'BotVault', serviceName: 'botvault' });
      await summarize(
        { runId, startedAt: '2024-01-02T03:00:00Z', trigger: 'manual', results: [changed] },
        { s3, bucket, metrics, changes: { sns: client, topicArn: sns.topicArn } },
      );
      // The simulator refuses a Subject that is not ASCII or is 100 characters or more, as SNS does.
      expect(sns.published).toHaveLength(1);
      expect(sns.published[0]!.subject).toMatch(/^BotVault: 1 of 1 bots changed \(run manual-x+\.\.\.$/);
      expect(sns.published[0]!.subject!.length).toBeLessThan(100);
      expect(sns.published[0]!.message).toMatch(/^1 of 1 bots changed: Ålpha \(en_US\): intent Ça va added\n/);

      sns.failNext('InternalError', 5);
      const failing = new CapturedMetrics({ namespace: 'BotVault', serviceName: 'botvault' });
      const out = await summarize(
        { runId: 'run-46', startedAt: '2024-01-02T03:00:00Z', trigger: 'manual', results: [changed] },
        { s3, bucket, metrics: failing, changes: { sns: client, topicArn: sns.topicArn } },
      );
      expect(out.failed).toBe(0);
      expect(sns.published).toHaveLength(1);
      expect(JSON.stringify(failing.emitted)).toContain('ChangeNotificationsFailed');
    } finally {
      client.destroy();
      await sns.close();
    }
  });

  it('rejects a startedAt that is not a timestamp', async () => {
    await expect(
      summarize({ runId: 'r', startedAt: 'yesterday', trigger: 'manual', results: [] }, { s3, bucket, metrics: new CapturedMetrics() }),
    ).rejects.toBeInstanceOf(InvalidInputError);
  });

  it('dates manifests in UTC', () => {
    expect(manifestKey('r', new Date('2024-12-31T23:30:00-05:00'))).toBe('runs/2025/01/01/r.json');
  });
});

describe('summarize handler (environment → clients → core)', () => {
  const saved = { ...process.env };
  let kms: KmsSimulator;
  let macKeyArn: string;
  beforeAll(async () => {
    kms = await startKmsSimulator();
    macKeyArn = kms.createKey();
  });
  afterAll(() => kms.close());
  afterEach(() => {
    process.env = { ...saved };
  });
  function pointAtServer() {
    Object.assign(process.env, {
      AWS_ENDPOINT_URL_KMS: kms.url,
      BOTVAULT_MAC_KEY_ID: macKeyArn,
      BOTVAULT_BUCKET: bucket,
      AWS_ENDPOINT_URL_S3: server.endpoint,
      AWS_REGION: 'us-east-1',
      AWS_ACCESS_KEY_ID: 'S3RVER',
      AWS_SECRET_ACCESS_KEY: 'S3RVER',
      POWERTOOLS_METRICS_DISABLED: 'true',
      POWERTOOLS_LOG_LEVEL: 'SILENT',
    });
  }

  it('writes the manifest through the SDK default config (AWS_ENDPOINT_URL_S3)', async () => {
    pointAtServer();
    const out = await handler({ runId: 'run-h1', startedAt: '2024-05-17T03:00:00Z', trigger: 'manual', results: RESULTS });
    expect(out.manifestKey).toBe('runs/2024/05/17/run-h1.json');
    expect((await readJson(out.manifestKey)).counts).toEqual({ total: 4, succeeded: 2, unchanged: 1, failed: 1 });
    // Authenticated with the configured key: its sha256 and MAC are in the metadata.
    const stored = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: out.manifestKey }));
    const body = Buffer.from(await stored.Body!.transformToByteArray());
    expect(stored.Metadata).toEqual({
      sha256: createHash('sha256').update(body).digest('hex'),
      'run-id': 'run-h1',
      mac: expect.stringMatching(/^v1:[A-Za-z0-9+/]{43}=$/),
    });
    expect(kms.calls.filter((c) => c.op === 'GenerateMac').map((c) => [c.keyId, c.status])).toEqual([[macKeyArn, 200]]);
  });

  it('a missing BOTVAULT_MAC_KEY_ID is an EnvironmentError naming the variable: no manifest is written unauthenticated', async () => {
    pointAtServer();
    delete process.env.BOTVAULT_MAC_KEY_ID;
    const err = await handler({ runId: 'run-h4', startedAt: '2024-05-17T03:00:00Z', trigger: 'manual', results: [] }).catch(
      (e: unknown) => e as Error,
    );
    expect(err).toBeInstanceOf(EnvironmentError);
    expect((err as Error).message).toMatch(/^Environment variable BOTVAULT_MAC_KEY_ID is not set/);
    await expect(readJson('runs/2024/05/17/run-h4.json')).rejects.toMatchObject({ name: 'NoSuchKey' });
  });

  it('a malformed payload is an InvalidInputError naming the field', async () => {
    pointAtServer();
    const err = await handler({ runId: 'run-h2', startedAt: '2024-05-17T03:00:00Z', trigger: 'manual', results: [{ status: 'DONE' }] }).catch(
      (e: unknown) => e as Error,
    );
    expect(err).toBeInstanceOf(InvalidInputError);
    expect((err as Error).message).toMatch(/results\[0\]\.target/);
    expect((err as Error).message).toMatch(/results\[0\]\.status/);
  });

  it('a missing BOTVAULT_BUCKET is an EnvironmentError naming the variable', async () => {
    pointAtServer();
    delete process.env.BOTVAULT_BUCKET;
    const err = await handler({ runId: 'run-h3', startedAt: '2024-05-17T03:00:00Z', trigger: 'manual', results: [] }).catch(
      (e: unknown) => e as Error,
    );
    expect(err).toBeInstanceOf(EnvironmentError);
    expect((err as Error).message).toMatch(/BOTVAULT_BUCKET is not set/);
  });
});
