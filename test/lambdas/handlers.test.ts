/**
 * The six handlers as the local runner and Lambda call them — `handler(payload)`
 * with the environment the stack sets — against the Lex V2 simulator (real
 * LexModelsV2Client, via AWS_ENDPOINT_URL_LEX_MODELS_V2) and s3rver (real
 * S3Client, via AWS_ENDPOINT_URL_S3).
 */
import { createHash } from 'node:crypto';
import { GetObjectCommand, HeadObjectCommand, ListMultipartUploadsCommand, ListObjectsV2Command, type S3Client } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { type KmsSimulator, startKmsSimulator } from '../simulators/kms-simulator';
import { handler as checkExport } from '../../lambdas/check-export/handler';
import { handler as cleanup } from '../../lambdas/cleanup/handler';
import { handler as plan } from '../../lambdas/plan/handler';
import { handler as startExport } from '../../lambdas/start-export/handler';
import { handler as storeArchive } from '../../lambdas/store-archive/handler';
import { storeArchive as storeArchiveCore } from '../../lambdas/store-archive/store-archive';
import { handler as summarize } from '../../lambdas/summarize/handler';
import { providerDepsFromEnv } from '../../lambdas/shared/handler';
import { providerFor } from '../../lib/providers/registry';
import { s3Client } from '../../lambdas/shared/clients';
import { exportStateSchema, jobResultSchema, planOutputSchema, type ExportState, type Job, type JobResult } from '../../lib/core/contracts';
import { DownloadIntegrityError, DownloadUrlExpiredError, InvalidInputError, ProviderUnavailableError, UnsafeUrlError } from '../../lib/core/errors';
import { startLexSimulator, type LexFaults, type LexSimulator } from '../simulators/lex-simulator';
import { createBucket, startLocalS3, stopLocalS3, type S3Server } from '../simulators/s3-server';
import { handlerEnvironment } from './handler-environment';
import { THREE_BOTS as BOTS, THREE_BOT_TARGETS as TARGETS } from '../helpers/lex-bots';
import { withCapturedLogs } from '../helpers/capture-logs';
import { pollingSchema } from '../../lib/core/schemas';

const POLLING = pollingSchema.parse({ firstWaitSeconds: 1, maxWaitSeconds: 4, budgetSeconds: 20 });
const sha256 = (b: Buffer) => createHash('sha256').update(b).digest('hex');

let sim: LexSimulator;
let s3server: S3Server;
let s3: S3Client;
let bucket: string;
let n = 0;
let kms: KmsSimulator;
let macKeyArn: string;

beforeAll(async () => {
  sim = await startLexSimulator({ bots: BOTS });
  ({ server: s3server, s3 } = await startLocalS3());
  kms = await startKmsSimulator();
  macKeyArn = kms.createKey();
});
afterAll(async () => {
  await kms.close();
  await stopLocalS3({ server: s3server, s3 });
  await sim.close();
});
beforeEach(async () => {
  bucket = `handlers-${++n}`;
  await createBucket(s3server.endpoint, bucket);
  for (const b of BOTS) sim.setFaults(b.botId, {});
  // What the stack sets on every Lambda (and the runner sets locally).
  Object.assign(process.env, handlerEnvironment({ lexUrl: sim.url, s3Endpoint: s3server.endpoint, bucket, kms: { url: kms.url, macKeyArn } }));
});

async function planJobs(input: unknown = {}, targets: unknown[] = TARGETS): Promise<Job[]> {
  const out = planOutputSchema.parse(await plan({ runId: `run-${n}`, startedAt: '2024-05-17T03:00:00Z', targets, input }));
  return out.jobs;
}

/** StartExport, then Wait (scaled: 1 s → 25 ms, like the runner's fast mode) and CheckExport until the Choice state would leave the loop. */
async function exportReady(job: Job): Promise<ExportState> {
  let state = exportStateSchema.parse(await startExport({ job, polling: POLLING }));
  for (;;) {
    await new Promise((r) => setTimeout(r, state.waitSeconds * 25));
    state = exportStateSchema.parse(await checkExport({ job, polling: POLLING, export: state }));
    if (state.status !== 'IN_PROGRESS' || !state.withinBudget) break;
  }
  return state;
}

