/**
 * Faults injected for real, part 2 (part 1: faults.test.ts), against the
 * synthesized definition run with the real handlers: the local runner's Lambda
 * layer crashes a function; an HTTP proxy in front of s3rver damages the
 * archive's bytes on their way to S3; the Lex simulator hands out a redirecting or un-allowlisted
 * download URL; a manual execution gets malformed input. Retry pauses are
 * shortened by the runner's `fast` mode (retryIntervalOverrides).
 */
import { afterEach, describe, expect, it } from 'vitest';
import { States } from '../../lib/constructs/backup-workflow';
import { startS3FaultProxy, type S3FaultProxy } from '../simulators/s3-fault-proxy';
import {
  FAULTY,
  FAULTY_KEY,
  HEALTHY,
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
// Registered after the harness's: closed before it (after-hooks run in reverse order).
let proxy: S3FaultProxy | undefined;
afterEach(async () => {
  await proxy?.close();
  proxy = undefined;
});

describe('a crashed Lambda is retried', () => {
  it('the runtime dies (Lambda.Unknown) before StoreArchive runs: retried, and the job succeeds', async () => {
    const h = await harness({});
    const run = await h.run(h.config({ targets: TARGETS.slice(0, 1) }), { lambdaFaults: { [States.storeArchive]: { times: 1, when: 'before' } } });

    expect(run.status).toBe('SUCCEEDED');
    expect(failures(run, States.storeArchive)).toEqual(['Lambda.Unknown']);
    expect(retries(run, States.storeArchive)).toBe(1);
    await expectStoredAsServed(h, resultFor(run, FAULTY));
  });

  it('a provider answer the handler cannot parse crashes CheckExport with an unnamed SyntaxError; the crash is retried and the job succeeds', async () => {
    const h = await harness({ garbleDescribe: 1 });
    const run = await h.run(h.config({ targets: TARGETS.slice(0, 1) }));

    expect(run.status).toBe('SUCCEEDED');
    expect(failures(run, States.checkExport)).toEqual(['SyntaxError']);
    expect(retries(run, States.checkExport)).toBe(1);
    await expectStoredAsServed(h, resultFor(run, FAULTY));
  });

  it('an unexpected error name (a TypeError from a bug) at CheckExport is retried, and the job succeeds', async () => {
    const h = await harness({});
    const run = await h.run(h.config({ targets: TARGETS.slice(0, 1) }), {
      lambdaFaults: { [States.checkExport]: { times: 1, when: 'before', error: 'TypeError' } },
    });

    expect(run.status).toBe('SUCCEEDED');
    expect(failures(run, States.checkExport)).toEqual(['TypeError']);
    await expectStoredAsServed(h, resultFor(run, FAULTY));
  });

  it('a crash that persists fails the job after a bounded number of attempts (the Map goes on)', async () => {
    const h = await harness({});
    const run = await h.run(h.config({ targets: TARGETS.slice(0, 1) }), { lambdaFaults: { [States.startExport]: { times: 100, when: 'before' } } });

    expect(run.status).toBe('FAILED');
    expect(resultFor(run, FAULTY)).toMatchObject({ status: 'FAILED', error: 'Lambda.Unknown' });
    expect(failures(run, States.startExport)).toEqual(['Lambda.Unknown', 'Lambda.Unknown', 'Lambda.Unknown']);
    expect(h.lex.calls.filter((c) => c.op === 'CreateExport')).toEqual([]);
  });
});

describe('S3 checks the bytes it is given', () => {
  it('archive bytes damaged on the way to S3 are refused by its checksum: retried, then the job fails, nothing stored, the other bot stored', async () => {
    const h = await harness({});
    proxy = await startS3FaultProxy(h.endpoint, { tamperBody: (r) => r.method === 'PUT' && r.path === `/${h.bucket}/${FAULTY_KEY}` });
    process.env.AWS_ENDPOINT_URL_S3 = proxy.url;
    const run = await h.run(h.config({ targets: TARGETS }));

    expect(run.status).toBe('FAILED');
    const failed = resultFor(run, FAULTY);
    expect(failed).toMatchObject({ status: 'FAILED', error: 'ProviderUnavailableError' });
    expect(failed.cause).toMatch(
      /S3 refused the archive for .*: the bytes it received do not match their checksum \(BadDigest\); nothing was written/,
    );
    expect(failures(run, States.storeArchive).length).toBeGreaterThan(1);
    expect(proxy.requests.filter((r) => r.method === 'DELETE')).toEqual([]);
    await expectNothingStored(h);
    await expectStoredAsServed(h, resultFor(run, HEALTHY));
  });
});

describe('the download guard, through the workflow', () => {
  it('a download URL that redirects to the instance metadata address: UnsafeUrlError, the redirect is not followed or retried, nothing stored', async () => {
    const h = await harness({ download: 'redirectInternal' });
    const run = await h.run(h.config({ targets: TARGETS }));

    expect(run.status).toBe('FAILED');
    const failed = resultFor(run, FAULTY);
    expect(failed).toMatchObject({ status: 'FAILED', error: 'UnsafeUrlError' });
    expect(failed.cause).toMatch(/302 redirect .*169\.254\.169\.254.*never follow redirects/);
    expect(callsOf(h, 'ALPHABOT01').filter((c) => c.startsWith('Download'))).toEqual(['Download:302']);
    expect(retries(run, States.storeArchive)).toBe(0);
    await expectNothingStored(h);
  });

  it('a download origin the operator did not allowlist (plain http, loopback): refused before any request; no job stores anything', async () => {
    const h = await harness({});
    const run = await h.run(h.config({ targets: TARGETS, downloadAllowlist: [] }));

    expect(run.status).toBe('FAILED');
    for (const r of run.manifest!.results) {
      expect(r).toMatchObject({ status: 'FAILED', error: 'UnsafeUrlError' });
      expect(r.cause).toMatch(/only https is allowed/);
    }
    expect(h.lex.calls.filter((c) => c.op === 'Download')).toEqual([]);
    expect(await h.keys('lex/')).toEqual([]);
    expect(await h.openMultipartUploads()).toBe(0);
  });
});

describe('bad execution input', () => {
  it.each([
    ['only is a string, not a list', { only: 'ALPHABOT01' }, /input\.only: .*array/i],
    ['only holds a number', { only: [42] }, /input\.only\[0\]: .*string/i],
    ['an unknown trigger', { trigger: 'cron' }, /input\.trigger/],
    ['an unknown field', { targets: ['ALPHABOT01'] }, /targets/],
  ] as const)('%s: Plan fails fast with InvalidInputError naming the field, no export started', async (_what, input, message) => {
    const h = await harness({});
    const run = await h.run(h.config({ targets: TARGETS }), { input: input as never });

    expect(run.status).toBe('FAILED');
    expect(run.error).toBe('InvalidInputError');
    expect(run.cause).toMatch(message);
    expect(failures(run, States.plan)).toEqual(['InvalidInputError']);
    expect(h.lex.calls.filter((c) => c.op === 'CreateExport')).toEqual([]);
    expect(run.events.some((e) => e.type === 'StateEntered' && e.state.name === States.map)).toBe(false);
  });
});
