/**
 * Shared pieces of the workflow fault tests: two bots (one gets the fault, the
 * other shows the run goes on), and assertions on what reached the bucket,
 * checked against the bytes the Lex simulator served.
 */
import { createHash } from 'node:crypto';
import { HeadObjectCommand } from '@aws-sdk/client-s3';
import { expect } from 'vitest';
import type { EventLog, LocalRunResult } from '../../lib/local/runner';
import type { JobResult } from '../../lib/core/contracts';
import type { LexFaults } from '../simulators/lex-simulator';
import { harnessPerTest, type Harness } from './harness';

export const BOTS = [
  { botId: 'ALPHABOT01', botName: 'Alpha', locales: ['en_US', 'de_DE'], intents: ['Greet', 'Order'] },
  { botId: 'BRAVOBOT02', botName: 'Bravo', locales: ['en_US'], intents: ['Help'] },
];
export const TARGETS = [
  { provider: 'lex', botId: 'ALPHABOT01', botVersion: 'DRAFT' },
  { provider: 'lex', botId: 'BRAVOBOT02', botVersion: 'DRAFT' },
];
/** The target that gets the fault, and its key. */
export const FAULTY = 'lex:ALPHABOT01:DRAFT';
export const FAULTY_KEY = 'lex/123456789012/us-east-1/ALPHABOT01/DRAFT/bot.zip';
export const HEALTHY = 'lex:BRAVOBOT02:DRAFT';
export const HEALTHY_KEY = 'lex/123456789012/us-east-1/BRAVOBOT02/DRAFT/bot.zip';
const sha256 = (b: Buffer) => createHash('sha256').update(b).digest('hex');

/**
 * The fault tests' harness: `harness(faults)` starts one with the two bots,
 * the faults on ALPHABOT01 (FAULTY), and closes it after the test. Call once,
 * at the top of a test file (it registers an afterEach).
 */
export function faultHarnessPerTest(): (faults: LexFaults) => Promise<Harness> {
  const start = harnessPerTest();
  return (faults) => start({ bots: BOTS, faults: { ALPHABOT01: faults } });
}

export function resultFor(run: LocalRunResult, target: string): JobResult {
  const r = run.manifest?.results.find((x) => x.target === target);
  if (!r) throw new Error(`no result for ${target} in ${JSON.stringify(run.manifest?.results)}`);
  return r;
}

/** Error names of every failed attempt of `state`, in order (across all jobs). */
export const failures = (run: LocalRunResult, state: string) =>
  run.events.filter((e): e is Extract<EventLog, { type: 'StateFailed' }> => e.type === 'StateFailed' && e.state.name === state).map((e) => e.Error);
export const retries = (run: LocalRunResult, state: string) => run.events.filter((e) => e.type === 'StateRetried' && e.state.name === state).length;

/** The simulator's calls for one bot as `op:status`, in order. */
export const callsOf = (h: Harness, botId: string) => h.lex.calls.filter((c) => c.botId === botId).map((c) => `${c.op}:${c.status}`);

/** The stored object is exactly what the simulator served: bytes, HeadObject size, sha256 metadata, job result. */
export async function expectStoredAsServed(h: Harness, result: JobResult): Promise<void> {
  expect(result.status).toBe('SUCCEEDED');
  const served = h.lex.archiveFor(result.exportId!);
  const head = await h.s3.send(
    new HeadObjectCommand({ Bucket: h.bucket, Key: result.key!, ...(result.versionId ? { VersionId: result.versionId } : {}) }),
  );
  expect(head.ContentLength).toBe(served.length);
  expect(head.Metadata?.sha256).toBe(sha256(served));
  const stored = await h.object(result.key!, result.versionId);
  expect(stored!.body.equals(served)).toBe(true);
  expect(result).toMatchObject({ bytes: served.length, sha256: sha256(served) });
}

/** Nothing of the faulty job reached the bucket: no object, no staging leftover, no open multipart upload. */
export async function expectNothingStored(h: Harness): Promise<void> {
  expect(await h.object(FAULTY_KEY)).toBeUndefined();
  expect(await h.keys('staging/')).toEqual([]);
  expect(await h.openMultipartUploads()).toBe(0);
}