async function keys(prefix = ''): Promise<string[]> {
  const res = await s3.send(new ListObjectsV2Command({ Bucket: bucket, Prefix: prefix }));
  return (res.Contents ?? []).map((o) => o.Key!).sort();
}
async function openUploads(): Promise<number> {
  return ((await s3.send(new ListMultipartUploadsCommand({ Bucket: bucket }))).Uploads ?? []).length;
}
async function expectNothingStored(job: Job) {
  expect(await keys(job.key)).toEqual([]);
  expect(await keys('staging/')).toEqual([]);
  expect(await openUploads()).toBe(0);
}
async function failure(p: Promise<unknown>): Promise<Error> {
  return p.then(
    () => {
      throw new Error('expected the handler to fail');
    },
    (e: unknown) => e as Error,
  );
}
const downloads = (exportId: string) => sim.calls.filter((c) => c.op === 'Download' && c.exportId === exportId);

describe('handlers: one job end to end', () => {
  it('plan → start → check → store → cleanup → summarize stores the exact archive with its metadata', async () => {
    sim.setFaults('ALPHABOT01', { exportLatencyMs: 250 });
    const [job] = await planJobs({ only: ['Alpha'] }, [{ provider: 'lex', discover: true }]);
    expect(job).toMatchObject({ id: 'lex:ALPHABOT01:DRAFT', name: 'Alpha', key: 'lex/123456789012/us-east-1/ALPHABOT01/DRAFT/bot.zip' });

    const state = await exportReady(job!);
    expect(state.status).toBe('READY');
    expect(state.polls).toBeGreaterThanOrEqual(1);

    const result = jobResultSchema.parse(await storeArchive({ job, runId: 'run-e2e', export: state }));
    const served = sim.archiveFor(state.ref.exportId);
    expect(result).toEqual({
      target: 'lex:ALPHABOT01:DRAFT',
      provider: 'lex',
      name: 'Alpha',
      status: 'SUCCEEDED',
      key: job!.key,
      bytes: served.length,
      sha256: sha256(served),
      exportId: state.ref.exportId,
      restoreInfo: 'written',
      changes: 'Alpha: first backup',
      changeRecord: 'written',
    });
    const stored = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: job!.key }));
    expect(Buffer.from(await stored.Body!.transformToByteArray()).equals(served)).toBe(true);
    expect(stored.Metadata).toEqual({
      sha256: sha256(served),
      source: job!.id,
      'export-id': state.ref.exportId,
      'run-id': 'run-e2e',
      'bot-name': 'Alpha',
      'content-sha256': expect.stringMatching(/^[0-9a-f]{64}$/),
      'restore-info-sha256': expect.stringMatching(/^[0-9a-f]{64}$/),
      mac: expect.stringMatching(/^v1:[A-Za-z0-9+/]{43}=$/),
    });
    expect(await keys('staging/')).toEqual([]);

    expect(await cleanup({ job, export: state })).toEqual({ cleaned: true });
    expect(sim.exports.get(state.ref.exportId)?.deleted).toBe(true);

    const summary = await summarize({ runId: 'run-e2e', startedAt: '2024-05-17T03:00:00Z', trigger: 'manual', results: [result] });
    expect(summary).toMatchObject({ manifestKey: 'runs/2024/05/17/run-e2e.json', total: 1, succeeded: 1, failed: 0 });
    expect(await keys('runs/')).toEqual(['runs/2024/05/17/run-e2e.json']);
  });

  it('a failed export ends the polling loop as FAILED with the reasons', async () => {
    sim.setFaults('BRAVOBOT02', { failExport: ['Bot locale en_US is not built'] });
    const [job] = await planJobs({ only: ['BRAVOBOT02'] });
    const state = await exportReady(job!);
    expect(state).toMatchObject({ status: 'FAILED', reasons: ['Bot locale en_US is not built'], polls: 1 });
  });

  it('an export that never finishes leaves the loop when the budget is spent', async () => {
    sim.setFaults('CHARLIE003', { neverFinish: true });
    const [job] = await planJobs({ only: ['lex:CHARLIE003:2'] });
    const state = await exportReady(job!);
    // Waits 1 + 2 + 4 + 4 + 4 + 4 = 19 s of the 20 s budget; a seventh wait (4 s) would pass it.
    expect(state).toMatchObject({ status: 'IN_PROGRESS', withinBudget: false, waitedSeconds: 19, polls: 6 });
    expect(sim.calls.filter((c) => c.op === 'DescribeExport' && c.exportId === state.ref.exportId)).toHaveLength(6);
  });
});

