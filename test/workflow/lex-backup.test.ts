/**
 * The synthesized state machine, run in aws-local-stepfunctions with every
 * Task bound to its real handler, against the Lex V2 simulator and a real
 * S3-compatible server.
 */
import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { States } from '../../lib/constructs/backup-workflow';
import { harnessPerTest } from './harness';
import { THREE_BOTS as BOTS, THREE_BOT_TARGETS as TARGETS } from '../helpers/lex-bots';

const sha256 = (b: Buffer) => createHash('sha256').update(b).digest('hex');

const harness = harnessPerTest();

describe('backup run (synthesized definition, real handlers)', () => {
  it('stores every bot under its stable key with its sha256, writes the manifest and deletes the exports', async () => {
    const h = await harness({ bots: BOTS, defaultFaults: { exportLatencyMs: 150 } });
    const run = await h.run(h.config({ targets: TARGETS }));

    expect(run.status).toBe('SUCCEEDED');
    expect(run.manifest?.counts).toEqual({ total: 3, succeeded: 3, unchanged: 0, failed: 0 });
    const keys = run.manifest!.results.map((r) => r.key).sort();
    expect(keys).toEqual([
      'lex/123456789012/us-east-1/ALPHABOT01/DRAFT/bot.zip',
      'lex/123456789012/us-east-1/BRAVOBOT02/DRAFT/bot.zip',
      'lex/123456789012/us-east-1/CHARLIE003/2/bot.zip',
    ]);
    for (const result of run.manifest!.results) {
      const stored = await h.object(result.key!);
      const served = h.lex.archiveFor(result.exportId!);
      expect(stored?.body.equals(served)).toBe(true);
      expect(result.sha256).toBe(sha256(served));
      expect(result.bytes).toBe(served.length);
      expect(stored?.metadata).toMatchObject({ sha256: sha256(served), 'export-id': result.exportId, 'run-id': run.runId, source: result.target });
    }
    // Polling really happened (the exports took 150 ms), and every export was cleaned up.
    expect(h.lex.calls.filter((c) => c.op === 'DescribeExport').length).toBeGreaterThan(3);
    expect([...h.lex.exports.values()].every((e) => e.deleted)).toBe(true);
    // Nothing left in staging, the manifest is where the contract says.
    expect(await h.keys('staging/')).toEqual([]);
    expect(run.manifestKey).toMatch(new RegExp(`^runs/\\d{4}/\\d{2}/\\d{2}/${run.runId}\\.json$`));
  });

  it('one failed export: the others are stored, the manifest names the failed bot, the execution fails at the end', async () => {
    const h = await harness({ bots: BOTS, faults: { BRAVOBOT02: { failExport: ['Bot locale en_US is not built'] } } });
    const run = await h.run(h.config({ targets: TARGETS }));

    expect(run.status).toBe('FAILED');
    expect(run.error).toBe('BackupJobsFailed');
    expect(run.cause).toContain('lex:BRAVOBOT02:DRAFT');
    const failed = run.manifest!.results.find((r) => r.target === 'lex:BRAVOBOT02:DRAFT');
    expect(failed).toMatchObject({ status: 'FAILED', error: 'ExportFailedError' });
    expect(failed!.cause).toContain('Bot locale en_US is not built');
    expect(run.manifest!.counts).toMatchObject({ succeeded: 2, failed: 1 });
    // Archives only (each has its restore sidecar beside it).
    expect((await h.keys('lex/')).filter((k) => k.endsWith('.zip'))).toEqual([
      'lex/123456789012/us-east-1/ALPHABOT01/DRAFT/bot.zip',
      'lex/123456789012/us-east-1/CHARLIE003/2/bot.zip',
    ]);
    // No download was attempted for the failed export.
    expect(h.lex.calls.filter((c) => c.op === 'Download' && c.botId === 'BRAVOBOT02')).toEqual([]);
  });

  it('an export that never finishes fails as timed out after the poll budget; the others are unaffected', async () => {
    const h = await harness({ bots: BOTS, faults: { CHARLIE003: { neverFinish: true } } });
    const polling = { firstWaitSeconds: 10, backoffFactor: 2, maxWaitSeconds: 40, budgetSeconds: 140 };
    const run = await h.run(h.config({ targets: TARGETS, polling }));

    expect(run.status).toBe('FAILED');
    const stuck = run.manifest!.results.find((r) => r.target === 'lex:CHARLIE003:2');
    expect(stuck).toMatchObject({ status: 'FAILED', error: 'ExportTimedOutError' });
    // Waits 10 + 20 + 40 + 40 = 110 s; a fifth wait of 40 s would exceed the 140 s budget.
    expect(stuck!.cause).toContain('110 seconds');
    const checks = h.lex.calls.filter((c) => c.op === 'DescribeExport' && c.botId === 'CHARLIE003');
    expect(checks).toHaveLength(4);
    expect(run.manifest!.results.filter((r) => r.status === 'SUCCEEDED')).toHaveLength(2);
  });

  it.each([['truncate'], ['reset']] as const)(
    'a download cut mid-body (%s) stores nothing: no object, no multipart upload, no staging leftover',
    async (fault) => {
      const h = await harness({ bots: BOTS, faults: { ALPHABOT01: { download: fault } } });
      const run = await h.run(h.config({ targets: TARGETS }));

      expect(run.status).toBe('FAILED');
      const cut = run.manifest!.results.find((r) => r.target === 'lex:ALPHABOT01:DRAFT');
      expect(cut).toMatchObject({ status: 'FAILED', error: 'DownloadIntegrityError' });
      expect(await h.object('lex/123456789012/us-east-1/ALPHABOT01/DRAFT/bot.zip')).toBeUndefined();
      expect(await h.openMultipartUploads()).toBe(0);
      expect(await h.keys('staging/')).toEqual([]);
      expect((await h.keys('lex/')).filter((k) => k.endsWith('.zip'))).toEqual([
        'lex/123456789012/us-east-1/BRAVOBOT02/DRAFT/bot.zip',
        'lex/123456789012/us-east-1/CHARLIE003/2/bot.zip',
      ]);
    },
  );

  it('a bot that is not Available (409 while Creating, 412 when Failed) fails its own job after the retries; a NotBuilt locale is backed up; the rest run', async () => {
    const h = await harness({
      bots: [
        ...BOTS.filter((b) => b.botId !== 'BRAVOBOT02'),
        { botId: 'BRAVOBOT02', botName: 'Bravo', versions: [], locales: ['en_US'], intents: ['Help'], status: 'Creating' as const },
        { botId: 'FAILEDBOT1', botName: 'Broken', versions: [], locales: ['en_US'], status: 'Failed' as const },
        { botId: 'NOTBUILT01', botName: 'Unbuilt', versions: [], locales: ['en_US'], notBuiltLocales: ['en_US'] },
      ],
    });
    const targets = [
      ...TARGETS,
      { provider: 'lex', botId: 'FAILEDBOT1', botVersion: 'DRAFT' },
      { provider: 'lex', botId: 'NOTBUILT01', botVersion: 'DRAFT', localeId: 'en_US' },
    ];
    const run = await h.run(h.config({ targets }));

    expect(run.status).toBe('FAILED');
    const by = Object.fromEntries(run.manifest!.results.map((r) => [r.target, r]));
    expect(by['lex:BRAVOBOT02:DRAFT']).toMatchObject({ status: 'FAILED', error: 'ProviderUnavailableError' });
    expect(by['lex:BRAVOBOT02:DRAFT']!.cause).toContain('ConflictException');
    expect(by['lex:FAILEDBOT1:DRAFT']).toMatchObject({ status: 'FAILED', error: 'ProviderUnavailableError' });
    expect(by['lex:FAILEDBOT1:DRAFT']!.cause).toContain('PreconditionFailedException');
    expect(by['lex:NOTBUILT01:DRAFT:en_US']!.status).toBe('SUCCEEDED');
    expect(by['lex:ALPHABOT01:DRAFT']!.status).toBe('SUCCEEDED');
    // Retried by the state machine (RETRYABLE_PROVIDER_ERRORS), not given up on at the first refusal.
    expect(h.lex.calls.filter((c) => c.op === 'CreateExport' && c.botId === 'BRAVOBOT02').length).toBeGreaterThan(3);
  });

  it('discovery expands to every matching bot at run time, with paging', async () => {
    const many = Array.from({ length: 12 }, (_, i) => ({
      botId: `FLEETBOT${String(i).padStart(2, '0')}`,
      botName: `Fleet${i}`,
      versions: ['1', '2'],
    }));
    const h = await harness({ bots: [...BOTS, ...many] });
    const run = await h.run(
      h.config({ targets: [{ provider: 'lex', discover: true, include: ['Fleet*'], exclude: ['Fleet1?'], versions: 'latest' }] }),
    );

    expect(run.status).toBe('SUCCEEDED');
    // Fleet0..Fleet11 minus Fleet10, Fleet11 (matched by Fleet1?) = 10 bots, latest numbered version each.
    expect(run.manifest!.results.map((r) => r.target).sort()).toEqual(
      Array.from({ length: 10 }, (_, i) => `lex:FLEETBOT${String(i).padStart(2, '0')}:2`).sort(),
    );
    expect(run.manifest!.results.every((r) => r.name?.startsWith('Fleet'))).toBe(true);
  });

  it('a manual run with an unknown target fails fast in Plan and starts no export', async () => {
    const h = await harness({ bots: BOTS });
    const run = await h.run(h.config({ targets: TARGETS }), { input: { trigger: 'manual', only: ['NOSUCHBOT9'] } });

    expect(run.status).toBe('FAILED');
    expect(run.error).toBe('InvalidInputError');
    expect(run.cause).toContain('NOSUCHBOT9');
    expect(h.lex.calls.filter((c) => c.op === 'CreateExport')).toEqual([]);
    expect(run.events.some((e) => e.type === 'StateEntered' && e.state.name === States.map)).toBe(false);
  });

  it('a manual run filtered with --only backs up just that target', async () => {
    const h = await harness({ bots: BOTS });
    const run = await h.run(h.config({ targets: TARGETS }), { input: { trigger: 'manual', only: ['BRAVOBOT02'] } });
    expect(run.status).toBe('SUCCEEDED');
    expect(run.manifest!.results.map((r) => r.target)).toEqual(['lex:BRAVOBOT02:DRAFT']);
  });
});
