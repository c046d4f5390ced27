/**
 * Faults against a real versioned S3 server (OpenStack Swift's S3 API, see
 * scripts/swift-s3.sh): a download that fails mid-body adds no version and
 * leaves no multipart upload or staging version behind, and a StoreArchive
 * that runs again for the same job and run (its first invocation wrote, then
 * timed out) adds no second version.
 */
import { ListObjectVersionsCommand } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { States } from '../../lib/constructs/backup-workflow';
import { startHarness, type Harness } from './harness';
import { BOTS, FAULTY, FAULTY_KEY, TARGETS, expectStoredAsServed, failures, resultFor, retries } from './fault-helpers';

let h: Harness;
let firstVersion: string;
const ONE = TARGETS.slice(0, 1);

/** Versions and delete markers of the exact key, or of every key under a prefix ending in `/`. */
async function versions(keyOrPrefix: string) {
  const res = await h.s3.send(new ListObjectVersionsCommand({ Bucket: h.bucket, Prefix: keyOrPrefix }));
  const mine = (k?: string) => keyOrPrefix.endsWith('/') || k === keyOrPrefix;
  return { versions: (res.Versions ?? []).filter((v) => mine(v.Key)), markers: (res.DeleteMarkers ?? []).filter((m) => mine(m.Key)) };
}

/** The key still has exactly its versions before the fault; no staging version, marker or multipart upload is left. */
async function expectHistoryUntouched(expected: string[]) {
  const { versions: v, markers } = await versions(FAULTY_KEY);
  expect(v.map((x) => x.VersionId).sort()).toEqual([...expected].sort());
  expect(markers).toEqual([]);
  const staging = await versions('staging/');
  expect(staging.versions).toEqual([]);
  expect(staging.markers).toEqual([]);
  expect(await h.openMultipartUploads()).toBe(0);
}

beforeAll(async () => {
  h = await startHarness({ s3: 'swift', bots: BOTS });
  const run = await h.run(h.config({ targets: ONE }));
  expect(run.status).toBe('SUCCEEDED');
  firstVersion = resultFor(run, FAULTY).versionId!;
  expect(firstVersion).toBeTruthy();
});
afterAll(async () => h?.close());

describe('a download that fails mid-body adds no version (Swift)', () => {
  it.each([
    ['truncate', 'shorter than its Content-Length', /(interrupted|ended) after \d+ (bytes )?of \d+/],
    ['reset', 'chunked and reset mid-stream', /interrupted after \d+ bytes/],
  ] as const)('%s (%s): DownloadIntegrityError, upload aborted, the history keeps its one version', async (fault, _what, cause) => {
    h.lex.setFaults('ALPHABOT01', { download: fault });
    const run = await h.run(h.config({ targets: ONE }));

    expect(run.status).toBe('FAILED');
    const failed = resultFor(run, FAULTY);
    expect(failed).toMatchObject({ status: 'FAILED', error: 'DownloadIntegrityError' });
    expect(failed.cause).toMatch(cause);
    expect(retries(run, States.storeArchive)).toBe(0);
    await expectHistoryUntouched([firstVersion]);
  });

  it('a body dripping past the function deadline: cut, retried as ProviderUnavailableError, then the job fails; no version, no upload left', async () => {
    h.lex.setFaults('ALPHABOT01', { download: 'drip' });
    // A 1.2 s function timeout as seen through the Lambda context: StoreArchive keeps time back for the abort and cuts the download at 1 s.
    const run = await h.run(h.config({ targets: ONE }), { functionTimeoutMs: { [States.storeArchive]: 1200 } });

    expect(run.status).toBe('FAILED');
    const failed = resultFor(run, FAULTY);
    expect(failed).toMatchObject({ status: 'FAILED', error: 'ProviderUnavailableError' });
    expect(failed.cause).toMatch(/did not finish within 1 s/);
    expect(failed.cause).not.toMatch(/X-Amz-Signature|X-Amz-Security-Token/);
    const attempts = failures(run, States.storeArchive);
    expect(attempts.length).toBeGreaterThan(1);
    expect(new Set(attempts)).toEqual(new Set(['ProviderUnavailableError']));
    await expectHistoryUntouched([firstVersion]);
  });
});

describe('re-running StoreArchive for the same job and run (Swift)', () => {
  it.each([
    ['skipUnchanged', 'Cancel'],
    ['always', 'Refund'],
  ] as const)(
    "changeDetection %s: the first invocation wrote, then its result was lost (Lambda.Unknown); the retry finds this run's version and adds none",
    async (changeDetection, newIntent) => {
      h.lex.setFaults('ALPHABOT01', {});
      // A real change, so this run's archive is a new version (change detection would skip an unchanged one).
      h.lex.modifyBot('ALPHABOT01', { intents: ['Greet', 'Order', newIntent] });
      const before = (await versions(FAULTY_KEY)).versions.map((x) => x.VersionId!);
      const run = await h.run(h.config({ targets: ONE, changeDetection }), { lambdaFaults: { [States.storeArchive]: { times: 1, when: 'after' } } });

      expect(run.status).toBe('SUCCEEDED');
      expect(failures(run, States.storeArchive)).toEqual(['Lambda.Unknown']);
      expect(retries(run, States.storeArchive)).toBe(1);
      const result = resultFor(run, FAULTY);
      // StoreArchive ran twice, and this run added exactly one version: the one it reports.
      expect(h.lex.calls.filter((c) => c.op === 'Download' && c.status === 200 && c.exportId === result.exportId)).toHaveLength(2);
      const { versions: v } = await versions(FAULTY_KEY);
      expect(v.map((x) => x.VersionId).sort()).toEqual([...before, result.versionId].sort());
      expect(v.find((x) => x.IsLatest)?.VersionId).toBe(result.versionId);
      await expectStoredAsServed(h, result);
      expect((await h.object(FAULTY_KEY, result.versionId))!.metadata['run-id']).toBe(run.runId);
      await expectHistoryUntouched([...before, result.versionId!]);
    },
  );
});