describe('handlers: store-archive download faults', () => {
  async function readyJob(faults: LexFaults): Promise<{ job: Job; state: ExportState }> {
    sim.setFaults('ALPHABOT01', faults);
    const [job] = await planJobs({ only: ['ALPHABOT01'] });
    return { job: job!, state: await exportReady(job!) };
  }

  it.each([
    ['truncate', /interrupted after \d+ bytes of \d+/],
    ['reset', /interrupted after \d+ bytes/],
    ['notzip', /not a readable zip/],
    ['empty', /empty/],
  ] as const)('%s → DownloadIntegrityError; no object, no staging object, no multipart upload', async (fault, reason) => {
    const { job, state } = await readyJob({ download: fault });
    const err = await failure(storeArchive({ job, runId: 'run-f', export: state }));
    expect(err).toBeInstanceOf(DownloadIntegrityError);
    expect(err.name).toBe('DownloadIntegrityError');
    expect(err.message).toMatch(reason);
    expect(err.message).not.toMatch(/X-Amz-Signature|X-Amz-Security-Token/);
    await expectNothingStored(job);
    expect(downloads(state.ref.exportId)).toHaveLength(1);
  });

  it('forbidden once → a fresh URL from DescribeExport, and the second download is stored', async () => {
    const { job, state } = await readyJob({ download: 'forbiddenOnce' });
    const result = jobResultSchema.parse(await storeArchive({ job, runId: 'run-f', export: state })) as JobResult;
    expect(result.sha256).toBe(sha256(sim.archiveFor(state.ref.exportId)));
    expect(downloads(state.ref.exportId).map((c) => c.status)).toEqual([403, 200]);
  });

  it('logs the retry after a 403 with the URL redacted: no signature, no session token in any log line', async () => {
    const { job, state } = await readyJob({ download: 'forbiddenOnce' });
    // Powertools writes INFO/DEBUG to stdout and WARN/ERROR to stderr: both are captured.
    const lines: string[] = [];
    await withCapturedLogs(lines, () => storeArchive({ job, runId: 'run-log', export: state }));
    const logged = lines.join('');
    expect(logged).toContain('Download refused (403); retrying once with a fresh URL');
    expect(logged).toContain(`${sim.url}/downloads/${state.ref.exportId}`);
    expect(logged).toContain('Archive stored');
    expect(logged).not.toMatch(/X-Amz-Signature|X-Amz-Security-Token|X-Amz-Credential/);
  });

  it('forbidden twice → DownloadUrlExpiredError after exactly one fresh URL; nothing stored', async () => {
    const { job, state } = await readyJob({ download: 'forbidden' });
    const describesBefore = sim.calls.filter((c) => c.op === 'DescribeExport' && c.exportId === state.ref.exportId).length;
    const err = await failure(storeArchive({ job, runId: 'run-f', export: state }));
    expect(err).toBeInstanceOf(DownloadUrlExpiredError);
    expect(err.message).not.toMatch(/X-Amz-Signature/);
    expect(downloads(state.ref.exportId).map((c) => c.status)).toEqual([403, 403]);
    expect(sim.calls.filter((c) => c.op === 'DescribeExport' && c.exportId === state.ref.exportId).length - describesBefore).toBe(2);
    await expectNothingStored(job);
  });

  it('a redirect to the instance metadata address → UnsafeUrlError; nothing stored', async () => {
    const { job, state } = await readyJob({ download: 'redirectInternal' });
    const err = await failure(storeArchive({ job, runId: 'run-f', export: state }));
    expect(err).toBeInstanceOf(UnsafeUrlError);
    expect(err.message).toContain('http://169.254.169.254/latest/meta-data/');
    await expectNothingStored(job);
  });

  it('a download origin the operator did not allowlist is refused before any request', async () => {
    process.env.BOTVAULT_DOWNLOAD_ALLOWLIST = '';
    const { job, state } = await readyJob({});
    const err = await failure(storeArchive({ job, runId: 'run-f', export: state }));
    expect(err).toBeInstanceOf(UnsafeUrlError);
    expect(err.message).toMatch(/only https is allowed/);
    expect(downloads(state.ref.exportId)).toEqual([]);
    await expectNothingStored(job);
  });

  it('a dripping download is cut at the deadline: retryable ProviderUnavailableError, nothing stored', async () => {
    const { job, state } = await readyJob({ download: 'drip' });
    const providerDeps = providerDepsFromEnv();
    const err = await failure(
      storeArchiveCore(
        { job, runId: 'run-f', export: state },
        {
          providerFor: (name) => providerFor(name, providerDeps),
          s3: s3Client(),
          bucket,
          allowedOrigins: [sim.url],
          downloadDeadlineMs: 700,
        },
      ),
    );
    expect(err).toBeInstanceOf(ProviderUnavailableError);
    expect(err.message).toMatch(/did not finish within 700 ms/);
    await expectNothingStored(job);
  });
});

