/**
 * Faults injected for real, part 1 (part 2: faults-guard.test.ts), against
 * the synthesized definition run with the real handlers: the Lex simulator
 * throttles, conflicts, expires download URLs, sends empty or non-zip
 * bodies (cut and dripping bodies: faults-versioned.test.ts, on Swift). Retry pauses and
 * Wait states are shortened by the runner's `fast` mode (retryIntervalOverrides
 * and waitTimeOverrides), so nothing here waits real minutes.
 *
 * Already covered in lex-backup.test.ts and not repeated here: a failed export
 * (reasons, no download), an export that never finishes (timed out after the
 * budget, the others unaffected), a truncated or reset body on s3rver, an
 * unknown `only` target.
 */
import { describe, expect, it } from 'vitest';
import { States } from '../../lib/constructs/backup-workflow';
import {
  FAULTY,
  HEALTHY,
  HEALTHY_KEY,
  TARGETS,
  callsOf,
  expectNothingStored,
  expectStoredAsServed,
  failures,
  faultHarnessPerTest,
  resultFor,
  retries,
} from './fault-helpers';

const harness = faultHarnessPerTest();

describe('provider API faults are retried until the job succeeds', () => {
  it.each([
    [
      'a throttling burst at StartExport outlasts the SDK retries; the state machine retries RateLimitedError and the job succeeds',
      { throttleCreate: 3 },
      ['CreateExport:429', 'CreateExport:429', 'CreateExport:429', 'CreateExport:202'],
      ['RateLimitedError'],
    ],
    [
      'ConflictException at StartExport (an export already running) is retried as ProviderUnavailableError',
      { conflictCreate: 2 },
      ['CreateExport:409', 'CreateExport:409', 'CreateExport:202'],
      ['ProviderUnavailableError', 'ProviderUnavailableError'],
    ],
  ] as const)('%s', async (_what, faults, createCalls, startFailures) => {
    const h = await harness(faults);
    const run = await h.run(h.config({ targets: TARGETS }));

    expect(run.status).toBe('SUCCEEDED');
    expect(callsOf(h, 'ALPHABOT01').filter((c) => c.startsWith('CreateExport'))).toEqual(createCalls);
    expect(failures(run, States.startExport)).toEqual(startFailures);
    expect(retries(run, States.startExport)).toBe(startFailures.length);
    await expectStoredAsServed(h, resultFor(run, FAULTY));
  });

  it('a throttling burst while polling: CheckExport is retried and the job succeeds', async () => {
    const h = await harness({ throttleDescribe: 3, exportLatencyMs: 50 });
    const run = await h.run(h.config({ targets: TARGETS }));

    expect(run.status).toBe('SUCCEEDED');
    expect(callsOf(h, 'ALPHABOT01').filter((c) => c === 'DescribeExport:429')).toHaveLength(3);
    expect(failures(run, States.checkExport)).toEqual(['RateLimitedError']);
    await expectStoredAsServed(h, resultFor(run, FAULTY));
  });
});

describe('expired download URLs', () => {
  it('a 403 on the download: exactly one fresh DescribeExport, then the download succeeds', async () => {
    const h = await harness({ download: 'forbiddenOnce' });
    const run = await h.run(h.config({ targets: TARGETS }));

    expect(run.status).toBe('SUCCEEDED');
    const calls = callsOf(h, 'ALPHABOT01').filter((c) => /^(DescribeExport|Download|DeleteExport):/.test(c));
    const firstDownload = calls.indexOf('Download:403');
    // StoreArchive: DescribeExport (URL) → 403 → DescribeExport (fresh URL) → 200; then Cleanup.
    expect(calls.slice(firstDownload - 1)).toEqual(['DescribeExport:200', 'Download:403', 'DescribeExport:200', 'Download:200', 'DeleteExport:202']);
    expect(failures(run, States.storeArchive)).toEqual([]);
    await expectStoredAsServed(h, resultFor(run, FAULTY));
  });

  it('a second 403 with the fresh URL fails the job (DownloadUrlExpiredError, not retried); nothing stored', async () => {
    const h = await harness({ download: 'forbidden' });
    const run = await h.run(h.config({ targets: TARGETS }));

    expect(run.status).toBe('FAILED');
    expect(resultFor(run, FAULTY)).toMatchObject({ status: 'FAILED', error: 'DownloadUrlExpiredError' });
    expect(callsOf(h, 'ALPHABOT01').filter((c) => c.startsWith('Download'))).toEqual(['Download:403', 'Download:403']);
    expect(retries(run, States.storeArchive)).toBe(0);
    await expectNothingStored(h);
    expect(resultFor(run, HEALTHY).status).toBe('SUCCEEDED');
  });
});

describe('bad bodies store nothing', () => {
  it.each([
    ['empty', /is empty \(0 bytes\)/],
    ['notzip', /not a readable zip/],
  ] as const)('%s body: DownloadIntegrityError, downloaded once (never retried), nothing stored', async (fault, reason) => {
    const h = await harness({ download: fault });
    const run = await h.run(h.config({ targets: TARGETS }));

    expect(run.status).toBe('FAILED');
    const failed = resultFor(run, FAULTY);
    expect(failed).toMatchObject({ status: 'FAILED', error: 'DownloadIntegrityError' });
    expect(failed.cause).toMatch(reason);
    expect(callsOf(h, 'ALPHABOT01').filter((c) => c.startsWith('Download'))).toEqual(['Download:200']);
    await expectNothingStored(h);
    expect((await h.keys('lex/')).filter((k) => k.endsWith('.zip'))).toEqual([HEALTHY_KEY]);
  });
});