describe('handlers: input validation', () => {
  it('plan: an unknown `only` entry fails before any export starts, listing the known targets', async () => {
    const before = sim.calls.filter((c) => c.op === 'CreateExport').length;
    const err = await failure(planJobs({ trigger: 'manual', only: ['NOSUCHBOT9'] }));
    expect(err).toBeInstanceOf(InvalidInputError);
    expect(err.message).toContain('NOSUCHBOT9');
    expect(err.message).toContain('lex:BRAVOBOT02:DRAFT');
    expect(sim.calls.filter((c) => c.op === 'CreateExport').length).toBe(before);
  });

  it('plan: de-duplicates a bot that a static target and a discovery target both produce', async () => {
    const jobs = await planJobs({}, [TARGETS[0], { provider: 'lex', discover: true, include: ['Alpha'] }]);
    expect(jobs).toHaveLength(1);
    expect(jobs[0]).toMatchObject({ id: 'lex:ALPHABOT01:DRAFT', name: 'Alpha' });
  });

  it('start-export: a payload without a job is an InvalidInputError naming the field', async () => {
    const err = await failure(startExport({ polling: POLLING }));
    expect(err).toBeInstanceOf(InvalidInputError);
    expect(err.message).toMatch(/StartExport got an invalid input: job: /);
  });

  it('store-archive: a job for an unknown provider is refused by the input schema', async () => {
    const [job] = await planJobs({ only: ['ALPHABOT01'] });
    const state = await exportReady(job!);
    const err = await failure(storeArchive({ job: { ...job!, provider: 'dropbox' }, runId: 'r', export: state }));
    expect(err).toBeInstanceOf(InvalidInputError);
    expect(err.message).toMatch(/job\.provider/);
  });

  it('check-export: an unknown export id is a ProviderRequestError from Lex', async () => {
    const [job] = await planJobs({ only: ['ALPHABOT01'] });
    const err = await failure(
      checkExport({
        job,
        polling: POLLING,
        export: { ref: { exportId: 'NOSUCHEXP0' }, status: 'IN_PROGRESS', polls: 0, waitSeconds: 1, waitedSeconds: 0, withinBudget: true },
      }),
    );
    expect(err.name).toBe('ProviderRequestError');
    expect(err.message).toMatch(/ResourceNotFoundException/);
  });

  it('the handlers follow the environment: a new simulator endpoint gets a new client', async () => {
    const other = await startLexSimulator({ bots: [{ botId: 'OTHERBOT01', botName: 'Other' }] });
    try {
      process.env.AWS_ENDPOINT_URL_LEX_MODELS_V2 = other.url;
      const jobs = await planJobs({}, [{ provider: 'lex', discover: true }]);
      expect(jobs.map((j) => j.id)).toEqual(['lex:OTHERBOT01:DRAFT']);
    } finally {
      await other.close();
    }
  });
});

describe('handlers: stored objects are verifiable', () => {
  it('HeadObject shows the size and hash the job reported', async () => {
    const [job] = await planJobs({ only: ['CHARLIE003'] });
    const state = await exportReady(job!);
    const result = jobResultSchema.parse(await storeArchive({ job, runId: 'run-v', export: state }));
    const head = await s3.send(new HeadObjectCommand({ Bucket: bucket, Key: result.key! }));
    expect(head.ContentLength).toBe(result.bytes);
    expect(head.Metadata?.sha256).toBe(result.sha256);
    expect(head.Metadata?.['bot-name']).toBeUndefined(); // a static target has no name
  });
});
